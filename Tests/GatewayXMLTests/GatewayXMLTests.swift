import Testing
@testable import GatewayXML
