// swift-tools-version:6.0
// Measures what the store library costs a plain-CGI request (process start, open, one lookup):
// SQLite's C API directly (what the product uses) against GRDB. See bench/store-choice.sh.
import PackageDescription

let package = Package(
    name: "store-choice",
    dependencies: [.package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0")],
    targets: [
        .systemLibrary(name: "CSQLiteBench", path: "Sources/CSQLiteBench"),
        .executableTarget(name: "raw-lookup", dependencies: ["CSQLiteBench"]),
        .executableTarget(name: "grdb-lookup", dependencies: [.product(name: "GRDB", package: "GRDB.swift")]),
    ],
    swiftLanguageModes: [.v6]
)
