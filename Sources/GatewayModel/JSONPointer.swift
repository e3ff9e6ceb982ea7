/// An RFC 6901 JSON Pointer such as `/vehicle/plate` or `/penalties/0/amountFen`.
public struct JSONPointer: Sendable, Hashable, CustomStringConvertible {
    /// The reference tokens, unescaped (`a/b` for the text `/a~1b`).
    public private(set) var tokens: [String]

    /// The whole document (`""`).
    public static let root = JSONPointer(tokens: [])

    public init(tokens: [String]) { self.tokens = tokens }

    /// Parses pointer text: empty (the root) or `/`-separated tokens with `~0` for `~` and `~1` for `/`.
    /// Returns nil for text that is not a pointer (no leading `/`, `~` not followed by 0 or 1).
    public init?(_ text: String) {
        guard !text.isEmpty else {
            self.tokens = []
            return
        }
        guard text.utf8.first == UInt8(ascii: "/") else { return nil }
        var tokens: [String] = []
        for raw in text.utf8.dropFirst().split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false) {
            guard raw.contains(UInt8(ascii: "~")) else {
                tokens.append(String(decoding: raw, as: UTF8.self))
                continue
            }
            var bytes: [UInt8] = []
            var iterator = raw.makeIterator()
            while let byte = iterator.next() {
                guard byte == UInt8(ascii: "~") else {
                    bytes.append(byte)
                    continue
                }
                switch iterator.next() {
                case UInt8(ascii: "0"): bytes.append(UInt8(ascii: "~"))
                case UInt8(ascii: "1"): bytes.append(UInt8(ascii: "/"))
                default: return nil
                }
            }
            tokens.append(String(decoding: bytes, as: UTF8.self))
        }
        self.tokens = tokens
    }

    /// The pointer text, tokens escaped.
    public var description: String {
        var text = ""
        for token in tokens {
            text += "/"
            if token.utf8.contains(where: { $0 == UInt8(ascii: "~") || $0 == UInt8(ascii: "/") }) {
                for character in token.unicodeScalars {
                    switch character {
                    case "~": text += "~0"
                    case "/": text += "~1"
                    default: text.unicodeScalars.append(character)
                    }
                }
            } else {
                text += token
            }
        }
        return text
    }

    public var isRoot: Bool { tokens.isEmpty }

    /// The pointer to the containing value; nil for the root.
    public var parent: JSONPointer? { isRoot ? nil : JSONPointer(tokens: Array(tokens.dropLast())) }

    public mutating func append(_ token: String) { tokens.append(token) }

    public mutating func append(index: Int) { tokens.append(String(index)) }

    /// Drops the last token (the pointer to the parent, in place); the root stays the root.
    public mutating func removeLast() { if !tokens.isEmpty { tokens.removeLast() } }

    public func appending(_ token: String) -> JSONPointer {
        var copy = self
        copy.append(token)
        return copy
    }

    public func appending(index: Int) -> JSONPointer {
        var copy = self
        copy.append(index: index)
        return copy
    }

    /// The array index a token denotes: `0` or digits without a leading zero; nil otherwise.
    public static func arrayIndex(_ token: String) -> Int? {
        let utf8 = token.utf8
        guard let first = utf8.first, first &- UInt8(ascii: "0") < 10 else { return nil }
        if first == UInt8(ascii: "0") { return utf8.count == 1 ? 0 : nil }
        guard utf8.count <= 18 else { return nil }
        var value = 0
        for byte in utf8 {
            let digit = byte &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            value = value * 10 + Int(digit)
        }
        return value
    }
}

/// Why `JSONValue.set(_:at:)` could not place a value.
public struct JSONPointerError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Reason: Sendable, Hashable {
        /// The value at `at` is a string, number, boolean or null: it has no members.
        case notAContainer
        /// The token is not an array index (nor `-`) but the value there is an array.
        case invalidArrayIndex
        /// The index is beyond the end of the array (arrays are built in order).
        case indexOutOfRange
    }

    public var reason: Reason
    /// The pointer to the value that could not take the next token.
    public var at: JSONPointer

    public var description: String {
        switch reason {
        case .notAContainer: "the value at '\(at)' is neither an object nor an array"
        case .invalidArrayIndex: "the value at '\(at)' is an array and the token is not an index"
        case .indexOutOfRange: "index beyond the end of the array at '\(at)'"
        }
    }
}

