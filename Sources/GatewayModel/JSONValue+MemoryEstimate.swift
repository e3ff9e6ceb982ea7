extension JSONValue {
    /// What a `JSONValue` tree holds in memory, in bytes, as the parser's budget
    /// (`JSONParser.Options.maxMemoryBytes`) and the translator's (`Translator.Configuration.maxWorkBytes`)
    /// count it. Measured on a real `xgw serve` (docs/security.md): an array of 999,990 zeros took
    /// 48 MiB (50 bytes a value, the parser's element stack included), an object of 500,000
    /// members 61 MiB (122 bytes a member). The figures round up.
    public enum MemoryCost {
        /// Any value: its slot in an array or member (`JSONValue` is 17 bytes, stride 24) and the
        /// parser's stack copy.
        public static let value = 64
        /// A member's name and slot, on top of its value.
        public static let member = 48
        /// An array's or object's own storage header.
        public static let container = 48

        /// A string's (or number's, or member name's) heap storage: Swift keeps up to 15 UTF-8
        /// bytes inline.
        @inline(__always)
        public static func text(_ utf8Count: Int) -> Int { utf8Count > 15 ? utf8Count + 32 : 0 }
    }

    /// The estimated bytes of this value and everything in it (`MemoryCost`).
    public var estimatedBytes: Int {
        switch self {
        case .null, .bool: MemoryCost.value
        case .number(let n): MemoryCost.value + MemoryCost.text(n.text.utf8.count)
        case .string(let s): MemoryCost.value + MemoryCost.text(s.utf8.count)
        case .array(let elements):
            elements.reduce(MemoryCost.value + MemoryCost.container) { $0 + $1.estimatedBytes }
        case .object(let object):
            object.members.reduce(MemoryCost.value + MemoryCost.container) {
                $0 + MemoryCost.member + MemoryCost.text($1.key.utf8.count) + $1.value.estimatedBytes
            }
        }
    }
}
