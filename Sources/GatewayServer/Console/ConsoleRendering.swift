import Foundation
import GatewayModel

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The message page's "渲染文档 Rendered document" section: the envelope's record rendered as
/// `Gateway.renderForDelivery` renders it for each destination with a configured format. The
/// document holds the record's personal values unmasked, so only ops and the destination itself
/// see it (never the sender or anyone else the page shows to).
enum ConsoleRendering {
    /// One row per destination `request` may see the rendering of, for which a format is configured.
    static func view(_ envelope: JSONValue, destinations: [String], request: ConsoleRequest) -> [[String: Any]] {
        let shown = destinations.filter { request.isOps || $0 == request.participant }
        return shown.compactMap { destination -> [String: Any]? in
            guard let rendering = request.gateway.renderForDelivery(envelope: envelope, participant: destination) else { return nil }
            switch rendering {
            case .rendered(let document):
                return [
                    "destination": destination, "format": document.format, "mediaType": document.mediaType,
                    "body": text(document.body, encoding: document.encoding) ?? "二进制 binary, \(document.body.count) bytes",
                ]
            case .refused(let format, let errors):
                return [
                    "destination": destination, "format": format,
                    "renderError": errors.map { e in "\(e.code.rawValue) \(e.path ?? ""): \(e.message)" }.joined(separator: "\n"),
                ]
            }
        }
    }

    /// `body` decoded from `encoding` (UTF-8, or anything iconv knows: GBK), nil when it does not decode.
    static func text(_ body: [UInt8], encoding: String) -> String? {
        if encoding.uppercased() == "UTF-8" { return String(validating: body, as: UTF8.self) }
        let converter = iconv_open("UTF-8", encoding)
        guard converter != iconv_t(bitPattern: -1) else { return nil }
        defer { iconv_close(converter) }
        var input = body.map { CChar(bitPattern: $0) }
        var output = [CChar](repeating: 0, count: body.count * 4 + 4)
        let ok = input.withUnsafeMutableBufferPointer { inBuffer in
            output.withUnsafeMutableBufferPointer { outBuffer in
                var inPointer: UnsafeMutablePointer<CChar>? = inBuffer.baseAddress
                var outPointer: UnsafeMutablePointer<CChar>? = outBuffer.baseAddress
                var inLeft = inBuffer.count, outLeft = outBuffer.count
                let result = iconv(converter, &inPointer, &inLeft, &outPointer, &outLeft)
                return result != -1 && inLeft == 0 ? outBuffer.count - outLeft : nil
            }
        }
        guard let ok else { return nil }
        return String(validating: output[..<ok].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
