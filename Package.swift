// swift-tools-version:6.0
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "xgw",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "xgw", targets: ["xgw"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.4.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.0.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.21.0"),
        // The differential queue test (random operation sequences, each real driver against the in-memory oracle).
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.24.0"),
        // Federation (issue 13): mutual TLS between nodes (swift-nio-ssl through HummingbirdTLS), the node client.
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.30.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.25.0"),
        // The retention archive's gzip members (issue 16 item 2).
        .package(url: "https://github.com/adam-fowler/compress-nio", from: "1.5.0"),
        // The ops console's server-rendered pages (issue 15).
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
    ],
    targets: [
        .systemLibrary(
            name: "CLibXML2",
            pkgConfig: "libxml-2.0",
            providers: [.apt(["libxml2-dev"]), .brew(["libxml2"])]
        ),
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"]), .brew(["openssl@3"])]
        ),
        .target(name: "GatewayModel", swiftSettings: strict),
        .target(name: "GatewayXML", dependencies: ["CLibXML2"], swiftSettings: strict),
        .target(
            name: "GatewayMapping",
            dependencies: ["GatewayModel", "GatewayXML", .product(name: "Yams", package: "Yams")],
            swiftSettings: strict
        ),
        .target(name: "GatewaySigning", dependencies: ["GatewayModel", "COpenSSL"], swiftSettings: strict),
        .target(name: "GatewayQueue", swiftSettings: strict),
        .target(
            name: "GatewayQueueSQLite",
            dependencies: [
                "GatewayQueue", .product(name: "GRDB", package: "GRDB.swift"),
                // RawStatement calls SQLite's C API directly on GRDB's cached statements.
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ],
            swiftSettings: strict
        ),
        // The PostgreSQL driver (issue 7): several gateway nodes on one database.
        .target(
            name: "GatewayQueuePostgres",
            dependencies: [
                "GatewayQueue", .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // The driver-agnostic contract suite: every queue driver's tests run it unchanged.
        // It also holds the differential test's operations and their generator (PropertyBased).
        .target(
            name: "GatewayQueueContract",
            dependencies: ["GatewayQueue", .product(name: "PropertyBased", package: "swift-property-based")],
            swiftSettings: strict
        ),
        // The child the queue crash test kills with SIGKILL (Tests/GatewayQueueSQLiteTests/CrashTests.swift).
        .executableTarget(
            name: "xgw-queue-crash-helper", dependencies: ["GatewayQueue", "GatewayQueueSQLite"], swiftSettings: strict),
        // xgw serve: the HTTP API over translate + sign + route + queue (issue 6).
        .target(
            name: "GatewayServer",
            dependencies: [
                "GatewayModel", "GatewayMapping", "GatewaySigning", "GatewayQueue", "GatewayQueueSQLite", "GatewayQueuePostgres",
                "GatewayFederation", .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Yams", package: "Yams"),
                // The request-timeout channel handler (issue 17).
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                // The node-to-node listener (mutual TLS, pinning) and the forwarders' client (issue 13).
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "CompressNIO", package: "compress-nio"),
                // The ops console (Sources/GatewayServer/Console, issue 15): HTML from Mustache templates.
                .product(name: "Mustache", package: "swift-mustache"),
            ],
            swiftSettings: strict
        ),
        // Federation (issue 13): the pure logic of nodes — the signed directory and its acceptance.
        .target(name: "GatewayFederation", dependencies: ["GatewayModel", "GatewaySigning"], swiftSettings: strict),
        // What `xgw bench …` measures; COpenSSL for the raw EVP baseline next to envelope sealing.
        .target(
            name: "GatewayBenchmarks",
            dependencies: [
                "GatewayModel", "GatewayXML", "GatewayMapping", "GatewaySigning",
                "GatewayQueue", "GatewayQueueSQLite", "GatewayQueuePostgres", "GatewayServer", "COpenSSL",
                // bench translate: libxml2 alone parsing the documents translation reads, through the same C module.
                "CLibXML2",
                // bench federation: a signed directory, and gateways run in this process.
                "GatewayFederation", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"), .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "xgw",
            dependencies: [
                "GatewayModel", "GatewayMapping", "GatewaySigning", "GatewayQueueSQLite", "GatewayServer", "GatewayBenchmarks",
                // xgw directory: the signed directory (GatewayFederation) from its SOURCE.yaml (Yams).
                "GatewayFederation", .product(name: "Yams", package: "Yams"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // Helpers shared by test targets: built executables, `xgw serve` as a child process, an HTTP client.
        .target(
            name: "TestSupport",
            // AsyncHTTPClient: the tests' HTTP client (URLSession's could hang under load).
            dependencies: ["GatewayModel", .product(name: "AsyncHTTPClient", package: "async-http-client")],
            path: "Tests/TestSupport", swiftSettings: strict
        ),
        .testTarget(name: "GatewayModelTests", dependencies: ["GatewayModel"], swiftSettings: strict),
        .testTarget(name: "GatewayXMLTests", dependencies: ["GatewayXML"], swiftSettings: strict),
        .testTarget(name: "GatewayMappingTests", dependencies: ["GatewayMapping", "GatewayModel"], swiftSettings: strict),
        .testTarget(name: "GatewaySigningTests", dependencies: ["GatewaySigning", "GatewayModel"], swiftSettings: strict),
        .testTarget(name: "GatewayQueueTests", dependencies: ["GatewayQueue", "GatewayQueueContract"], swiftSettings: strict),
        .testTarget(
            name: "GatewayQueueSQLiteTests",
            dependencies: ["GatewayQueue", "GatewayQueueSQLite", "GatewayQueueContract", "TestSupport", "xgw-queue-crash-helper"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "GatewayQueuePostgresTests",
            // xgw: the multi-node test runs two `xgw serve` processes on one database.
            dependencies: ["GatewayModel", "GatewayQueue", "GatewayQueuePostgres", "GatewayQueueContract", "TestSupport", "xgw"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "GatewayFederationTests",
            // xgw: `xgw directory sign | verify | show` run as a child process.
            dependencies: ["GatewayFederation", "GatewaySigning", "GatewayModel", "TestSupport", "xgw"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "GatewayServerTests",
            // HummingbirdTesting: the API tests run the application buildApplication makes (.router, .live);
            // xgw: the tests that need a real process (SIGKILL, SIGTERM, SIGINT) run `xgw serve`.
            dependencies: [
                "GatewayServer", "GatewaySigning", "GatewayModel", "GatewayFederation", "TestSupport", "xgw", .product(name: "Yams", package: "Yams"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: strict
        ),
    ],
    swiftLanguageModes: [.v6]
)
