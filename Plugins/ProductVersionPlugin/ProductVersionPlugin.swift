import Foundation
import PackagePlugin

/// Gives `CommandSupport` the version both executables report, from its one source
/// (`debian/changelog`, or a git describe for development builds): runs
/// `scripts/product-version.sh` before every build, which rewrites the generated file only when
/// the version changed, so an unchanged version costs no recompilation.
@main
struct ProductVersionPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let output = context.pluginWorkDirectoryURL.appending(path: "Generated")
        let script = context.package.directoryURL.appending(path: "scripts/product-version.sh")
        var environment: [String: String] = [:]
        // debian/rules sets it to the version being packaged.
        if let version = ProcessInfo.processInfo.environment["TOKEN_VERSION"] {
            environment["TOKEN_VERSION"] = version
        }
        return [
            .prebuildCommand(
                displayName: "Product version",
                executable: URL(fileURLWithPath: "/bin/sh"),
                arguments: [
                    script.path(percentEncoded: false), "--swift",
                    output.appending(path: "GeneratedProductVersion.swift").path(percentEncoded: false),
                ],
                environment: environment,
                outputFilesDirectory: output)
        ]
    }
}
