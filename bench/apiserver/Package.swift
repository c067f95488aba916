// swift-tools-version:6.1
import PackageDescription

// The API server benchmark: its own package so the root manifest stays free of benchmark targets.
// Build and run in release mode: `swift run -c release apiserver-bench` (see bench/README.md).
let package = Package(
    name: "apiserver-bench",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "weft", path: "../..")
    ],
    targets: [
        .executableTarget(
            name: "apiserver-bench",
            dependencies: [
                .product(name: "APIServer", package: "weft"),
                .product(name: "KubeClient", package: "weft"),
                .product(name: "KubeModel", package: "weft"),
            ]
        )
    ],
    swiftLanguageModes: [.v6]
)
