import ArgumentParser
import GatewayBenchmarks

extension BenchTranslate {
    /// `--documents FILE…`: the given documents instead of synthetic ones, one row per format
    /// (`TranslateBenchmark.run(documents:output:)`).
    func runDocuments() async throws {
        let translator = try mappingOptions.translator()
        guard let documents = try await documentOptions.load(translator) else { return }
        let benchmark = TranslateBenchmark(translator: translator, batch: batch, seconds: seconds)
        try await BenchmarkError.reported { try benchmark.run(documents: documents, output: Console.out) }
    }
}
