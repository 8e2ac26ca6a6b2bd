// swift-tools-version:6.1
import PackageDescription

// Data flows one way: transport → SIP parsing → call registry → ledger → outbox → delivery.
// Each library target below holds one stage; BluejaySidecar wires them to sockets and the CLI.
let package = Package(
    name: "bluejay-sidecar",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "bluejay-sidecar", targets: ["bluejay-sidecar"]),
        /// For agents written in Swift: beside swift-nio and swift-log it shares only the sidecar's pure protocol modules.
        .library(name: "BluejaySidecarClient", targets: ["BluejaySidecarClient"]),
        /// The decoders of every untrusted input (SIP and the call events read from it, HEP, agent lines, webhooks), for
        /// the fuzz targets in Fuzzing/.
        .library(name: "BluejayDecoders", targets: [
            "BluejaySIP", "BluejayCalls", "BluejayHEP", "BluejayAgentProtocol", "BluejayWebhook", "BluejayJSON",
        ]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-configuration", from: "1.4.0", traits: ["JSON", "YAML"]),
    ],
    targets: [
        // C libraries, through pkg-config.
        .systemLibrary(name: "COSIP2", pkgConfig: "libosip2", providers: [.apt(["libosip2-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),

        // Stages.
        .target(name: "BluejayJSON"),
        .target(name: "BluejaySIP", dependencies: ["COSIP2"]),
        .target(name: "BluejayAgentProtocol", dependencies: ["BluejayJSON"]),
        .target(name: "BluejayStore", dependencies: [
            "CSQLite", "BluejayJSON", .product(name: "Logging", package: "swift-log"), .product(name: "Metrics", package: "swift-metrics"),
        ]),
        .target(name: "BluejayHEP"),
        .target(name: "BluejayProxy", dependencies: ["BluejaySIP", "BluejayCalls", .product(name: "Logging", package: "swift-log")]),
        .target(name: "BluejayWebhook", dependencies: ["BluejayJSON", .product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "BluejayCalls", dependencies: [
            "BluejaySIP", "BluejayJSON", "BluejayStore",
            .product(name: "Logging", package: "swift-log"), .product(name: "Metrics", package: "swift-metrics"),
        ]),
        .target(name: "BluejayDelivery", dependencies: [
            "CCurl", "BluejayJSON", "BluejayStore", "BluejayAgentProtocol",
            .product(name: "Logging", package: "swift-log"), .product(name: "Metrics", package: "swift-metrics"),
        ]),
        .target(name: "BluejaySidecar", dependencies: [
            "BluejaySIP", "BluejayJSON", "BluejayAgentProtocol", "BluejayStore", "BluejayCalls", "BluejayDelivery",
            "BluejayWebhook", "BluejayHEP", "BluejayProxy",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "Configuration", package: "swift-configuration"),
        ]),
        .target(name: "BluejaySidecarClient", dependencies: [
            "BluejayJSON", "BluejayAgentProtocol",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // mimalloc replaces glibc's malloc for the whole process (README "Performance": the SIP loop spent a
        // fifth of its time in glibc's allocator under libosip2's small allocations); the library targets and
        // their tests, sanitizers included, keep the system allocator.
        .executableTarget(name: "bluejay-sidecar", dependencies: [
            "BluejaySidecar", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], linkerSettings: [.linkedLibrary("mimalloc", .when(platforms: [.linux]))]),
        /// bench/run's parser-overhead loop (BluejaySIP under callgrind, beside bench/tools/osip-parse.c).
        .executableTarget(name: "bluejay-parse-bench", dependencies: ["BluejaySIP"]),

        // What the unit tests share: validation of bodies against Bluejay's schema, a manual clock, the kernel's thread name.
        .target(name: "BluejayTestSupport", dependencies: ["BluejayCalls"], path: "Tests/BluejayTestSupport"),

        // Unit tests, one per stage. End-to-end tests against the real binary live in Tests/integration (pytest).
        .testTarget(name: "BluejayJSONTests", dependencies: ["BluejayJSON"]),
        .testTarget(name: "BluejaySIPTests", dependencies: ["BluejaySIP"], resources: [.copy("Fixtures")]),
        .testTarget(name: "BluejayAgentProtocolTests", dependencies: ["BluejayAgentProtocol", "BluejayTestSupport"]),
        .testTarget(name: "BluejayStoreTests", dependencies: ["BluejayStore", "BluejayTestSupport"]),
        .testTarget(name: "BluejaySidecarTests", dependencies: [
            "BluejaySidecar", "BluejayStore",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        .testTarget(name: "BluejayCallsTests", dependencies: ["BluejayCalls", "BluejayTestSupport"]),
        .testTarget(name: "BluejaySidecarClientTests", dependencies: [
            "BluejaySidecarClient", .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "BluejayHEPTests", dependencies: ["BluejayHEP"]),
        .testTarget(name: "BluejayProxyTests", dependencies: ["BluejayProxy", "BluejayCalls", "BluejaySIP", "BluejayTestSupport"]),
        .testTarget(name: "BluejayWebhookTests", dependencies: ["BluejayWebhook", "BluejayTestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "BluejayDeliveryTests", dependencies: [
            "BluejayDelivery", "BluejayStore", "BluejayJSON", "BluejayTestSupport",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ]),
    ],
    swiftLanguageModes: [.v5]
)
