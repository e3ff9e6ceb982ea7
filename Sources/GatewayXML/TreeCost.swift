import CLibXML2

/// What libxml2's tree builder allocates for each kind of node, in bytes, as the tree budget
/// (`XMLDocument.Options.maxTreeBytes`) counts it: the struct, its malloc header and the content it
/// copies. Measured on a real `xgw serve` (docs/security.md): 999,990 empty elements took 131 MiB
/// (137 bytes each), 900,000 elements with two empty attributes 547 MiB (about 235 bytes per
/// attribute, its text child included), 2.4 million empty comments 399 MiB, 1.2 million namespace
/// declarations 252 MiB. The figures round up, so the estimate stays above what is really held.
enum TreeCost {
    /// An element, a text node, a comment or a processing instruction (`xmlNode` is 120 bytes).
    static let node = 160
    /// An attribute (`xmlAttr`, 96 bytes) with its text child.
    static let attribute = 256
    /// A namespace declaration (`xmlNs`, 48 bytes) with its copied prefix and URI.
    static let namespace = 160

    /// An element with its attributes (values included) and namespace declarations; `attrs` is
    /// libxml2's array of five pointers per attribute (local name, prefix, URI, value, value end).
    @inline(__always)
    static func element(attributes: Int, namespaces: Int, _ attrs: UnsafeMutablePointer<UnsafePointer<xmlChar>?>?) -> Int {
        var bytes = node + namespaces * namespace
        if attributes > 0, let attrs {
            bytes += attributes * attribute
            for i in 0..<attributes {
                if let value = attrs[5 * i + 3], let end = attrs[5 * i + 4] { bytes += end - value }
            }
        }
        return bytes
    }

    /// A new text node of `length` bytes.
    @inline(__always)
    static func text(_ length: Int) -> Int { node + length }

    /// `48 MiB`, for messages.
    static func mebibytes(_ bytes: Int) -> String {
        bytes % (1 << 20) == 0 ? "\(bytes >> 20) MiB" : "\(bytes) bytes"
    }
}
