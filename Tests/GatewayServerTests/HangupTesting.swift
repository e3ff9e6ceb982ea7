import Foundation

/// What the SIGHUP reload tests (one-node and node mode) share: a route rule rewritten in a copy of
/// routes.yaml, and submissions sent while SIGHUP arrives several times.
enum HangupTesting {
    /// Rewrites the traffic rule of `submitter` in `routesFile` to send to `to` instead of `from`;
    /// returns the new text (nil when the rule is not in the file).
    static func rerouteTraffic(in routesFile: URL, submitter: String, from: String, to: String) throws -> String? {
        let original = try String(contentsOf: routesFile, encoding: .utf8)
        let rule = "match: { kind: traffic-violation, submitter: [\(submitter)] }\n    to: "
        let changed = original.replacingOccurrences(of: rule + "[\(from)]", with: rule + "[\(to)]")
        guard changed != original else { return nil }
        try changed.write(to: routesFile, atomically: true, encoding: .utf8)
        return changed
    }

    /// The statuses of `count` submissions (`submit(i)`) sent at once while the server `pid` gets
    /// five SIGHUPs 30 ms apart.
    static func statusesDuringHangups(pid: Int32, count: Int, _ submit: @escaping @Sendable (Int) async throws -> Int) async throws -> [Int] {
        try await withThrowingTaskGroup(of: Int?.self) { group in
            for i in 0..<count { group.addTask { try await submit(i) } }
            group.addTask {
                for _ in 0..<5 {
                    kill(pid, SIGHUP)
                    try await Task.sleep(for: .milliseconds(30))
                }
                return nil
            }
            return try await group.reduce(into: [Int]()) { if let status = $1 { $0.append(status) } }
        }
    }
}
