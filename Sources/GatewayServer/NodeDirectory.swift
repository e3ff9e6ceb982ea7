import Foundation
import GatewayFederation
import GatewaySigning
import Logging
import Synchronization

/// The directory a node holds (federation.md, "Distribution"): at start the newest valid one of the
/// configured file and the adopted copy in the data folder; then the file again whenever it changes
/// (its modification time, compared at most once per `recheckInterval`) or on `reload()` (SIGHUP).
/// Only a directory that passes `DirectoryAcceptance` is adopted; a refused one is logged and the
/// held directory stays.
final class NodeDirectory: Sendable {
    struct Held: Sendable {
        var directory: Directory
        var signed: SignedDirectory
    }

    private struct State {
        var held: Held
        var staleLogged: Bool
    }

    let node: NodeConfiguration
    let pki: PKIDirectory
    let adoptedPath: String
    /// The directory file's modification time, looked at once per `recheckInterval`.
    private let file: FileChangeCheck
    var recheckInterval: Duration { file.interval }
    let logger: Logger
    let metrics: GatewayMetrics
    private let state: Mutex<State>

    /// Loads and accepts the directory, or throws the refusals naming the file and the participants.
    init(
        node: NodeConfiguration, pki: PKIDirectory, dataDirectory: String, metrics: GatewayMetrics, logger: Logger,
        recheckInterval: Duration = .seconds(2), now: Date = Date()
    ) throws(ServerConfigurationError) {
        self.node = node
        self.pki = pki
        let adoptedPath = NodeConfiguration.adoptedDirectoryPath(dataDirectory: dataDirectory)
        self.adoptedPath = adoptedPath
        self.logger = logger
        self.metrics = metrics
        let anchors = try Self.anchors(pki)
        file = FileChangeCheck(paths: [node.directory], interval: recheckInterval)
        let fileBytes = FileManager.default.contents(atPath: node.directory)
        let adoptedBytes = FileManager.default.contents(atPath: adoptedPath)
        guard fileBytes != nil || adoptedBytes != nil else {
            throw ServerConfigurationError("\(node.directory): the node's directory cannot be read")
        }
        let nodeFacts = Self.facts(node, pki: pki)
        let fromFile = fileBytes.map { DirectoryAcceptance.evaluate([UInt8]($0), held: nil, node: nodeFacts, anchors: anchors, at: now) }
        let fromCopy = adoptedBytes.map { DirectoryAcceptance.evaluate([UInt8]($0), held: nil, node: nodeFacts, anchors: anchors, at: now) }
        let accepted = [(fromFile, fileBytes), (fromCopy, adoptedBytes)].compactMap { pair -> (Directory, SignedDirectory)? in
            guard let acceptance = pair.0, acceptance.isAccepted, let directory = acceptance.directory, let bytes = pair.1,
                let signed = try? SignedDirectory(bytes: [UInt8](bytes))
            else { return nil }
            return (directory, signed)
        }
        guard let chosen = accepted.max(by: { $0.0.serial < $1.0.serial }) else {
            var lines: [String] = []
            if let fromFile { lines += fromFile.refusals.map { "\(node.directory): refused: \(Self.describe($0, pki: pki))" } }
            if let fromCopy { lines += fromCopy.refusals.map { "\(adoptedPath): refused: \(Self.describe($0, pki: pki))" } }
            throw ServerConfigurationError(lines.joined(separator: "\n"))
        }
        if let fileSerial = fromFile?.directory?.serial, fromFile?.isAccepted == true, fileSerial < chosen.0.serial {
            logger.notice("the adopted directory is newer than the directory file; it applies",
                metadata: ["file": .string(node.directory), "fileSerial": .string("\(fileSerial)"), "serial": .string("\(chosen.0.serial)")])
        }
        if let fromFile, !fromFile.isAccepted {
            for problem in fromFile.refusals {
                logger.warning("the directory file is refused; the adopted copy applies",
                    metadata: ["file": .string(node.directory), "problem": .string(Self.describe(problem, pki: pki))])
            }
        }
        state = Mutex(State(held: Held(directory: chosen.0, signed: chosen.1), staleLogged: false))
        keepAdoptedCopy(chosen.1, unless: adoptedBytes.map { [UInt8]($0) })
        report(now: now)
    }

    /// The directory held now (after a look at the file when one is due).
    var current: Directory {
        refreshIfDue()
        return state.withLock { $0.held.directory }
    }

    /// The signed directory held now, as served to peers (`GET /v1/federation/directory`).
    var signedBytes: [UInt8] { state.withLock { $0.held.signed.canonicalBytes() } }

    /// The participants the directory gives to this node.
    var hosted: [String] { current.node(id: node.id)?.hosts ?? [] }

    /// Reads the file again when its modification time changed (at most once per `recheckInterval`).
    func refreshIfDue() {
        guard let stamps = file.changed() else { return }
        reload(stamps: stamps)
    }

