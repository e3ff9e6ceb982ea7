import ArgumentParser
import Foundation
import GatewayServer

/// `xgw archive verify FOLDER`: exit 0 when every file of the manifest is there, unaltered, and
/// holds well-formed lines whose envelopes and receipts match their SHA-256; 1 with every problem
/// on standard error otherwise; 66 when the folder does not exist.
struct ArchiveVerify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check an archive folder: files against manifest.json, lines, envelope and receipt hashes.",
        discussion: """
            Prints ok with the counts (files, lines, distinct messages, envelopes, receipts) and exits 0 when the \
            archive holds; exits 1 with each problem on standard error (a missing or altered file, a line that \
            does not parse, an envelope or receipt that does not match its SHA-256); 66 when FOLDER does not exist. \
            Notes (an interrupted write's tail, a file the manifest does not list) go to standard error and do not \
            fail. Signatures are not checked here: take an envelope or receipt out of a line and give it to xgw verify.
            """)

    @Argument(help: ArgumentHelp("The archive folder (<data>/archive of xgw serve).", valueName: "FOLDER"))
    var folder: String

    func run() async throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            Console.error("xgw: \(folder): no such folder")
            throw Exit.noInput
        }
        let result = RetentionArchive.verify(folder: folder)
        for note in result.notes { Console.error("xgw: note: \(folder): \(note)") }
        for problem in result.problems { Console.error("xgw: \(folder): \(problem)") }
        guard result.ok else { throw Exit.checkFailed }
        Console.out.line(
            "ok files \(result.files) lines \(result.records) messages \(result.messages) envelopes \(result.envelopes) receipts \(result.receipts)")
    }
}
