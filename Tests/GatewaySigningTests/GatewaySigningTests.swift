import Testing
@testable import GatewaySigning