    /// Reads the file now (SIGHUP); adopts it if it passes acceptance. Returns whether it was adopted.
    @discardableResult
    func reload(at time: Date = Date()) -> Bool { reload(stamps: FileChangeCheck.stamps(of: [node.directory]), at: time) }

    @discardableResult
    private func reload(stamps: [String: Date], at time: Date = Date()) -> Bool {
        file.record(stamps)
        guard let bytes = FileManager.default.contents(atPath: node.directory) else {
            logger.warning("the directory file cannot be read; the held directory stays", metadata: ["file": .string(node.directory)])
            return false
        }
        return adopt([UInt8](bytes), from: node.directory, at: time)
    }

    /// Adopts `bytes` if they pass acceptance against the held directory (also for a directory a peer serves).
    @discardableResult
    func adopt(_ bytes: [UInt8], from source: String, at time: Date = Date()) -> Bool {
        let held = state.withLock { $0.held.directory }
        let anchors: [Certificate]
        do { anchors = try Self.anchors(pki) } catch {
            logger.warning("the signing root cannot be read; the held directory stays", metadata: ["file": .string(pki.caCertificatePath)])
            return false
        }
        let acceptance = DirectoryAcceptance.evaluate(bytes, held: held, node: Self.facts(node, pki: pki), anchors: anchors, at: time)
        guard acceptance.isAccepted, let directory = acceptance.directory, let signed = try? SignedDirectory(bytes: bytes) else {
            for problem in acceptance.refusals {
                logger.warning("a directory is refused; the held directory stays",
                    metadata: ["source": .string(source), "serial": .string("\(held.serial)"), "problem": .string(Self.describe(problem, pki: pki))])
            }
            return false
        }
        guard !acceptance.isUnchanged else { return false }
        if directory.node(id: node.id)?.hosts.sorted() != held.node(id: node.id)?.hosts.sorted() {
            logger.warning("the new directory changes the participants this node hosts: restart the node to serve them",
                metadata: ["node": .string(node.id)])
        }
        state.withLock {
            $0.held = Held(directory: directory, signed: signed)
            $0.staleLogged = false
        }
        keepAdoptedCopy(signed, unless: nil)
        logger.notice("adopted a directory", metadata: ["source": .string(source), "serial": .string("\(directory.serial)")])
        report(now: time)
        return true
    }

    /// Past `nextUpdate` now: the directory still applies (health, metric, a log line once per directory).
    func isStale(at time: Date = Date()) -> Bool {
        report(now: time)
        return state.withLock { $0.held.directory.isStale(at: time) }
    }

    private func report(now: Date) {
        let (directory, logged) = state.withLock { ($0.held.directory, $0.staleLogged) }
        let stale = directory.isStale(at: now)
        metrics.directory(serial: directory.serial, stale: stale)
        if stale && !logged {
            state.withLock { $0.staleLogged = true }
            logger.warning("the directory is past its nextUpdate: it still applies; ask the alliance for a new one",
                metadata: ["serial": .string("\(directory.serial)"), "nextUpdate": .string(directory.nextUpdateText)])
        }
    }

    /// Writes the adopted copy; a failure is logged (the directory still applies until the next start).
    private func keepAdoptedCopy(_ signed: SignedDirectory, unless existing: [UInt8]?) {
        do {
            try writeAdoptedCopy(signed, unless: existing)
        } catch {
            logger.warning("the adopted directory cannot be kept", metadata: ["file": .string(adoptedPath), "error": .string("\(error)")])
        }
    }

    private func writeAdoptedCopy(_ signed: SignedDirectory, unless existing: [UInt8]?) throws {
        let bytes = signed.canonicalBytes()
        if let existing, (try? SignedDirectory(bytes: existing)) == signed { return }
        try FileBytes.write(bytes, to: adoptedPath)
    }

    /// The signing root: the only trust anchor of a directory.
    private static func anchors(_ pki: PKIDirectory) throws(ServerConfigurationError) -> [Certificate] {
        do {
            return [try Certificate(file: pki.caCertificatePath)]
        } catch {
            throw ServerConfigurationError("\(pki.caCertificatePath): the signing root cannot be read (a node never creates one)")
        }
    }

    /// This node as acceptance sees it: its id, the `offices/*.key.pem` present, its configured hosts.
    static func facts(_ node: NodeConfiguration, pki: PKIDirectory) -> DirectoryAcceptance.Node {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: pki.officesDirectory)) ?? []
        var keys: [String: String] = [:]
        for name in names where name.hasSuffix(".key.pem") {
            let id = String(name.dropLast(".key.pem".count))
            keys[id] = pki.officeKeyPath(id)
        }
        return DirectoryAcceptance.Node(id: node.id, keys: keys, configuredHosts: node.hosts)
    }

    /// A refusal as one line; a missing key names the file it is expected in.
    static func describe(_ problem: DirectoryProblem, pki: PKIDirectory) -> String {
        if problem.code == .keyMissing, let participant = problem.participant {
            return "\(problem) (expected \(pki.officeKeyPath(participant)))"
        }
        return problem.description
    }
}
