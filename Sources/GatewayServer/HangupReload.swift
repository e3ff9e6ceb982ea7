import Foundation
import GatewayMapping
import Logging
import ServiceLifecycle
import UnixSignals

/// SIGHUP, in both modes, re-reads at once (without stopping the server): in node mode the
/// directory file (`NodeDirectory.reload`, adopted only if it passes acceptance) and the TLS root
/// and CRL (`NodeTLS.reloadTrust`); in both modes the alliance CRL with the participants' keys and
/// certificates, then the mappings and routes. No request is dropped: a new set of mappings and
/// routes is loaded whole and checked first (routes as `xgw mappings lint` checks them), then
/// swapped in (`MappingSet`); a set that does not load is refused with a log line naming its
/// problems, and the previous one keeps serving. The one handler of SIGHUP (`DirectoryWatch` only
/// looks at the directory file's modification time).
struct HangupReload: Service {
    let gateway: Gateway

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        await cancelWhenGracefulShutdown {
            for await _ in signals {
                gateway.reloadOnHangup()
            }
        }
    }
}

extension Gateway {
    /// What SIGHUP does (both modes): the directory and the TLS CRL (node mode), the alliance CRL
    /// and keys, the mappings and routes.
    func reloadOnHangup() {
        if let directory {
            logger.notice("SIGHUP: reading the directory file", metadata: ["file": .string(directory.node.directory)])
            directory.reload()
        }
        if let nodeTLS {
            let read = nodeTLS.reloadTrust()
            logger.notice(
                "SIGHUP: re-read the TLS root and CRL",
                metadata: ["crl": .string(nodeTLS.crlPath), "reloaded": .string(read ? "yes" : "no (a file could not be read; the previous ones stay)")])
        }
        let reloaded = keys.reload()
        let unusable = keys.statuses().filter { $0.unavailable != nil }.map(\.participant)
        logger.notice(
            "SIGHUP: re-read the CRL and the participants' keys and certificates",
            metadata: [
                "crl": .string(keys.pki.crlPath), "reloaded": .string(reloaded ? "yes" : "no (a file could not be read; the previous ones stay)"),
                "unusableCertificates": .string(unusable.joined(separator: ",")),
            ])
        reloadMappings()
    }

    /// Loads the mappings and routes again and swaps them in when they load; returns whether they
    /// did. A change of the participants (seeds) needs a restart (keys and tokens are made at start).
    @discardableResult
    func reloadMappings() -> Bool {
        let folder: Logger.Metadata = ["mappings": .string(configuration.mappingsDirectory)]
        let next: MappingSet.Snapshot
        do {
            next = try MappingSet.load(configuration)
            // Checked as `xgw mappings lint` checks routes (unknown participants, kinds, formats,
            // unreachable rules): a rule sending records to no one is refused, not served.
            let problems = RoutesLint.check(directory: configuration.mappingsDirectory, seeds: next.translator.seeds, mappings: next.translator.mappings)
            if !problems.isEmpty { throw ServerConfigurationError(problems.map { "\($0)" }.joined(separator: "\n")) }
            // The participants' delivery formats must still be formats of their kinds.
            try DeliveryRendering.check(configuration, next)
        } catch {
            logger.error(
                "SIGHUP: the new mappings or routes are refused; the previous ones keep serving",
                metadata: folder.merging(["problems": .string("\(error)")]) { $1 })
            return false
        }
        let running = Set(seeds.participants.map(\.id)), loaded = Set(next.translator.seeds.participants.map(\.id))
        guard running == loaded else {
            logger.error(
                "SIGHUP: the new seeds change the participants; restart xgw serve to apply them, the previous mappings and routes keep serving",
                metadata: folder.merging(["participants": .string(loaded.symmetricDifference(running).sorted().joined(separator: ","))]) { $1 })
            return false
        }
        mappingSet.replace(with: next)
        logger.notice(
            "SIGHUP: reloaded the mappings and routes",
            metadata: folder.merging([
                "mappingFiles": .stringConvertible(next.translator.mappings.count), "routes": .stringConvertible(next.routes.rules.count),
            ]) { $1 })
        return true
    }
}
