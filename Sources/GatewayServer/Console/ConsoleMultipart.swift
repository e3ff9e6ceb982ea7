import Foundation

/// `multipart/form-data` bodies (RFC 7578) as the console's forms with a file input send them.
/// A text field becomes `fields[name]` (UTF-8); a file's bytes, kept exactly (a regional document
/// may be GBK), become `fields[name + ":base64"]`, its name `fields[name + ":filename"]`.
enum ConsoleMultipart {
    /// The fields of `body`; nil when `contentType` is not multipart/form-data with a boundary.
    static func fields(_ body: [UInt8], contentType: String?) -> [String: String]? {
        guard let contentType, contentType.lowercased().hasPrefix("multipart/form-data"),
            let boundary = parameter("boundary", in: contentType), !boundary.isEmpty
        else { return nil }
        let delimiter = Array(("--" + boundary).utf8)
        var fields: [String: String] = [:]
        var positions: [Int] = []
        var from = 0
        while let at = find(delimiter, in: body, from: from) {
            positions.append(at)
            from = at + delimiter.count
        }
        for (start, end) in zip(positions, positions.dropFirst()) {
            var partStart = start + delimiter.count
            if partStart + 1 < body.count, body[partStart] == 0x0D, body[partStart + 1] == 0x0A { partStart += 2 }
            var partEnd = end
            if partEnd >= 2, body[partEnd - 2] == 0x0D, body[partEnd - 1] == 0x0A { partEnd -= 2 }
            guard partStart <= partEnd, let split = find(Array("\r\n\r\n".utf8), in: body, from: partStart), split <= partEnd
            else { continue }
            let headers = String(decoding: body[partStart..<split], as: UTF8.self)
            let content = Array(body[(split + 4)..<partEnd])
            guard let disposition = headers.split(separator: "\r\n").first(where: { $0.lowercased().hasPrefix("content-disposition:") }),
                let name = parameter("name", in: String(disposition)), fields[name] == nil
            else { continue }
            if let filename = parameter("filename", in: String(disposition)) {
                fields[name + ":filename"] = filename
                fields[name + ":base64"] = Data(content).base64EncodedString()
            } else {
                fields[name] = String(decoding: content, as: UTF8.self)
            }
        }
        return fields
    }

    /// `name=value` or `name="value"` among a header's `;`-separated parameters.
    static func parameter(_ name: String, in header: String) -> String? {
        for part in header.split(separator: ";").dropFirst() {
            let pair = part.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, pair[0].trimmingCharacters(in: .whitespaces).lowercased() == name else { continue }
            var value = pair[1].trimmingCharacters(in: .whitespaces)
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
            return value
        }
        return nil
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8], from: Int) -> Int? {
        guard !needle.isEmpty, haystack.count >= needle.count, from <= haystack.count - needle.count else { return nil }
        var i = from
        while i <= haystack.count - needle.count {
            if haystack[i] == needle[0], haystack[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }
}
