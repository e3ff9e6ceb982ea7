import COpenSSL

/// Internal helpers around the OpenSSL C API: error queue, memory BIOs, PEM/DER round trips.
enum OpenSSL {
    /// The SM2 distinguishing ID of GM/T 0009 that envelope.md prescribes, set on every SM2 operation.
    static let sm2ID: [UInt8] = Array("1234567812345678".utf8)

    /// Drains OpenSSL's thread-local error queue into one line (library and reason strings only:
    /// OpenSSL never puts key material or input data there).
    static func drainErrors() -> String {
        var parts: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            parts.append(String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return parts.isEmpty ? "no OpenSSL detail" : parts.joined(separator: "; ")
    }

    /// An error for a failed OpenSSL call; the queue is drained so later calls start clean.
    static func error(_ code: SigningError.Code, _ what: String) -> SigningError {
        SigningError(code, "\(what) (\(drainErrors()))")
    }

    /// Runs `body` with a read-only memory BIO over `bytes`.
    static func withReadBIO<T>(_ bytes: [UInt8], _ body: (OpaquePointer) throws -> T) throws -> T {
        try bytes.withUnsafeBytes { raw in
            guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else {
                throw error(.cryptoFailure, "BIO_new_mem_buf")
            }
            defer { BIO_free(bio) }
            return try body(bio)
        }
    }

    /// Runs `write` against a fresh memory BIO and returns what it wrote.
    static func writeBIO(_ what: String, _ write: (OpaquePointer) -> Int32) throws -> [UInt8] {
        guard let bio = BIO_new(BIO_s_mem()) else { throw error(.cryptoFailure, "BIO_new") }
        defer { BIO_free(bio) }
        guard write(bio) == 1 else { throw error(.cryptoFailure, what) }
        var data: UnsafeMutablePointer<CChar>? = nil
        let count = xgw_BIO_get_mem_data(bio, &data)
        guard let data, count > 0 else { return [] }
        return data.withMemoryRebound(to: UInt8.self, capacity: count) { Array(UnsafeBufferPointer(start: $0, count: count)) }
    }

    /// Calls an `i2d_*`-style encoder (`(object, &pointer) -> length`) and returns the DER bytes.
    static func der(_ what: String, _ encode: (UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>) -> Int32) throws -> [UInt8] {
        var out: UnsafeMutablePointer<UInt8>? = nil
        let length = encode(&out)
        guard length > 0, let out else { throw error(.cryptoFailure, what) }
        defer { xgw_OPENSSL_free(out) }
        return Array(UnsafeBufferPointer(start: out, count: Int(length)))
    }

    /// Parses DER with a `d2i_*`-style decoder.
    static func fromDER<T>(_ bytes: [UInt8], _ decode: (UnsafeMutablePointer<UnsafePointer<UInt8>?>, Int) -> T?) -> T? {
        bytes.withUnsafeBufferPointer { buffer -> T? in
            var pointer: UnsafePointer<UInt8>? = buffer.baseAddress
            let result = decode(&pointer, buffer.count)
            // Trailing bytes after the DER object are rejected: one encoding per object.
            guard let result, let pointer, let base = buffer.baseAddress, pointer == base + buffer.count else { return nil }
            return result
        }
    }

    /// A fresh `EVP_MD_CTX` initialised for signing or verifying with `pkey`: the algorithm's digest
    /// and, for SM2, the distinguishing ID on its `EVP_PKEY_CTX`. Nil when OpenSSL refuses.
    static func makeDigestContext(_ pkey: OpaquePointer, _ algorithm: SignatureAlgorithm, verifying: Bool) -> OpaquePointer? {
        guard let md = EVP_MD_CTX_new() else { return nil }
        var pctx: OpaquePointer? = nil
        let initialised = verifying
            ? EVP_DigestVerifyInit_ex(md, &pctx, algorithm.openSSLDigestName, nil, nil, pkey, nil)
            : EVP_DigestSignInit_ex(md, &pctx, algorithm.openSSLDigestName, nil, nil, pkey, nil)
        guard initialised == 1,
              algorithm != .sm2sm3 || EVP_PKEY_CTX_set1_id(pctx, sm2ID, Int32(sm2ID.count)) == 1
        else {
            EVP_MD_CTX_free(md)
            return nil
        }
        return md
    }

    /// A context for one operation: a copy of `template` (cheaper than `EVP_DigestSignInit_ex`,
    /// which costs OpenSSL 3.0 a provider look-up), or a fresh one when copying fails. The caller frees it.
    static func digestContext(
        copying template: OpaquePointer?, _ pkey: OpaquePointer, _ algorithm: SignatureAlgorithm, verifying: Bool
    ) -> OpaquePointer? {
        var context: OpaquePointer?
        if let template, let md = EVP_MD_CTX_new() {
            if EVP_MD_CTX_copy_ex(md, template) == 1 { context = md } else { EVP_MD_CTX_free(md) }
        }
        guard let md = context ?? makeDigestContext(pkey, algorithm, verifying: verifying) else { return nil }
        // The context serves one signature: without this flag OpenSSL 3 duplicates the whole
        // EVP_PKEY_CTX in EVP_DigestSignFinal/VerifyFinal so the context could be reused.
        EVP_MD_CTX_set_flags(md, EVP_MD_CTX_FLAG_FINALISE)
        return md
    }

    /// A new ASN1_OCTET_STRING holding the SM2 distinguishing ID (ownership passes to the caller).
    static func sm2IDOctetString() -> UnsafeMutablePointer<ASN1_OCTET_STRING>? {
        guard let string = ASN1_OCTET_STRING_new() else { return nil }
        guard ASN1_OCTET_STRING_set(string, sm2ID, Int32(sm2ID.count)) == 1 else {
            ASN1_OCTET_STRING_free(string)
            return nil
        }
        return string
    }
}

/// Lower-case hexadecimal, the way envelope.md writes digests and key ids.
public enum Hex {
    private static let digits: [UInt8] = Array("0123456789abcdef".utf8)

    public static func encode<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        String(unsafeUninitializedCapacity: bytes.count * 2) { buffer in
            var index = 0
            for byte in bytes {
                buffer[index] = digits[Int(byte >> 4)]
                buffer[index + 1] = digits[Int(byte & 0x0f)]
                index += 2
            }
            return index
        }
    }

    static func decode(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(utf8.count / 2)
        var index = 0
        while index < utf8.count {
            guard let high = nibble(utf8[index]), let low = nibble(utf8[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
