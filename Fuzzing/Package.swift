// swift-tools-version:6.1
import PackageDescription

// libFuzzer targets for every decoder of untrusted input. Built only by scripts/fuzz, with
// `-sanitize=fuzzer,address`: each executable's main.swift hands its test function to libFuzzer's driver
// (`runFuzzer`), so a plain `swift build` of this package does not link; the root package never builds it.
let package = Package(
    name: "bluejay-sidecar-fuzz",
    dependencies: [
        .package(name: "bluejay-sidecar", path: ".."),
    ],
    targets: [
        .target(name: "CLibFuzzer"),
        .target(name: "FuzzSupport", dependencies: ["CLibFuzzer", .product(name: "BluejayDecoders", package: "bluejay-sidecar")]),
        .executableTarget(name: "FuzzSIP", dependencies: [
            "FuzzSupport", .product(name: "BluejayDecoders", package: "bluejay-sidecar"),
        ]),
        .executableTarget(name: "FuzzHEP", dependencies: [
            "FuzzSupport", .product(name: "BluejayDecoders", package: "bluejay-sidecar"),
        ]),
        .executableTarget(name: "FuzzAgentLine", dependencies: [
            "FuzzSupport", .product(name: "BluejayDecoders", package: "bluejay-sidecar"),
        ]),
        .executableTarget(name: "FuzzWebhook", dependencies: [
            "FuzzSupport", .product(name: "BluejayDecoders", package: "bluejay-sidecar"),
        ]),
    ],
    swiftLanguageModes: [.v5]
)
