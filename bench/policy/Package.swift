// swift-tools-version:6.1
import PackageDescription

// The network-policy benchmark: its own package so the root manifest stays free of benchmark targets.
// `sudo bench/policy/run.sh` builds it in release mode and runs it (see bench/README.md).
let package = Package(
    name: "policy-bench",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "weft", path: "../..")
    ],
    targets: [
        .executableTarget(
            name: "policy-bench",
            dependencies: [
                .product(name: "Policy", package: "weft"),
                .product(name: "NFTables", package: "weft"),
                .product(name: "NFTablesTesting", package: "weft"),
                .product(name: "KubeModel", package: "weft"),
                .product(name: "WeftNet", package: "weft"),
            ]
        )
    ],
    swiftLanguageModes: [.v6]
)
