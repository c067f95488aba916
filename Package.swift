// swift-tools-version:6.1
import PackageDescription

// weft-cni runs on nodes that have no Swift runtime and is started once per pod:
// link the Swift runtime and Foundation statically so it starts in a few milliseconds.
// FoundationEssentials' static archive needs its two helper archives named explicitly.
let staticStdlib: [LinkerSetting] = [
    .unsafeFlags(["-static-stdlib"]),
    .linkedLibrary("_FoundationCollections"),
    .linkedLibrary("_FoundationCShims"),
]

let package = Package(
    name: "weft",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "weft", targets: ["weft"]),
        .executable(name: "weft-cni", targets: ["weft-cni"]),
        .library(name: "WeftNet", targets: ["WeftNet"]),
        .library(name: "Netlink", targets: ["Netlink"]),
        .library(name: "NFTables", targets: ["NFTables"]),
        .library(name: "NFTablesTesting", targets: ["NFTablesTesting"]),
        .library(name: "CNI", targets: ["CNI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0")
    ],
    targets: [
        .target(name: "WeftNet"),
        .target(name: "CWeftLinux"),
        .target(name: "Netlink", dependencies: ["WeftNet", "CWeftLinux"]),
        .target(name: "NFTables", dependencies: ["WeftNet", "CWeftLinux"]),
        .target(name: "NFTablesTesting", dependencies: ["NFTables"]),
        .target(name: "CNI", dependencies: ["WeftNet", "Netlink", "NFTables", "CWeftLinux"]),
        .executableTarget(name: "weft-cni", dependencies: ["CNI"], linkerSettings: staticStdlib),
        .executableTarget(
            name: "weft",
            dependencies: [
                "CNI", "Netlink", "NFTables",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "WeftNetTests", dependencies: ["WeftNet"]),
        .testTarget(name: "NetlinkTests", dependencies: ["Netlink"]),
        .testTarget(name: "NFTablesTests", dependencies: ["NFTables", "NFTablesTesting"]),
        .testTarget(name: "CNITests", dependencies: ["CNI", "NFTablesTesting"]),
        .testTarget(name: "IntegrationTests", dependencies: ["CNI", "Netlink", "NFTables"]),
    ],
    swiftLanguageModes: [.v6]
)
