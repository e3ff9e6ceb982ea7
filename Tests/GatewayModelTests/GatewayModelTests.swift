import Testing
@testable import GatewayModel
