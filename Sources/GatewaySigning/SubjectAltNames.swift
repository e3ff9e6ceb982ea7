import COpenSSL
import Foundation

/// The subjectAltName entries of a certificate or request, by kind: URIs carry identities
/// (`urn:xgw:office:<id>`, `urn:xgw:node:<id>`), DNS names and IP addresses say where a node is
/// reached (federation.md, "Certificates").
public struct SubjectAltNames: Sendable, Hashable, CustomStringConvertible {
    /// Every URI, in order.
    public var uris: [String]
    /// Every DNS name, in order (as written; `init(parsing:)` lower-cases them).
    public var dnsNames: [String]
    /// Every IP address, in order, as text (`inet_ntop`: `192.0.2.1`, `2001:db8::1`).
    public var ipAddresses: [String]
    /// The kinds of any other entries (`email`, `dirName`, `otherName`, ...): xgw issues none.
    public var others: [String]

    public init(uris: [String] = [], dnsNames: [String] = [], ipAddresses: [String] = [], others: [String] = []) {
        self.uris = uris
        self.dnsNames = dnsNames
        self.ipAddresses = ipAddresses
        self.others = others
    }

    /// Parses the `--san` option: `DNS:name,IP:addr,...` (kinds case-insensitive, spaces around
    /// entries ignored). DNS names are lower-cased and must be host names (labels of letters, digits
    /// and inner hyphens, no wildcard); IP addresses are IPv4 or IPv6 and are normalised.
    /// - Throws: `SigningError.pki` naming the first entry that is not a DNS name or an IP address.
    public init(parsing text: String) throws {
        self.init()
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let entry = part.trimmingCharacters(in: .whitespaces)
            guard let colon = entry.firstIndex(of: ":") else {
                throw SigningError(.pki, "subjectAltName entry '\(entry)' is not DNS:<name> or IP:<address>")
            }
            let value = String(entry[entry.index(after: colon)...])
            switch entry[..<colon].uppercased() {
            case "DNS":
                guard let name = Self.normalizedDNSName(value) else {
                    throw SigningError(.pki, "subjectAltName DNS:\(value) is not a host name")
                }
                dnsNames.append(name)
            case "IP":
                guard let address = Self.normalizedIPAddress(value) else {
                    throw SigningError(.pki, "subjectAltName IP:\(value) is not an IPv4 or IPv6 address")
                }
                ipAddresses.append(address)
            default:
                throw SigningError(.pki, "subjectAltName entry '\(entry)' is not DNS:<name> or IP:<address>")
            }
        }
    }

    /// `URI:…, DNS:…, IP:…` as `openssl x509 -text` shows them.
    public var description: String {
        (uris.map { "URI:" + $0 } + dnsNames.map { "DNS:" + $0 } + ipAddresses.map { "IP:" + $0 } + others.map { $0 + ":…" })
            .joined(separator: ", ")
    }

    public var isEmpty: Bool { uris.isEmpty && dnsNames.isEmpty && ipAddresses.isEmpty && others.isEmpty }

    /// A DNS name lower-cased, or nil unless it is 1-253 characters of dot-separated labels, each
    /// 1-63 letters, digits or inner hyphens (what goes into an OpenSSL extension string must not
    /// carry commas or colons).
    public static func normalizedDNSName(_ text: String) -> String? {
        let name = text.lowercased()
        guard !name.isEmpty, name.utf8.count <= 253 else { return nil }
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        let valid = labels.allSatisfy { label in
            !label.isEmpty && label.utf8.count <= 63 && label.first != "-" && label.last != "-"
                && label.utf8.allSatisfy { c in
                    (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
                        || c == UInt8(ascii: "-")
                }
        }
        return valid ? name : nil
    }

    /// An IPv4 or IPv6 address in its normal text form, or nil when it is neither.
    public static func normalizedIPAddress(_ text: String) -> String? { ipBytes(text).flatMap(ipText) }

    /// The 4 or 16 bytes (network order) of an IPv4 or IPv6 address, or nil when it is neither.
    static func ipBytes(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }

    /// The text of a 4- or 16-byte address (network order), as in a GENERAL_NAME's iPAddress.
    static func ipText(_ bytes: [UInt8]) -> String? {
        let family: Int32
        switch bytes.count {
        case 4: family = AF_INET
        case 16: family = AF_INET6
        default: return nil
        }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        guard inet_ntop(family, bytes, &buffer, socklen_t(buffer.count)) != nil else { return nil }
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The value of an OpenSSL `subjectAltName` extension string. Only for names that were
    /// validated (ids by `CertificateAuthority.isValidOfficeID`, DNS and IP by the normalisers).
    var opensslValue: String {
        (uris.map { "URI:" + $0 } + dnsNames.map { "DNS:" + $0 } + ipAddresses.map { "IP:" + $0 }).joined(separator: ",")
    }

    /// Reads a `GENERAL_NAMES` stack.
    init(generalNames names: OpaquePointer) {
        self.init()
        for index in 0..<OPENSSL_sk_num(names) {
            guard let element = OPENSSL_sk_value(names, index) else { continue }
            let name = element.assumingMemoryBound(to: GENERAL_NAME.self)
            switch name.pointee.type {
            case GEN_URI:
                uris.append(Certificate.utf8(UnsafePointer(name.pointee.d.uniformResourceIdentifier)) ?? "")
            case GEN_DNS:
                dnsNames.append(Certificate.utf8(UnsafePointer(name.pointee.d.dNSName)) ?? "")
            case GEN_IPADD:
                let octets = name.pointee.d.iPAddress
                let bytes = octets.flatMap { string in
                    ASN1_STRING_get0_data(string).map { Array(UnsafeBufferPointer(start: $0, count: Int(ASN1_STRING_length(string)))) }
                }
                ipAddresses.append(bytes.flatMap(Self.ipText) ?? "invalid")
            case GEN_EMAIL: others.append("email")
            case GEN_DIRNAME: others.append("dirName")
            case GEN_OTHERNAME: others.append("otherName")
            case GEN_RID: others.append("RID")
            default: others.append("other")
            }
        }
    }

    /// The subjectAltName extension of a certificate (empty when it has none).
    init(certificate x509: OpaquePointer) {
        guard let raw = X509_get_ext_d2i(x509, NID_subject_alt_name, nil, nil) else {
            self.init()
            return
        }
        let names = OpaquePointer(raw)
        defer { GENERAL_NAMES_free(names) }
        self.init(generalNames: names)
    }
}
