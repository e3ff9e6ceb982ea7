/// A canonical record was rejected by `init(json:)`: every problem found, with its path.
public struct InvalidRecordError: Error, Sendable, Hashable, CustomStringConvertible {
    public var errors: [RecordError]

    public init(errors: [RecordError]) { self.errors = errors }

    public var description: String {
        "invalid canonical record: " + errors.map(\.description).joined(separator: "; ")
    }
}

/// A part of a canonical record that reads itself from (already validated) JSON and writes itself back.
protocol JSONModel: Sendable {
    init(fields: ModelFields) throws(InvalidRecordError)
    var json: JSONValue { get }
}

/// Reads the members of one object of a validated record. Every failure is an internal
/// inconsistency (validation passed), reported as `invalid-value` rather than trapping.
struct ModelFields {
    let object: JSONObject
    let path: JSONPointer

    init(_ value: JSONValue, path: JSONPointer) throws(InvalidRecordError) {
        guard case .object(let object) = value else { throw ModelFields.problem(path, "must be an object") }
        self.object = object
        self.path = path
    }

    static func problem(_ path: JSONPointer, _ message: String) -> InvalidRecordError {
        InvalidRecordError(errors: [RecordError(.invalidValue, path: path.description, message: message)])
    }

    func value(_ key: String) throws(InvalidRecordError) -> JSONValue {
        guard let value = object[key] else {
            throw InvalidRecordError(errors: [RecordError(.missingField, path: path.appending(key).description, message: "is required")])
        }
        return value
    }

    func string(_ key: String) throws(InvalidRecordError) -> String {
        guard let string = try value(key).stringValue else { throw ModelFields.problem(path.appending(key), "must be a string") }
        return string
    }

    func optionalString(_ key: String) throws(InvalidRecordError) -> String? {
        object[key] == nil ? nil : try string(key)
    }

    func int(_ key: String) throws(InvalidRecordError) -> Int {
        guard let number = try value(key).numberValue, let int = DecimalText(number)?.intValue else {
            throw ModelFields.problem(path.appending(key), "must be an integer")
        }
        return int
    }

    func optionalInt(_ key: String) throws(InvalidRecordError) -> Int? {
        object[key] == nil ? nil : try int(key)
    }

    func optionalNumber(_ key: String) throws(InvalidRecordError) -> JSONNumber? {
        guard let value = object[key] else { return nil }
        guard let number = value.numberValue else { throw ModelFields.problem(path.appending(key), "must be a number") }
        return number
    }

    func instant(_ key: String) throws(InvalidRecordError) -> LocalDateTime {
        guard let time = LocalDateTime(instant: try string(key)) else {
            throw ModelFields.problem(path.appending(key), "must be an instant")
        }
        return time
    }

    func optionalDate(_ key: String) throws(InvalidRecordError) -> LocalDate? {
        guard object[key] != nil else { return nil }
        guard let date = LocalDate(iso: try string(key)) else { throw ModelFields.problem(path.appending(key), "must be a date") }
        return date
    }

    func enumeration<T: RawRepresentable<String>>(_ key: String, as type: T.Type = T.self) throws(InvalidRecordError) -> T {
        guard let value = T(rawValue: try string(key)) else {
            throw ModelFields.problem(path.appending(key), "unexpected value")
        }
        return value
    }

    func model<T: JSONModel>(_ key: String, as type: T.Type = T.self) throws(InvalidRecordError) -> T {
        try T(fields: ModelFields(try value(key), path: path.appending(key)))
    }

    func optionalModel<T: JSONModel>(_ key: String, as type: T.Type = T.self) throws(InvalidRecordError) -> T? {
        object[key] == nil ? nil : try model(key)
    }

    /// An array of models; an absent member is an empty array.
    func models<T: JSONModel>(_ key: String, as type: T.Type = T.self) throws(InvalidRecordError) -> [T] {
        guard let value = object[key] else { return [] }
        guard case .array(let elements) = value else { throw ModelFields.problem(path.appending(key), "must be an array") }
        var result: [T] = []
        result.reserveCapacity(elements.count)
        for (index, element) in elements.enumerated() {
            result.append(try T(fields: ModelFields(element, path: path.appending(key).appending(index: index))))
        }
        return result
    }

    func strings(_ key: String) throws(InvalidRecordError) -> [String] {
        guard case .array(let elements) = try value(key) else { throw ModelFields.problem(path.appending(key), "must be an array") }
        var result: [String] = []
        for (index, element) in elements.enumerated() {
            guard let string = element.stringValue else {
                throw ModelFields.problem(path.appending(key).appending(index: index), "must be a string")
            }
            result.append(string)
        }
        return result
    }
}

/// Writes the members of one object in schema order, leaving optional members out when nil.
struct ModelObject {
    var members: [JSONObject.Member] = []

    init() { members.reserveCapacity(16) }

    mutating func add(_ key: String, _ value: JSONValue) { members.append(JSONObject.Member(key: key, value: value)) }
    mutating func add(_ key: String, _ value: String) { add(key, .string(value)) }
    mutating func add(_ key: String, _ value: Int) { add(key, .number(JSONNumber(value))) }
    mutating func add(_ key: String, _ value: some JSONModel) { add(key, value.json) }
    mutating func add<T: RawRepresentable<String>>(_ key: String, _ value: T) { add(key, .string(value.rawValue)) }
    mutating func add(_ key: String, _ value: LocalDateTime) { add(key, .string(value.instantString)) }
    mutating func add(_ key: String, _ value: LocalDate) { add(key, .string(value.description)) }
    mutating func add(_ key: String, _ values: [some JSONModel]) { add(key, .array(values.map(\.json))) }

    mutating func add(_ key: String, _ value: String?) { if let value { add(key, value) } }
    mutating func add(_ key: String, _ value: Int?) { if let value { add(key, value) } }
    mutating func add(_ key: String, _ value: JSONNumber?) { if let value { add(key, .number(value)) } }
    mutating func add(_ key: String, _ value: LocalDate?) { if let value { add(key, value) } }
    mutating func add<T: JSONModel>(_ key: String, _ value: T?) { if let value { add(key, value) } }

    /// Arrays the schema allows to be absent are written only when not empty.
    mutating func addUnlessEmpty(_ key: String, _ values: [some JSONModel]) { if !values.isEmpty { add(key, values) } }

    var json: JSONValue { .object(JSONObject(members)) }
}
