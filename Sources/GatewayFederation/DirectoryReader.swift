import Foundation
import GatewayModel
import GatewaySigning

/// Reads a `directory` member and checks federation.md's content rules, collecting every problem
/// with its JSON Pointer (uniqueness is checked on every id, pin and participant that is a string,
/// even in a node that has other problems).
struct DirectoryReader {
    private(set) var problems: [DirectoryProblem] = []

    private mutating func problem(_ code: DirectoryProblem.Code, _ pointer: JSONPointer, _ message: String) {
        problems.append(DirectoryProblem(code, at: pointer, message))
    }

    mutating func read(_ member: JSONObject) -> (serial: Int, issuedAt: Date, nextUpdate: Date, nodes: [DirectoryNode])? {
        let base = JSONPointer.directory
        if member["version"]?.numberValue?.intValue != Directory.version {
            problem(
                member["version"] == nil ? .malformed : .unsupportedVersion, base.appending("version"),
                member["version"] == nil ? "version is missing" : "version must be 1")
        }
        var serial: Int?
        if let value = member["serial"]?.numberValue?.intValue, (0...Directory.maxSerial).contains(value) {
            serial = value
        } else {
            problem(.invalidSerial, base.appending("serial"), "serial must be a whole number from 0 to 9007199254740991")
        }
        let issuedAt = time(member, "issuedAt")
        let nextUpdate = time(member, "nextUpdate")
        if let issuedAt, let nextUpdate, nextUpdate <= issuedAt {
            problem(.timeOrder, base.appending("nextUpdate"), "nextUpdate must be after issuedAt")
        }
        var nodes: [DirectoryNode] = []
        if let list = member["nodes"]?.arrayValue {
            for (index, value) in list.enumerated() {
                if let node = node(value, at: Directory.pointer(node: index)) { nodes.append(node) }
            }
            checkUniqueness(list)
        } else {
            problem(.malformed, base.appending("nodes"), "nodes must be a list of nodes")
        }
        guard let serial, let issuedAt, let nextUpdate else { return nil }
        return (serial, issuedAt, nextUpdate, nodes)
    }

    private mutating func time(_ member: JSONObject, _ name: String) -> Date? {
        let pointer = JSONPointer.directory.appending(name)
        guard let text = member[name]?.stringValue else {
            problem(.invalidTime, pointer, "\(name) must be an RFC 3339 time (a string)")
            return nil
        }
        guard Self.hasRFC3339Offset(text), let date = Timestamp.date(text) else {
            problem(.invalidTime, pointer, "\(name) must be a real RFC 3339 time with Z or an offset, like 2026-12-02T08:00:00Z")
            return nil
        }
        return date
    }

    /// RFC 3339's `time-offset`: `Z` (or `z`) or `±HH:MM` with the colon (`Timestamp.date` also reads `±HHMM`).
    static func hasRFC3339Offset(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        if bytes.last == UInt8(ascii: "Z") || bytes.last == UInt8(ascii: "z") { return true }
        guard bytes.count >= 6 else { return false }
        let offset = bytes[(bytes.count - 6)...]
        return (offset.first == UInt8(ascii: "+") || offset.first == UInt8(ascii: "-")) && offset[offset.startIndex + 3] == UInt8(ascii: ":")
    }

