import ArgumentParser
import CommandSupport
import FastCGIServer
import Glibc
import Logging
import TokenCore
import TokenStore

/// The responder's option values, merged with their environment fallbacks into a
/// `ServerConfiguration`. A flag wins over its environment variable; an invalid value from
/// either is a usage error. Plain CGI builds it empty and takes everything from the environment.
struct Settings {
    var store: String?
    var socket: String?
    var socketMode: String?
    var threads: Int?
    var unknown: HandlerConfiguration.UnknownNumberPolicy?
    var maxBody: Int?
    var countryCode: Int?
    var logLevel: Logger.Level?
    var logFile: String?
    var keyFile: String?
    var maxSkew: Int64?
    var mintKeyFile: String?
    var requestTimeout: Double?
    var mintMaxRows: Int?
    var scheduling: ServerConfiguration.Scheduling?
    var storeTimeout: String?
    var fallbackStore: String?
    var allowFrom: String?

    /// The configuration; opens the log file (`--log-file`, `TOKEN_LOG_FILE`) first, so that
    /// every line after it, warnings about the other settings included, goes there.
    func configuration() throws(ValidationError) -> ServerConfiguration {
        typealias Fallback = EnvironmentFallback
        let logFile = self.logFile ?? Fallback.variable("TOKEN_LOG_FILE")
        if let logFile {
            do {
                try ResponderLogging.useLogFile(logFile)
            } catch {
                throw ValidationError("--log-file / TOKEN_LOG_FILE: \(error.description)")
            }
        }
        var handler = HandlerConfiguration()
        if let value = try Fallback.value(
            maxBody, "TOKEN_MAX_BODY", option: "--max-body", rule: "a byte count from 1 to 1048576",
            isValid: { $0 > 0 && $0 <= 1 << 20 })
        {
            handler.maxBodyBytes = value
        }
        if let policy = try Fallback.value(unknown, "TOKEN_UNKNOWN", option: "--unknown") {
            handler.unknownNumbers = policy
        }
        handler.normaliser = try PhoneNumberNormaliser.fromCommandLine(countryCode: countryCode)
        var configuration = ServerConfiguration(store: try StoreLocation.fromCommandLine(store), handler: handler)
        configuration.logFile = logFile
        configuration.version = ProductVersion.current
        if let text = socket ?? Fallback.variable("TOKEN_SOCKET") {
            do {
                configuration.socket = try ListenAddress(text)
            } catch {
                throw ValidationError(error.description)
            }
        }
        if let text = allowFrom ?? Fallback.variable("TOKEN_ALLOW_FROM") ?? Fallback.variable("FCGI_WEB_SERVER_ADDRS") {
            do {
                configuration.allowList = try AllowList(text)
            } catch {
                throw ValidationError("--allow-from / TOKEN_ALLOW_FROM / FCGI_WEB_SERVER_ADDRS: \(error.description)")
            }
        }
        if let text = try Fallback.value(
            socketMode, "TOKEN_SOCKET_MODE", option: "--socket-mode", rule: "octal like 0660",
            isValid: { mode_t($0, radix: 8).map { $0 <= 0o777 } ?? false })
        {
            configuration.socketMode = mode_t(text, radix: 8)!
        }
        if let value = try Fallback.value(
            threads, "TOKEN_THREADS", option: "--threads", rule: "from 1 to 1024", isValid: { (1...1024).contains($0) })
        {
            configuration.threads = value
        }
        if let level = try Fallback.value(logLevel, "TOKEN_LOG_LEVEL", option: "--log-level") {
            configuration.logLevel = level
        }
        if let path = keyFile ?? Fallback.variable("TOKEN_KEY_FILE") {
            do {
                configuration.handler.sharedKey = SharedKey(try SecretFile.read(path))
            } catch {
                throw ValidationError(error.description)
            }
            if SecretFile.isWorldReadable(path) {
                ResponderLogging.makeLogger(level: .warning).warning(
                    "key file \(path) is readable by every user; chmod 0640 it")
            }
        }
        configuration.handler.maxSkewSeconds = try Fallback.value(
            maxSkew, "TOKEN_MAX_SKEW", option: "--max-skew", rule: "a number of seconds above 0", isValid: { $0 > 0 })
        if let policy = try Fallback.value(scheduling, "TOKEN_SCHEDULING", option: "--scheduling") {
            configuration.scheduling = policy
        }
        configuration.mintKeyFile = mintKeyFile ?? Fallback.variable("TOKEN_MINT_KEY_FILE")
        if configuration.handler.unknownNumbers == .mint && configuration.mintKeyFile == nil {
            throw ValidationError("--unknown mint needs --mint-key-file PATH (or TOKEN_MINT_KEY_FILE)")
        }
        if let path = configuration.mintKeyFile, configuration.handler.unknownNumbers == .mint,
            SecretFile.isWorldReadable(path)
        {
            ResponderLogging.makeLogger(level: .warning).warning(
                "mint key file \(path) is readable by every user, who could then predict minted tokens; chmod 0640 it")
        }
        if let seconds = try Fallback.value(
            requestTimeout, "TOKEN_REQUEST_TIMEOUT", option: "--request-timeout",
            rule: "seconds above 0 and at most 60 (e.g. 2 or 0.5)", isValid: { $0.isFinite && $0 > 0 && $0 <= 60 })
        {
            configuration.requestTimeoutMicroseconds = Int64(seconds * 1_000_000)
        }
        if let value = try Fallback.value(
            mintMaxRows, "TOKEN_MINT_MAX_ROWS", option: "--mint-max-rows", rule: "a row count of 0 or more",
            isValid: { $0 >= 0 })
        {
            configuration.mintMaxRows = value
        }
        if let text = try Fallback.value(
            storeTimeout, "TOKEN_STORE_TIMEOUT", option: "--store-timeout",
            rule: "milliseconds from 10 to 60000, or with a unit (250ms, 0.25s)",
            isValid: { Self.milliseconds($0).map { (10...60_000).contains($0) } ?? false })
        {
            configuration.storeSettings.storeTimeoutMicroseconds = Int64(Self.milliseconds(text)! * 1000)
        }
        configuration.fallbackStore = fallbackStore ?? Fallback.variable("TOKEN_FALLBACK_STORE")
        if let fallback = configuration.fallbackStore,
            StoreLocation(fallback).map({ if case .sqlite = $0 { false } else { true } }) ?? true
        {
            throw ValidationError(
                "--fallback-store / TOKEN_FALLBACK_STORE must be the path of a SQLite store, got '\(StoreLocation(fallback)?.description ?? fallback)'"
            )
        }
        return configuration
    }

    /// `250`, `250ms` or `0.25s` as milliseconds; nil for anything else.
    static func milliseconds(_ text: String) -> Double? {
        let (number, scale): (Substring, Double) =
            text.hasSuffix("ms")
            ? (text.dropLast(2), 1) : text.hasSuffix("s") ? (text.dropLast(), 1000) : (text[...], 1)
        guard let value = Double(number), value.isFinite, value >= 0 else { return nil }
        return value * scale
    }
}

// The enumerated options parse as their raw values, with the choices listed in --help.
extension HandlerConfiguration.UnknownNumberPolicy: ExpressibleByArgument {}
extension ServerConfiguration.Scheduling: ExpressibleByArgument {}
extension Logger.Level: @retroactive ExpressibleByArgument {
    /// Any case: `WARNING` as well as `warning`.
    public init?(argument: String) {
        self.init(rawValue: argument.lowercased())
    }
}
