import Foundation
import GatewaySigning
#if canImport(Glibc)
import Glibc
#endif

/// `openssl speed` run as a child process: the raw per-signature rate of the command line tool on
/// this machine, one core, as the issue 18 goals compare against ("the raw per-record SM2 sign
/// rate of `openssl speed` in the same run").
enum OpenSSLSpeed {
    /// `openssl speed`'s name for the algorithm.
    static func name(_ algorithm: SignatureAlgorithm) -> String {
        switch algorithm {
        case .sm2sm3: "sm2"
        case .es256: "ecdsap256"
        case .ed25519: "ed25519"
        }
    }

    /// Signatures per second from `openssl speed -seconds N <alg>`; nil when openssl is missing or
    /// its output has no result line.
    ///
    /// Spawned with an empty signal mask and default handlers: `openssl speed` ends each run on
    /// SIGALRM, and a child of a Swift process inherits the mask of the spawning thread, on which
    /// SIGALRM may be blocked (then the run never ends; Foundation's `Process` does not reset it).
    static func signRate(_ algorithm: SignatureAlgorithm, seconds: Int) -> Double? {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("xgw-openssl-speed-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: output) }
        let arguments = ["openssl", "speed", "-seconds", String(seconds), name(algorithm)]
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        guard posix_spawnp(&pid, "openssl", &actions, &attributes, &argv, environ) == 0 else { return nil }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        guard let data = FileManager.default.contents(atPath: output) else { return nil }
        return parse(String(decoding: data, as: UTF8.self))
    }

    /// The sign/s column of the last result line (`256 bits SM2 (CurveSM2)   0.0009s   0.0007s   1164.9   1356.4`).
    static func parse(_ output: String) -> Double? {
        for line in output.split(separator: "\n").reversed() where line.contains(" bits ") {
            let numbers = line.split(separator: " ").compactMap { Double($0) }
            if numbers.count >= 3 { return numbers[numbers.count - 2] }
        }
        return nil
    }
}
