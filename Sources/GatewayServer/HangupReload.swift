import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

/// One-node mode (no `node` section; node mode has `DirectoryWatch`): SIGHUP re-reads the CRL and
/// the participants' keys and certificates at once, and logs so. SIGHUP no longer stops the server.
/// Mappings and routes are read at start only: the log line says a restart applies them.
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
    /// What SIGHUP does in one-node mode.
    func reloadOnHangup() {
        let reloaded = keys.reload()
        let unusable = keys.statuses().filter { $0.unavailable != nil }.map(\.participant)
        logger.notice(
            "SIGHUP: re-read the CRL and the participants' keys and certificates; mappings and routes are read at start only, restart xgw serve to apply changes to them",
            metadata: [
                "crl": .string(keys.pki.crlPath), "reloaded": .string(reloaded ? "yes" : "no (a file could not be read; the previous ones stay)"),
                "unusableCertificates": .string(unusable.joined(separator: ",")),
            ])
    }
}
