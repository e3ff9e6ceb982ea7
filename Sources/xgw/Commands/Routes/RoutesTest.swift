import ArgumentParser
import GatewayMapping
import GatewayModel

/// `xgw routes test`: where each canonical record of a file goes, and by which rules.
struct RoutesTest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Show which routes match each canonical record of FILE (NDJSON) and where it goes.",
        discussion: "Exit 0 when every record has a destination, 65 when any has none (no-route).")

    @OptionGroup var mappingOptions: MappingOptions

    @Option(name: .long, help: ArgumentHelp("The submitting participant (default: a bulletin's issuer, else the office of the record's region).", valueName: "ID"))
    var from: String?

    @Flag(name: .long, help: "Print one JSON object per record instead of text.")
    var json = false

    @Argument(help: ArgumentHelp("Canonical records, one per line (what xgw translate prints); - for standard input.", valueName: "FILE"))
    var file: String

    func run() async throws {
        let seeds: Seeds
        let routes: Routes
        do {
            seeds = try Seeds.load(directory: mappingOptions.seedsDirectory)
            routes = try Routes.load(directory: mappingOptions.mappingsDirectory, seeds: seeds)
        } catch {
            Console.error("xgw: \(error)")
            throw Exit.configuration
        }
        if let from, seeds.participant(from) == nil { throw ValidationError("'\(from)' is not a participant of seeds/participants.yaml") }
        let bytes: [UInt8]
        do { bytes = try readInput(file) } catch {
            Console.error("xgw: cannot open \(file)")
            throw Exit.noInput
        }
        var unrouted = 0
        for (n, line) in bytes.split(separator: 0x0A).enumerated() where !line.allSatisfy({ $0 == 0x20 || $0 == 0x0D }) {
            let record: JSONValue
            do { record = try JSONParser.parse(Array(line)) } catch {
                Console.error("xgw: \(file):\(n + 1): not JSON: \(error.message)")
                throw Exit.dataError
            }
            let recordId = record["recordId"]?.stringValue ?? "line \(n + 1)"
            guard let submitter = from ?? Routes.defaultSubmitter(for: record, seeds: seeds) else {
                Console.error("xgw: \(recordId): no submitter (give --from)")
                unrouted += 1
                continue
            }
            do {
                let d = try routes.route(record, submitter: submitter)
                if json {
                    let v: JSONValue = [
                        "recordId": .string(recordId), "from": .string(submitter),
                        "routes": .array(d.matchedRules.map(JSONValue.string)), "to": .array(d.destinations.map(JSONValue.string)),
                    ]
                    Console.out.line(v.canonicalBytes())
                } else {
                    Console.out.line("\(recordId)  from \(submitter)  via \(d.matchedRules.joined(separator: ", "))  → \(d.destinations.joined(separator: ", "))")
                }
            } catch {
                unrouted += 1
                if json {
                    let v: JSONValue = ["recordId": .string(recordId), "from": .string(submitter), "errors": [error.json]]
                    Console.out.line(v.canonicalBytes())
                } else {
                    Console.out.line(Console.paint("\(recordId)  from \(submitter)  ✗ \(error.code): \(error.message)", "31"))
                }
            }
        }
        Console.out.flush()
        if unrouted > 0 { throw Exit.dataError }
    }
}
