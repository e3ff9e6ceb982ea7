import GatewayMapping
import GatewayModel

/// The result of running one fixture.
struct FixtureResult {
    var fixture: Fixture
    var problems: [String]
    var actualRecords: [JSONValue]
    var actualRejections: [Rejection]
    var seconds: Double
    var passed: Bool { problems.isEmpty }
}
