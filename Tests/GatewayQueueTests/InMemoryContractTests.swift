import GatewayQueue
import GatewayQueueContract
import Testing

@Suite("Queue contract: in-memory driver")
struct InMemoryContractTests {
    @Test(arguments: QueueContract.allCases)
    func contract(_ rule: QueueContract) async throws {
        try await rule.run { configuration in InMemoryMessageQueue(configuration: configuration) }
    }
}
