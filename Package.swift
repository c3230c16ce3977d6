// swift-tools-version:6.0
import PackageDescription

/// Release builds link the Swift runtime statically: plain-CGI mode starts a process per
/// request, and static linking roughly halves start-up (see docs/PERFORMANCE.md).
let package = Package(
    name: "udesk-token-responder",
    products: [
        .executable(name: "token-responder", targets: ["token-responder"]),
        .executable(name: "tokenctl", targets: ["tokenctl"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        // C at the edge: libfcgi and SQLite, each behind a tiny system-library target.
        .systemLibrary(name: "CFastCGI", pkgConfig: "fcgi", providers: [.apt(["libfcgi-dev"])]),
        .systemLibrary(name: "CSQLite", providers: [.apt(["libsqlite3-dev"])]),
        // libcurl (OpenSSL backend) for `tokenctl probe`: setopt/getinfo wrappers only.
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),

        // Pure request handling: no libfcgi, no SQLite, no Foundation.
        .target(name: "TokenCore"),
        // The SQLite-backed token store (read side for the responder, write side for tokenctl).
        .target(
            name: "TokenStore",
            dependencies: ["TokenCore", "CSQLite", .product(name: "Crypto", package: "swift-crypto")]),
        // `tokenctl probe`: Udesk's request over libcurl, and the pure judgement of the answers.
        .target(name: "TokenProbe", dependencies: ["TokenCore", "CCurl"]),
        // libfcgi adapter: socket, worker pool, CGI mode, signals.
        .target(
            name: "FastCGIServer",
            dependencies: [
                "TokenCore", "TokenStore", "CFastCGI",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]),

        .executableTarget(
            name: "token-responder",
            dependencies: [
                "FastCGIServer", "TokenStore", "TokenCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .executableTarget(
            name: "tokenctl",
            dependencies: [
                "TokenStore", "TokenCore", "TokenProbe",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        .testTarget(name: "TokenCoreTests", dependencies: ["TokenCore"]),
        .testTarget(name: "TokenStoreTests", dependencies: ["TokenStore", "TokenCore"]),
        .testTarget(name: "FastCGIServerTests", dependencies: ["FastCGIServer", "CFastCGI"]),
        .testTarget(name: "TokenProbeTests", dependencies: ["TokenProbe"]),
    ],
    swiftLanguageModes: [.v6]
)