    private mutating func node(_ value: JSONValue, at pointer: JSONPointer) -> DirectoryNode? {
        guard let object = value.objectValue else {
            problem(.malformed, pointer, "a node must be an object with id, url, tlsCertificateSha256 and hosts")
            return nil
        }
        let id = readIdentifier(object["id"], at: pointer.appending("id"), what: "the node id", valid: CertificateAuthority.isValidNodeID)
        let url = readURL(object["url"], at: pointer.appending("url"))
        let pin = readPin(object["tlsCertificateSha256"], at: pointer.appending("tlsCertificateSha256"))
        var next: String?
        var nextValid = true
        if let value = object["nextTlsCertificateSha256"] {
            next = readPin(value, at: pointer.appending("nextTlsCertificateSha256"))
            nextValid = next != nil
        }
        var hosts: [String]? = nil
        if let list = object["hosts"]?.arrayValue {
            let read = list.enumerated().map { index, value in
                readIdentifier(
                    value, at: pointer.appending("hosts").appending(index: index), what: "a participant id",
                    valid: CertificateAuthority.isValidOfficeID)
            }
            if !read.contains(nil) { hosts = read.compactMap { $0 } }
        } else {
            problem(.malformed, pointer.appending("hosts"), "hosts must be a list of participant ids")
        }
        guard let id, let url, let pin, nextValid, let hosts else { return nil }
        return DirectoryNode(id: id, url: url, tlsCertificateSha256: pin, nextTlsCertificateSha256: next, hosts: hosts)
    }

    private mutating func readIdentifier(
        _ value: JSONValue?, at pointer: JSONPointer, what: String, valid: (String) -> Bool
    ) -> String? {
        guard let text = value?.stringValue, valid(text) else {
            problem(
                value?.stringValue == nil ? .malformed : .invalidID, pointer,
                "\(what) must be 1-64 characters of a-z, 0-9, '-', '_' or '.'")
            return nil
        }
        return text
    }

    private mutating func readURL(_ value: JSONValue?, at pointer: JSONPointer) -> String? {
        guard let text = value?.stringValue else {
            problem(.malformed, pointer, "url must be a string, like https://node.example:8443")
            return nil
        }
        guard let components = URLComponents(string: text), components.scheme?.lowercased() == "https",
            let host = components.host, !host.isEmpty, components.user == nil, components.password == nil,
            components.query == nil, components.fragment == nil
        else {
            problem(.invalidURL, pointer, "url must be an https URL with a host and no user, query or fragment, like https://node.example:8443")
            return nil
        }
        return text
    }

    private mutating func readPin(_ value: JSONValue?, at pointer: JSONPointer) -> String? {
        guard let text = value?.stringValue, Self.isPin(text) else {
            problem(
                value?.stringValue == nil ? .malformed : .invalidPin, pointer,
                "a pin must be the lower-case hex SHA-256 of the node certificate's DER (64 digits 0-9a-f)")
            return nil
        }
        return text
    }

    static func isPin(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) }
    }

    /// Node ids unique, pins unique (current and next, across all nodes), each participant hosted by
    /// at most one node and listed once.
    private mutating func checkUniqueness(_ list: [JSONValue]) {
        var ids: [String: JSONPointer] = [:]
        var pins: [String: JSONPointer] = [:]
        var hosted: [String: (index: Int, node: String, pointer: JSONPointer)] = [:]
        for (index, value) in list.enumerated() {
            guard let object = value.objectValue else { continue }
            let pointer = Directory.pointer(node: index)
            let id = object["id"]?.stringValue
            if let id {
                if let first = ids[id] {
                    problem(.duplicateNode, pointer.appending("id"), "node id \(id) is already used at \(first)")
                } else {
                    ids[id] = pointer.appending("id")
                }
            }
            for name in ["tlsCertificateSha256", "nextTlsCertificateSha256"] {
                guard let pin = object[name]?.stringValue else { continue }
                if let first = pins[pin] {
                    problem(.duplicatePin, pointer.appending(name), "this pin is already used at \(first): every certificate pins one node")
                } else {
                    pins[pin] = pointer.appending(name)
                }
            }
            for (position, participant) in (object["hosts"]?.arrayValue ?? []).enumerated() {
                guard let participant = participant.stringValue else { continue }
                let here = pointer.appending("hosts").appending(index: position)
                if let first = hosted[participant] {
                    let owner = first.index == index ? "this node" : "node \(first.node)"
                    problem(.hostedTwice, here, "participant \(participant) is already hosted by \(owner) (\(first.pointer))")
                } else {
                    hosted[participant] = (index, id ?? "#\(index)", here)
                }
            }
        }
    }
}
