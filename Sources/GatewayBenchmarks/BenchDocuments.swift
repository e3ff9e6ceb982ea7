import Foundation
import GatewayMapping
import GatewayModel

/// Regional documents named on the command line (`xgw bench translate|pipeline --documents FILE…`),
/// read as bytes (UTF-8, GBK, GB18030: whatever the document declares, as the gateway reads a
/// submission) and translated once before anything is measured: the format detected as the gateway
/// detects it, or the one `--format` names.
///
/// A document that does not translate as a whole (not XML or JSON, no mapping recognises it, a
/// `source-error`, a parse error) is left out of the figures and reported with its file name and
/// the rejection; the benchmark goes on with the others and stops only when none is left. Records
/// rejected inside a document that does translate stay in: the gateway spends that work too.
public struct BenchDocuments: Sendable {
    public struct Document: Sendable {
        public var path: String
        public var bytes: [UInt8]
        /// The mapping that read it (detected, or `--format`).
        public var format: String
        /// Records the document holds, and of those rejected by translation (one pass).
        public var records: Int
        public var rejected: Int
        /// The offices its translated records belong to (`Routes.defaultSubmitter`): who submits it
        /// in `bench pipeline`. Empty when every record was rejected; more than one, and the
        /// gateway refuses it from any submitter (`SubmitPipeline.Refusal.foreignRecords`).
        public var submitters: [String]
    }

    /// A file left out, and why (`code: message`, masked as every rejection is).
    public struct Skipped: Sendable {
        public var path: String
        public var reason: String
    }

    public var documents: [Document]
    public var skipped: [Skipped]
    /// `--format`: the mapping every document is read with instead of detecting one.
    public var format: String?

    /// Reads and translates `paths` once.
    ///
    /// - Throws: `BenchmarkError.invalid` when a file cannot be read, `format` names no mapping,
    ///   or no document translates.
    public static func load(paths: [String], format: String?, translator: Translator) throws -> BenchDocuments {
        if let format, translator.mapping(id: format) == nil {
            throw BenchmarkError.invalid(
                "--format: no mapping named '\(format)' (known: \(translator.mappings.map(\.id).sorted().joined(separator: ", ")))")
        }
        guard !paths.isEmpty else { throw BenchmarkError.invalid("--documents: no file named") }
        var result = BenchDocuments(documents: [], skipped: [], format: format)
        for path in paths {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw BenchmarkError.invalid("--documents: cannot read \(path)")
            }
            let bytes = [UInt8](data)
            var submitters: [String] = []
            let summary = translator.translate(bytes, mappingID: format) { outcome in
                if case .translated(_, let record, _) = outcome {
                    let submitter = Routes.defaultSubmitter(for: record, seeds: translator.seeds) ?? "-"
                    if !submitters.contains(submitter) { submitters.append(submitter) }
                }
            }
            if let rejection = summary.documentRejection {
                let reason = rejection.errors.map(\.description).joined(separator: "; ")
                result.skipped.append(Skipped(path: path, reason: reason.isEmpty ? "rejected" : reason))
                continue
            }
            result.documents.append(Document(
                path: path, bytes: bytes, format: summary.mapping?.id ?? format ?? "-", records: summary.records,
                rejected: summary.rejected, submitters: submitters))
        }
        return result
    }

    /// Prints a line per skipped file; throws when no document is left to measure.
    public func report(output: some BenchmarkOutput) throws {
        for skip in skipped {
            output.line("skipped \(skip.path): \(skip.reason)")
        }
        if documents.isEmpty {
            throw BenchmarkError.invalid("none of the \(skipped.count) document(s) translates: nothing to measure")
        }
        output.line("documents: \(documents.count) measured, \(skipped.count) skipped")
        output.flush()
    }

    /// The documents grouped by format, formats in order of first appearance.
    var byFormat: [(format: String, documents: [Document])] {
        var groups: [(format: String, documents: [Document])] = []
        for document in documents {
            if let index = groups.firstIndex(where: { $0.format == document.format }) {
                groups[index].documents.append(document)
            } else {
                groups.append((document.format, [document]))
            }
        }
        return groups
    }
}
