import GatewayMapping

extension PipelineBenchmark {
    /// The documents of `--documents` the gateway would take from one submitter: a document whose
    /// records belong to several participants is refused from any of them
    /// (`SubmitPipeline.Refusal.foreignRecords`), so it is skipped and reported like a document
    /// that does not translate; then the skipped files and the count are printed.
    func submittable(_ given: BenchDocuments, output: some BenchmarkOutput) throws -> [BenchDocuments.Document] {
        var documents = given
        documents.documents = []
        for document in given.documents {
            if document.submitters.count > 1 {
                documents.skipped.append(BenchDocuments.Skipped(
                    path: document.path,
                    reason: "refused: its records belong to \(document.submitters.count) participants (\(document.submitters.joined(separator: ", "))), and a participant submits only its own records"))
            } else {
                documents.documents.append(document)
            }
        }
        try documents.report(output: output)
        return documents.documents
    }

    /// The submitter of a document whose every record is rejected (no record names its owner):
    /// the first office of the seeds; the gateway answers it the same from anyone.
    static func anyOffice(_ translator: Translator) -> String {
        translator.seeds.offices.first?.id ?? "renshi"
    }
}
