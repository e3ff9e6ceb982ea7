import ArgumentParser
import GatewaySigning

/// Parses `--alg` values (`SM2-SM3`, `ES256`, `Ed25519`).
extension SignatureAlgorithm: ExpressibleByArgument {
    public init?(argument: String) { self.init(name: argument) }
    public static var allValueStrings: [String] { allCases.map(\.rawValue) }
}
