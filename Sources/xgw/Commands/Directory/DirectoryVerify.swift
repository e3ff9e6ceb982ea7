import ArgumentParser
import Foundation
import GatewayFederation
import GatewaySigning

/// `xgw directory verify FILE --trust ca.cert.pem`: exit 0 when the directory is signed by one of the
/// signing roots and meets the content rules, 1 with every reason on standard error otherwise.
struct DirectoryVerify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check a directory's signature (by a signing root of --trust) and its content rules.",
        discussion: """
            Prints ok serial <N> and exits 0 when it holds; exits 1 with each reason on standard error (the member's \
            JSON Pointer, the message and the code) when it does not; 66 when a file cannot be opened. A directory past \
            its nextUpdate still verifies, with a warning. The signature's certificate must be one of the trust \
            anchors itself (the root), not a certificate chaining to one.
            """)

    @Argument(help: ArgumentHelp("The directory (JSON); - for standard input.", valueName: "FILE"))
    var file: String
    @Option(help: ArgumentHelp("Signing trust anchors (PEM, one or more root certificates).", valueName: "FILE"))
    var trust = TrustOptions.defaultTrust
    @Option(help: ArgumentHelp("Check at this instant (RFC 3339) instead of now.", valueName: "TIME"))
    var at: String?

    func run() async throws {
        let time = try DirectoryFile.time(at)
        let anchors = try DirectoryFile.anchors(trust)
        let signed = try DirectoryFile.read(file)
        let problems: [DirectoryProblem]
        switch signed.verify(anchors: anchors, at: time) {
        case .success(let directory):
            if directory.isStale(at: time) {
                Console.error("xgw: warning: \(file): serial \(directory.serial) is past its nextUpdate \(directory.nextUpdateText) (it still applies)")
            }
            Console.out.line("ok serial \(directory.serial)")
            Console.out.flush()
            return
        case .failure(let error):
            problems = error.problems
        }
        for problem in problems { Console.error("xgw: \(file): \(problem)") }
        throw Exit.checkFailed
    }
}

/// Reading a directory file and trust anchors for `verify` and `show`, with cli.md's exit codes.
enum DirectoryFile {
    /// The document of `path` (`-`: standard input); 66 when it cannot be opened, 1 when it is not a directory.
    static func read(_ path: String) throws -> SignedDirectory {
        guard let bytes = try? readInput(path) else {
            Console.error("xgw: cannot open \(path)")
            throw Exit.noInput
        }
        do throws(DirectoryError) {
            return try SignedDirectory(bytes: bytes)
        } catch {
            for problem in error.problems { Console.error("xgw: \(path): \(problem)") }
            throw Exit.checkFailed
        }
    }

    static func anchors(_ path: String) throws -> [Certificate] {
        var anchors: [Certificate] = []
        try SigningFailure.exit { anchors = try Certificate.all(pem: try FileBytes.read(path)) }
        return anchors
    }

    static func time(_ text: String?) throws -> Date {
        guard let text else { return Date() }
        guard let date = Timestamp.date(text) else { throw ValidationError("--at needs an RFC 3339 time like 2026-12-02T08:00:00Z") }
        return date
    }
}
