import GatewayMapping
import Synchronization

/// The mappings and routes the gateway serves with, as one snapshot swapped whole: SIGHUP loads a
/// new set completely (every mapping file and routes.yaml, checked as at start), and only a set
/// that loaded is swapped in; a request takes one snapshot and keeps it to its end, so a reload
/// never changes the rules under a document being translated.
final class MappingSet: Sendable {
    struct Snapshot: Sendable {
        let translator: Translator
        let routes: Routes
        /// The way back of each mapping, by format id (`Renderer`); a mapping whose rules cannot be
        /// read backwards holds why. Delivery in a participant's format renders with these.
        let renderers: [String: Result<Renderer, ConfigurationError>]

        init(translator: Translator, routes: Routes) {
            self.translator = translator
            self.routes = routes
            var renderers: [String: Result<Renderer, ConfigurationError>] = [:]
            for mapping in translator.mappings {
                do throws(ConfigurationError) {
                    renderers[mapping.id] = .success(try Renderer(mapping: mapping))
                } catch {
                    renderers[mapping.id] = .failure(error)
                }
            }
            self.renderers = renderers
        }
    }

    private let state: Mutex<Snapshot>

    init(_ snapshot: Snapshot) { state = Mutex(snapshot) }

    var current: Snapshot { state.withLock { $0 } }

    func replace(with snapshot: Snapshot) { state.withLock { $0 = snapshot } }

    /// Loads the mappings and routes `configuration` names; throws `ServerConfigurationError`
    /// naming every problem.
    static func load(_ configuration: ServerConfiguration) throws -> Snapshot {
        do {
            // What translating one document may take besides its body (issue 17 row 3): with the
            // body, at most 4 times the body limit (docs/security.md).
            let translator = try Translator.load(
                mappingsDirectory: configuration.mappingsDirectory, seedsDirectory: configuration.seedsDirectory,
                configuration: .init(maxWorkBytes: Translator.workBudget(maxBodyBytes: configuration.maxBodyBytes)))
            let routes = try Routes.load(directory: configuration.mappingsDirectory, seeds: translator.seeds)
            return Snapshot(translator: translator, routes: routes)
        } catch let errors as ConfigurationErrors {
            throw ServerConfigurationError(errors.errors.map { "\($0)" }.joined(separator: "\n"))
        } catch let error as ServerConfigurationError {
            throw error
        } catch {
            throw ServerConfigurationError("\(error)")
        }
    }
}
