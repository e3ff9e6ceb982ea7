/// The three kinds of canonical record (`kind` member).
public enum RecordKind: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case trafficViolation = "traffic-violation"
    case enforcementCase = "enforcement-case"
    case bulletin

    public var description: String { rawValue }
}

/// The side a record comes from (`source.region`).
public enum Region: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case sichuan
    case chongqing

    public var description: String { rawValue }
}
