import ArgumentParser
import Foundation
import GatewayServer
import Hummingbird
import Logging

/// `xgw serve [--config FILE]`: the gateway's HTTP API (cli.md; docs/server.md, docs/openapi.yaml).
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the gateway's HTTP API.",
        discussion: """
            Without --config it runs on the embedded defaults: SQLite under ./data/, the participants of seeds/, \
            an alliance CA and one key per participant created on first start under ./data/pki/, API tokens \
            (one per participant, one ops token) created and shown once in ./data/tokens (stored hashed), \
            listening on 127.0.0.1:8080. database: postgres://… (config key or XGW_DATABASE) puts the queue in PostgreSQL \
            instead, so that several nodes can share it (docs/postgres.md). Environment overrides: XGW_LISTEN, XGW_PORT, XGW_DATA, \
            XGW_DATABASE, XGW_ALGORITHM. Stops cleanly on SIGINT or SIGTERM. With SQLite, one server per data folder \
            (<data>/xgw.lock); SIGHUP re-reads the CRL, keys, mappings and routes (and, in node mode, the \
            directory file and the TLS CRL) without dropping a request.
            """)

    @Option(name: .long, help: ArgumentHelp("YAML configuration file (see docs/server.md).", valueName: "FILE"))
    var config: String?

    func run() async throws {
        var base = ServerConfiguration()
        base.mappingsDirectory = Installation.folder("Mappings")
        base.seedsDirectory = Installation.folder("seeds")
        let configuration: ServerConfiguration
        do {
            configuration = try ServerConfiguration.load(file: config, environment: ProcessInfo.processInfo.environment, base: base)
        } catch {
            Console.error("xgw serve: \(error)")
            throw Exit.configuration
        }
        // Text or JSON lines (logFormat), once the configuration says which.
        let level = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        LoggingSystem.bootstrap { label in configuration.logFormat.standardErrorHandler(label: label, level: level) }
        let logger = Logger(label: "xgw")
        // One server per SQLite data folder, for the life of this process.
        let lock: DataFolderLock?
        do {
            lock = try DataFolderLock.acquire(for: configuration)
        } catch {
            Console.error("xgw serve: \(error)")
            throw Exit.configuration
        }
        defer { lock?.hold() }
        // Which mappings and seeds this server runs on, before anything can fail on them.
        func folder(_ label: String, _ used: String, _ located: String, _ name: String) -> String {
            Installation.describe(label, given: used == located ? nil : used, option: "configuration", name: name)
        }
        Console.out.line(
            "xgw: using " + folder("mappings", configuration.mappingsDirectory, base.mappingsDirectory, "Mappings") + ", "
                + folder("seeds", configuration.seedsDirectory, base.seedsDirectory, "seeds"))
        Console.out.flush()
        let built: (application: Application<RouterResponder<GatewayContext>>, gateway: Gateway)
        do {
            built = try buildApplication(configuration: configuration, logger: logger) { port in
                Console.out.line("xgw: listening on \(configuration.scheme)://\(configuration.listen):\(port)")
                Console.out.line("xgw: console at \(configuration.scheme)://\(configuration.listen):\(port)/console/ (sign in with an API token)")
                Console.out.flush()
            }
        } catch let error as ServerConfigurationError {
            Console.error("xgw serve: \(error)")
            throw Exit.configuration
        } catch {
            Console.error("xgw serve: cannot start: \(error)")
            throw ExitCode(70)
        }
        Console.out.line("xgw: data in \(configuration.dataDirectory) (database \(configuration.databaseDescription), keys \(configuration.pkiPath))")
        if !built.gateway.createdTokens.isEmpty {
            Console.out.line("xgw: API tokens created (shown only now; \(configuration.tokensPath) keeps their hashes):")
            for (name, token) in built.gateway.createdTokens { Console.out.line("token \(name) \(token)") }
        }
        Console.out.flush()
        do {
            try await built.application.runService()
        } catch where Self.isAddressInUse(error) {
            Console.error(
                "xgw serve: cannot listen on \(configuration.listen) port \(configuration.port): the port is already in use "
                    + "(another xgw serve?); stop that process or choose another port (port: in --config, or XGW_PORT)")
            throw Exit.configuration
        }
        Console.out.line("xgw: stopped")
        Console.out.flush()
    }

    /// A listener that could not bind because the address is taken (EADDRINUSE): NIO's `IOError`
    /// keeps the errno in a member `errno` (`errnoCode` outside), found by reflection so that this
    /// target needs no NIO import; its description says `(errno: 98)`.
    static func isAddressInUse(_ error: any Error) -> Bool {
        func holds(_ value: Any, depth: Int) -> Bool {
            for child in Mirror(reflecting: value).children {
                if child.label == "errno" || child.label == "errnoCode", let code = child.value as? Int32, code == EADDRINUSE { return true }
                if depth < 4 && holds(child.value, depth: depth + 1) { return true }
            }
            return false
        }
        return holds(error, depth: 0) || String(describing: error).hasSuffix("(errno: \(EADDRINUSE))")
    }
}
