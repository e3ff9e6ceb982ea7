/// Why the gateway refused an operation, in domain terms; the server layer turns each into its
/// HTTP answer (`APIError.from`). Messages name ids only, never personal data.
public enum GatewayError: Error, Sendable, Hashable, CustomStringConvertible {
    /// No current lease with this token in the caller's inbox (expired, settled, or never granted).
    case unknownLease
    /// The lease token belongs to another envelope than the one named.
    case leaseMismatch
    /// The stored envelope of a lease cannot be read back (a storage fault, never the client's).
    case storedEnvelopeUnreadable
    /// No such message for this caller (what exactly: `message`).
    case notFound(String)

    public var description: String {
        switch self {
        case .unknownLease: "no current lease with this token in your inbox (lease again)"
        case .leaseMismatch: "the lease token belongs to another envelope"
        case .storedEnvelopeUnreadable: "the stored envelope cannot be read"
        case .notFound(let message): message
        }
    }
}
