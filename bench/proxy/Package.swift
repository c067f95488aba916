// swift-tools-version:6.1
import PackageDescription

// The service-proxy benchmark: its own package so the root manifest stays free of benchmark targets.
// `sudo bench/proxy/run.sh` builds it in release mode and runs it (see bench/README.md).
let package = Package(
    name: "proxy-bench",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "weft", path: "../..")
    ],
    targets: [
        .executableTarget(
            name: "proxy-bench",
            dependencies: [
                .product(name: "ServiceProxy", package: "weft"),
                .product(name: "NFTables", package: "weft"),
                .product(name: "NFTablesTesting", package: "weft"),
                .product(name: "KubeModel", package: "weft"),
                .product(name: "WeftNet", package: "weft"),
            ]
        )
    ],
    swiftLanguageModes: [.v6]
)
