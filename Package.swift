// swift-tools-version:6.0
import PackageDescription

/// Release builds link the Swift runtime statically: plain-CGI mode starts a process per
/// request, and static linking roughly halves start-up (see docs/PERFORMANCE.md).
/// The server's worker loop is generic over the store engine; the executable names the engine
/// (through `StoreLocation.withBackend`), and cross-module optimisation lets it specialise the
/// loop and the reader's calls for that engine instead of going through witness tables.
let crossModule: [SwiftSetting] = [.unsafeFlags(["-cross-module-optimization"], .when(configuration: .release))]

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
        // `tokenctl import` of .xlsx workbooks (WorkbookReader, linked by tokenctl only).
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.20"),
    ],
    targets: [
        // C at the edge: libfcgi and SQLite, each behind a tiny system-library target.
        .systemLibrary(name: "CFastCGI", pkgConfig: "fcgi", providers: [.apt(["libfcgi-dev"])]),
        .systemLibrary(name: "CSQLite", providers: [.apt(["libsqlite3-dev"])]),
        // libpq is loaded with dlopen on first use, not linked (see its header); libpq-dev for the header.
        .target(name: "CLibPQ"),
        // libcurl (OpenSSL backend) for `tokenctl probe`: setopt/getinfo wrappers only.
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),

        // Pure request handling and the rules every part shares (numbers, masking, JSON):
        // no libfcgi, no SQLite, no Foundation.
        .target(name: "TokenCore"),
        // The store boundary, engine-neutral: the StoreBackend / StoreReader / StoreWriter /
        // StoreInspector protocols, StoreLocation, and what every engine shares (export writer,
        // verify rules, minting, atomic output files; the import rules are in TokenImport).
        .target(
            name: "TokenStore",
            dependencies: ["TokenCore", .product(name: "Crypto", package: "swift-crypto")]),
        // `tokenctl import`: reading CSV/TSV (iconv for GB18030), the column flags, the import
        // rules and report. Only tokenctl links it: the responder's start-up does not pay for it.
        .target(name: "TokenImport", dependencies: ["TokenStore", "TokenCore"]),
        // SQLite, the default engine: the only target that links CSQLite.
        .target(name: "SQLiteStore", dependencies: ["TokenStore", "TokenCore", "CSQLite"], swiftSettings: crossModule),
        // PostgreSQL, for a store shared by several nodes: the only target that links libpq
        // (it writes SQLite files too, for `tokenctl backup`).
        .target(
            name: "PostgresStore", dependencies: ["TokenStore", "TokenCore", "SQLiteStore", "CLibPQ"],
            swiftSettings: crossModule),
        // Picks the engine for a StoreLocation; the one place that names the implementations.
        .target(name: "StoreBackends", dependencies: ["TokenStore", "SQLiteStore", "PostgresStore"]),
        // `tokenctl probe`: Udesk's request over libcurl, and the pure judgement of the answers.
        .target(name: "TokenProbe", dependencies: ["TokenCore", "CCurl"]),
        // libfcgi adapter: socket, worker pool, CGI mode, signals; generic over the StoreBackend.
        .target(
            name: "FastCGIServer",
            dependencies: [
                "TokenCore", "TokenStore", "CFastCGI",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: crossModule),
        // What both executables share on the command line: environment fallbacks, --store,
        // --country-code, the version.
        .target(
            name: "CommandSupport",
            dependencies: [
                "TokenCore", "TokenStore", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            plugins: ["ProductVersionPlugin"]),
        // The version from its one source (debian/changelog, or a git describe), on every build.
        .plugin(name: "ProductVersionPlugin", capability: .buildTool()),

        // `tokenctl import` of .xlsx workbooks: ZIPFoundation, Foundation and FoundationXML's
        // streaming XMLParser. Only tokenctl depends on it: the responder links none of them.
        .target(
            name: "WorkbookReader", dependencies: [.product(name: "ZIPFoundation", package: "ZIPFoundation")]),

        .executableTarget(
            name: "token-responder",
            dependencies: [
                "FastCGIServer", "StoreBackends", "TokenStore", "TokenCore", "CommandSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .executableTarget(
            name: "tokenctl",
            dependencies: [
                "StoreBackends", "TokenStore", "TokenImport", "TokenCore", "TokenProbe", "CommandSupport",
                "WorkbookReader",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        .testTarget(name: "TokenCoreTests", dependencies: ["TokenCore"]),
        .testTarget(name: "TokenStoreTests", dependencies: ["TokenStore", "TokenImport", "TokenCore"]),
        .testTarget(
            name: "SQLiteStoreTests",
            dependencies: ["SQLiteStore", "TokenStore", "TokenImport", "TokenCore", "CSQLite"]),
        .testTarget(
            name: "FastCGIServerTests", dependencies: ["FastCGIServer", "TokenStore", "TokenCore", "CFastCGI"]),
        .testTarget(name: "TokenProbeTests", dependencies: ["TokenProbe", "TokenCore"]),
        .testTarget(name: "WorkbookReaderTests", dependencies: ["WorkbookReader"]),
    ],
    swiftLanguageModes: [.v6]
)