extension JSONValue {
    /// The value the pointer designates, or nil when there is none.
    public func value(at pointer: JSONPointer) -> JSONValue? {
        var current = self
        for token in pointer.tokens {
            switch current {
            case .object(let object):
                guard let member = object.members.first(where: { $0.key.hasSameUTF8(as: token) }) else {
                    return nil
                }
                current = member.value
            case .array(let elements):
                guard let index = JSONPointer.arrayIndex(token), index < elements.count else { return nil }
                current = elements[index]
            default:
                return nil
            }
        }
        return current
    }

    /// Places `value` at `pointer`, replacing what is there.
    ///
    /// Missing intermediate values are created: an array when the token that follows is `0` or `-`
    /// (so `/legalBasis/0/law` starts an array), otherwise an object. Arrays are built in order:
    /// index `count` (or `-`) appends, a smaller index replaces, a larger one is an error.
    public mutating func set(_ value: JSONValue, at pointer: JSONPointer) throws(JSONPointerError) {
        try JSONValue.set(value, tokens: pointer.tokens[...], in: &self, depth: 0, pointer: pointer)
    }

    /// Removes and returns the value at `pointer` (nil when there is none). The root cannot be removed.
    @discardableResult
    public mutating func removeValue(at pointer: JSONPointer) -> JSONValue? {
        guard let parent = pointer.parent, let last = pointer.tokens.last, var container = value(at: parent) else {
            return nil
        }
        let removed: JSONValue?
        switch container {
        case .object(var object):
            removed = object[last]
            object[last] = nil
            container = .object(object)
        case .array(var elements):
            guard let index = JSONPointer.arrayIndex(last), index < elements.count else { return nil }
            removed = elements.remove(at: index)
            container = .array(elements)
        default:
            return nil
        }
        try? set(container, at: parent)
        return removed
    }

    private static func newContainer(for token: String) -> JSONValue {
        token == "-" || token == "0" ? .array([]) : .object(JSONObject())
    }

    private static func set(
        _ value: JSONValue, tokens: ArraySlice<String>, in current: inout JSONValue, depth: Int, pointer: JSONPointer
    ) throws(JSONPointerError) {
        guard let token = tokens.first else {
            current = value
            return
        }
        let rest = tokens.dropFirst()
        func here() -> JSONPointer { JSONPointer(tokens: Array(pointer.tokens.prefix(depth))) }
        switch current {
        case .object(var object):
            current = .null  // release the payload so the mutation below does not copy it
            var child: JSONValue
            let index = object.members.firstIndex(where: { $0.key.hasSameUTF8(as: token) })
            if let index {
                child = object.members[index].value
                object.members[index].value = .null
            } else {
                child = rest.first.map(newContainer(for:)) ?? .null
            }
            do {
                try set(value, tokens: rest, in: &child, depth: depth + 1, pointer: pointer)
            } catch {
                if let index { object.members[index].value = child }
                current = .object(object)
                throw error
            }
            if let index {
                object.members[index].value = child
            } else {
                object.members.append(JSONObject.Member(key: token, value: child))
            }
            current = .object(object)
        case .array(var elements):
            let index: Int
            if token == "-" {
                index = elements.count
            } else if let parsed = JSONPointer.arrayIndex(token) {
                index = parsed
            } else {
                throw JSONPointerError(reason: .invalidArrayIndex, at: here())
            }
            guard index <= elements.count else { throw JSONPointerError(reason: .indexOutOfRange, at: here()) }
            current = .null
            var child: JSONValue
            if index < elements.count {
                child = elements[index]
                elements[index] = .null
            } else {
                child = rest.first.map(newContainer(for:)) ?? .null
            }
            do {
                try set(value, tokens: rest, in: &child, depth: depth + 1, pointer: pointer)
            } catch {
                if index < elements.count { elements[index] = child }
                current = .array(elements)
                throw error
            }
            if index < elements.count { elements[index] = child } else { elements.append(child) }
            current = .array(elements)
        default:
            throw JSONPointerError(reason: .notAContainer, at: here())
        }
    }
}
