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
        .library(name: "KubeModel", targets: ["KubeModel"]),
        .library(name: "KubeClient", targets: ["KubeClient"]),
        .library(name: "APIServer", targets: ["APIServer"]),
        .library(name: "ServiceProxy", targets: ["ServiceProxy"]),
        .library(name: "Policy", targets: ["Policy"]),
        .library(name: "DNS", targets: ["DNS"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.30.0"),
        .package(url: "https://github.com/apple/swift-nio-http2", from: "1.46.0"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.10.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.0"..<"5.0.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.25.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.10.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.0"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.5.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.0.0"),
    ],
    targets: [
        .target(name: "WeftNet"),
        .target(name: "CWeftLinux"),
        .target(name: "Netlink", dependencies: ["WeftNet", "CWeftLinux"]),
        .target(name: "NFTables", dependencies: ["WeftNet", "Netlink", "CWeftLinux"]),
        .target(name: "NFTablesTesting", dependencies: ["NFTables", "WeftNet"]),
        .target(name: "CNI", dependencies: ["WeftNet", "Netlink", "NFTables", "CWeftLinux"]),
        .executableTarget(name: "weft-cni", dependencies: ["CNI"], linkerSettings: staticStdlib),
        .target(name: "KubeModel", dependencies: ["WeftNet", .product(name: "Yams", package: "Yams")]),
        .target(
            name: "KubeClient",
            dependencies: [
                "KubeModel",
                .product(name: "Yams", package: "Yams"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .target(
            name: "APIServer",
            dependencies: [
                "KubeModel",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(name: "ServiceProxy", dependencies: ["WeftNet", "KubeModel", "NFTables"]),
        .target(name: "DNS", dependencies: ["WeftNet"]),
        .target(name: "Policy", dependencies: ["WeftNet", "KubeModel", "NFTables"]),
        .target(name: "MultiNetwork", dependencies: ["WeftNet", "KubeModel", "CNI"]),
        .target(
            name: "IngressProxy",
            dependencies: [
                "WeftNet", "KubeModel", "PrometheusText",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(name: "PrometheusText"),
        .target(name: "ClusterDNS", dependencies: ["DNS", "WeftNet", "KubeModel"]),
        .target(
            name: "DNSServer",
            dependencies: [
                "DNS", "ClusterDNS", "WeftNet", "KubeModel", "KubeClient", "PrometheusText", "CWeftLinux",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "Lab",
            dependencies: [
                "WeftNet", "Netlink", "CWeftLinux", "NFTables", "KubeModel", "KubeClient", "APIServer",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "Agent",
            dependencies: [
                "WeftNet", "Netlink", "KubeModel", "KubeClient", "ServiceProxy", "NFTables", "PrometheusText", "Policy",
                "CNI", "MultiNetwork",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "PodPrograms",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "weft",
            dependencies: [
                "CNI", "Netlink", "NFTables", "KubeModel", "KubeClient", "APIServer", "PodPrograms", "Agent", "Lab",
                "ServiceProxy", "DNS", "ClusterDNS", "DNSServer", "Policy", "IngressProxy",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(name: "WeftNetTests", dependencies: ["WeftNet"]),
        .testTarget(name: "NetlinkTests", dependencies: ["Netlink"]),
        .testTarget(name: "NFTablesTests", dependencies: ["NFTables", "NFTablesTesting", "Netlink"]),
        .testTarget(name: "DNSTests", dependencies: ["DNS", "WeftNet"]),
        .testTarget(
            name: "PolicyTests",
            dependencies: ["Policy", "KubeModel", "WeftNet", "NFTables", "NFTablesTesting", "Netlink"]),
        .testTarget(name: "ClusterDNSTests", dependencies: ["ClusterDNS", "DNS", "WeftNet", "KubeModel"]),
        .testTarget(name: "DNSServerTests", dependencies: ["DNSServer", "DNS", "WeftNet"]),
        .testTarget(name: "CNITests", dependencies: ["CNI", "NFTablesTesting"]),
        .testTarget(name: "IntegrationTests", dependencies: ["CNI", "Netlink", "NFTables"]),
        .testTarget(name: "KubeModelTests", dependencies: ["KubeModel"]),
        .testTarget(
            name: "MultiNetworkTests",
            dependencies: [
                "MultiNetwork", "KubeModel", "CNI", "WeftNet", "Agent", "APIServer", "KubeClient",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "IngressProxyTests",
            dependencies: [
                "IngressProxy", "KubeModel", "WeftNet",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "LabTests", dependencies: ["Lab", "Netlink", "NFTables", "KubeModel", "KubeClient", "WeftNet"]),
        .testTarget(
            name: "KubeClientTests",
            dependencies: [
                "KubeClient", "APIServer",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .testTarget(
            name: "AgentTests",
            dependencies: [
                "Agent", "Netlink", "KubeModel", "KubeClient", "APIServer", "WeftNet", "Policy", "NFTablesTesting",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "APIServerTests",
            dependencies: [
                "APIServer", "KubeModel", "WeftNet",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .testTarget(name: "PodProgramsTests", dependencies: ["PodPrograms"]),
        .testTarget(
            name: "ServiceProxyTests",
            dependencies: ["ServiceProxy", "KubeModel", "WeftNet", "NFTables", "NFTablesTesting", "Netlink"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
