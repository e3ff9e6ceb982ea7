/// Standard base64 (RFC 4648 section 4, with padding, no line breaks): what
/// `Data.base64EncodedString()` writes, written straight into the string's storage. Sealing
/// encodes one signature value per envelope, and Foundation's encoder costs half a microsecond
/// for those 70 bytes (issue 18 item 6).
enum Base64Text {
    private static let alphabet: StaticString = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

    static func encode(_ bytes: [UInt8]) -> String {
        bytes.withUnsafeBufferPointer(encode)
    }

    static func encode(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        let count = bytes.count
        let length = (count + 2) / 3 * 4
        guard length > 0 else { return "" }
        let digits = alphabet.utf8Start
        return String(unsafeUninitializedCapacity: length) { out in
            var input = 0
            var output = 0
            while count - input >= 3 {
                let triple = UInt32(bytes[input]) << 16 | UInt32(bytes[input + 1]) << 8 | UInt32(bytes[input + 2])
                out[output] = digits[Int(triple >> 18)]
                out[output + 1] = digits[Int(triple >> 12 & 0x3F)]
                out[output + 2] = digits[Int(triple >> 6 & 0x3F)]
                out[output + 3] = digits[Int(triple & 0x3F)]
                input += 3
                output += 4
            }
            if count - input > 0 {
                let second = count - input == 2 ? UInt32(bytes[input + 1]) : 0
                let triple = UInt32(bytes[input]) << 16 | second << 8
                out[output] = digits[Int(triple >> 18)]
                out[output + 1] = digits[Int(triple >> 12 & 0x3F)]
                out[output + 2] = count - input == 2 ? digits[Int(triple >> 6 & 0x3F)] : UInt8(ascii: "=")
                out[output + 3] = UInt8(ascii: "=")
                output += 4
            }
            return output
        }
    }
}
