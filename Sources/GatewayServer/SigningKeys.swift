import Foundation
import GatewaySigning
import Synchronization

/// The hosted participants' signers, checked before every signature against the alliance CRL and
/// the certificate's validity, and read again when the PKI files change on disk.
///
/// `xgw pki revoke` rewrites `crl.pem`; `xgw pki issue ID --force` rewrites the participant's key
/// and certificate. The server notices either within `recheckInterval` (it compares modification
/// times, a few `stat` calls, at most once per interval), without a restart: a revoked or expired
/// certificate is refused before any work is done for the request, and a re-keyed participant signs
/// with its new key from then on.
final class SigningKeys: Sendable {
    /// Why a participant cannot sign now.
    struct Unavailable: Error, Sendable, CustomStringConvertible {
        enum Reason: String, Sendable {
            /// The certificate's serial is on the CRL.
            case revoked = "revoked-certificate"
            /// Past the certificate's (or its chain's) notAfter.
            case expired = "expired-certificate"
            /// Before its notBefore.
            case notYetValid = "not-yet-valid-certificate"
            /// It no longer chains to the alliance root (the root was replaced), or cannot be read.
            case untrusted = "untrusted-certificate"
            /// No key for this participant on this node.
            case noKey = "no-signing-key"
        }
        var participant: String
        var reason: Reason
        var serial: String?

        var description: String {
            let certificate = serial.map { "signing certificate \($0)" } ?? "signing certificate"
            switch reason {
            case .revoked: return "\(participant)'s \(certificate) is revoked"
            case .expired: return "\(participant)'s \(certificate) has expired"
            case .notYetValid: return "\(participant)'s \(certificate) is not valid yet"
            case .untrusted: return "\(participant)'s \(certificate) is not trusted by the alliance root"
            case .noKey: return "\(participant) has no signing key on this node"
            }
        }
    }

    /// A participant's certificate as the health check and the metrics report it.
    struct Status: Sendable {
        var participant: String
        /// The signer as loaded (its certificate is what the status is about).
        var signer: Signer
        var serial: String { signer.certificate.serial }
        var notAfter: Date { signer.certificate.notAfter }
        /// nil while the certificate may be used.
        var unavailable: Unavailable.Reason?
    }

    private struct State {
        var signers: [String: Signer]
        var trust: TrustStore
    }

    let pki: PKIDirectory
    let participants: [String]
    /// crl.pem, ca.cert.pem and each office's key and certificate.
    private let files: FileChangeCheck
    private let state: Mutex<State>

    init(pki: PKIDirectory, participants: [String], recheckInterval: Duration = .seconds(1)) throws {
        self.pki = pki
        self.participants = participants
        var paths = [pki.crlPath, pki.caCertificatePath]
        for id in participants { paths += [pki.officeCertificatePath(id), pki.officeKeyPath(id)] }
        let stamps = FileChangeCheck.stamps(of: paths)
        let (loaded, read) = try Self.load(pki: pki, participants: participants, previous: nil, stamps: stamps)
        state = Mutex(loaded)
        files = FileChangeCheck(paths: paths, interval: recheckInterval, recorded: read)
    }

    /// The trust store with the current CRL (re-read when `crl.pem` changed).
    var trust: TrustStore {
        refreshIfDue()
        return state.withLock { $0.trust }
    }

    /// `participant`'s signer if its certificate may sign at `time`; otherwise why not.
    func signer(for participant: String, at time: Date = Date()) throws(Unavailable) -> Signer {
        refreshIfDue()
        let (signer, trust) = state.withLock { ($0.signers[participant], $0.trust) }
        guard let signer else { throw Unavailable(participant: participant, reason: .noKey) }
        if let reason = Self.check(signer, trust: trust, at: time) {
            throw Unavailable(participant: participant, reason: reason, serial: signer.certificate.serial)
        }
        return signer
    }

    /// Every hosted participant's certificate, for `/healthz`, the metrics and the expiry warnings.
    func statuses(at time: Date = Date()) -> [Status] {
        refreshIfDue()
        let (signers, trust) = state.withLock { ($0.signers, $0.trust) }
        return participants.compactMap { id in
            guard let signer = signers[id] else { return nil }
            return Status(participant: id, signer: signer, unavailable: Self.check(signer, trust: trust, at: time))
        }
    }

    /// Re-reads the PKI files when any changed since the last look (at most once per `recheckInterval`).
    /// A file that cannot be read keeps what was loaded before: a half-written CRL never lifts a revocation.
    func refreshIfDue() {
        guard let current = files.changed() else { return }
        read(current)
    }

    /// Re-reads every PKI file now, changed or not (SIGHUP); false when one could not be read
    /// (what was loaded before stays).
    @discardableResult
    func reload() -> Bool {
        read(FileChangeCheck.stamps(of: files.paths))
    }

    /// Reads the PKI files whose times are `current`; false (keeping what was loaded) when one could not be read.
    @discardableResult
    private func read(_ current: [String: Date]) -> Bool {
        let previous = state.withLock { $0.signers }
        guard let (reloaded, read) = try? Self.load(pki: pki, participants: participants, previous: previous, stamps: current)
        else { return false }
        state.withLock { $0 = reloaded }
        files.record(read)
        return true
    }

    private static func check(_ signer: Signer, trust: TrustStore, at time: Date) -> Unavailable.Reason? {
        switch trust.validate(base64Certificate: signer.certificateBase64, at: time) {
        case .success: return nil
        case .failure(let failure):
            switch failure.code {
            case .revokedCertificate: return .revoked
            case .expiredCertificate: return .expired
            case .notYetValidCertificate: return .notYetValid
            default: return .untrusted
            }
        }
    }

    /// Reads the files whose times are `stamps` (taken before reading); returns the state and the
    /// times of what was actually read.
    private static func load(
        pki: PKIDirectory, participants: [String], previous: [String: Signer]?, stamps: [String: Date]
    ) throws -> (State, [String: Date]) {
        var stamps = stamps
        var signers: [String: Signer] = [:]
        for id in participants {
            do {
                signers[id] = try Signer(keyFile: pki.officeKeyPath(id), certificateFile: pki.officeCertificatePath(id))
            } catch where previous != nil {
                // Mid-rewrite by `xgw pki issue --force`: keep the old signer, and forget the files'
                // times so that the next look reads them again.
                signers[id] = previous?[id]
                stamps[pki.officeCertificatePath(id)] = nil
                stamps[pki.officeKeyPath(id)] = nil
            }
        }
        return (State(signers: signers, trust: try pki.trustStore()), stamps)
    }
}
