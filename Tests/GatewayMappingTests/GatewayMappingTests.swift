import Testing
@testable import GatewayMapping
