import Testing
import TestSupport

/// TestSupport's gate around the test run's PostgreSQL server, on an instance of its own: an
/// `exclusive` run (a test that stops the server) waits for the `shared` runs under way, and a
/// `shared` run that comes while an `exclusive` one waits goes after it.
@Suite struct PostgresServerGateTests {
    @Test func anExclusiveRunWaitsForTheSharedRunsAndHoldsLaterOnesOff() async throws {
        let gate = PostgresServerGate()
        let events = Locked<[String]>([])
        let entered = AsyncStream<Void>.makeStream()
        let release = AsyncStream<Void>.makeStream()
        let first = Task {
            await gate.shared {
                events.withLock { $0.append("shared 1") }
                entered.continuation.yield()
                for await _ in release.stream { break }
                events.withLock { $0.append("shared 1 ends") }
            }
        }
        for await _ in entered.stream { break }
        let exclusive = Task { await gate.exclusive { events.withLock { $0.append("exclusive") } } }
        // The exclusive run waits before the second shared one asks.
        try await Self.until { gate.waiting == 1 }
        let second = Task { await gate.shared { events.withLock { $0.append("shared 2") } } }
        try await Self.until { gate.waiting == 2 }
        #expect(events.withLock { $0 } == ["shared 1"], "nothing runs while the first shared run holds the exclusive one off")
        release.continuation.yield()
        await first.value
        await exclusive.value
        await second.value
        #expect(events.withLock { $0 } == ["shared 1", "shared 1 ends", "exclusive", "shared 2"])
        #expect(gate.waiting == 0)
    }

    /// Polls `condition` (up to 60 s: a loaded full test run may start a task late).
    static func until(_ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while !condition() {
            guard ContinuousClock.now < deadline else { throw TestFailure("the gate's waiting runs never reached the count") }
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}
