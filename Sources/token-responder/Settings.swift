import ArgumentParser
import FastCGIServer
import Glibc
import Logging
import TokenCore

/// Flag values merged with their environment fallbacks into a `ServerConfiguration`.
/// A flag wins over its environment variable; an invalid value from either is a usage error.
struct Settings {
    var store: String?
    var socket: String?
    var socketMode: String?
    var threads: Int?
    var unknown: String?
    var maxBody: Int?
    var countryCode: Int?
    var logLevel: String?
    var keyFile: String?
    var maxSkew: Int?
    var mintKeyFile: String?
    var scheduling: String?
    var mintMaxRows: Int?
    var requestTimeout: String?

    func configuration() throws(ValidationError) -> ServerConfiguration {
        guard let storePath = store ?? env("TOKEN_STORE"), !storePath.isEmpty else {
            throw ValidationError("no token store given: use --store PATH or set TOKEN_STORE")
        }
        var handler = HandlerConfiguration()
        if let text = maxBody.map(String.init) ?? env("TOKEN_MAX_BODY") {
            guard let value = Int(text), value > 0, value <= 1 << 20 else {
                throw ValidationError("--max-body / TOKEN_MAX_BODY must be a byte count from 1 to 1048576, got '\(text)'")
            }
            handler.maxBodyBytes = value
        }
        if let text = unknown ?? env("TOKEN_UNKNOWN") {
            guard let policy = HandlerConfiguration.UnknownNumberPolicy(rawValue: text) else {
                let choices = HandlerConfiguration.UnknownNumberPolicy.allCases.map(\.rawValue).joined(separator: ", ")
                throw ValidationError("--unknown / TOKEN_UNKNOWN must be one of \(choices), got '\(text)'")
            }
            handler.unknownNumbers = policy
        }
        if let text = countryCode.map(String.init) ?? env("TOKEN_COUNTRY_CODE") {
            guard let value = Int(text), (1...999).contains(value) else {
                throw ValidationError("--country-code / TOKEN_COUNTRY_CODE must be a calling code like 86, got '\(text)'")
            }
            handler.normaliser = PhoneNumberNormaliser(defaultCountryCode: value)
        }
        var configuration = ServerConfiguration(storePath: storePath, handler: handler)
        configuration.socketPath = socket ?? env("TOKEN_SOCKET")
        if let text = socketMode ?? env("TOKEN_SOCKET_MODE") {
            guard let mode = mode_t(text, radix: 8), mode <= 0o777 else {
                throw ValidationError("--socket-mode / TOKEN_SOCKET_MODE must be octal like 0660, got '\(text)'")
            }
            configuration.socketMode = mode
        }
        if let text = threads.map(String.init) ?? env("TOKEN_THREADS") {
            guard let value = Int(text), (1...1024).contains(value) else {
                throw ValidationError("--threads / TOKEN_THREADS must be from 1 to 1024, got '\(text)'")
            }
            configuration.threads = value
        }
        if let text = logLevel ?? env("TOKEN_LOG_LEVEL") {
            guard let level = Logger.Level(rawValue: text.lowercased()) else {
                let names = Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")
                throw ValidationError("--log-level / TOKEN_LOG_LEVEL must be one of \(names), got '\(text)'")
            }
            configuration.logLevel = level
        }
        if let path = keyFile ?? env("TOKEN_KEY_FILE") {
            do {
                configuration.handler.sharedKey = SharedKey(try SecretFile.read(path))
            } catch {
                throw ValidationError(error.description)
            }
            if SecretFile.isWorldReadable(path) {
                ResponderLogging.makeLogger(level: .warning).warning("key file \(path) is readable by every user; chmod 0640 it")
            }
        }
        if let text = maxSkew.map(String.init) ?? env("TOKEN_MAX_SKEW") {
            guard let value = Int64(text), value > 0 else {
                throw ValidationError("--max-skew / TOKEN_MAX_SKEW must be a number of seconds above 0, got '\(text)'")
            }
            configuration.handler.maxSkewSeconds = value
        }
        if let text = scheduling ?? env("TOKEN_SCHEDULING") {
            guard let policy = ServerConfiguration.Scheduling(rawValue: text) else {
                let choices = ServerConfiguration.Scheduling.allCases.map(\.rawValue).joined(separator: ", ")
                throw ValidationError("--scheduling / TOKEN_SCHEDULING must be one of \(choices), got '\(text)'")
            }
            configuration.scheduling = policy
        }
        configuration.mintKeyFile = mintKeyFile ?? env("TOKEN_MINT_KEY_FILE")
        if configuration.handler.unknownNumbers == .mint && configuration.mintKeyFile == nil {
            throw ValidationError("--unknown mint needs --mint-key-file PATH (or TOKEN_MINT_KEY_FILE)")
        }
        if let path = configuration.mintKeyFile, configuration.handler.unknownNumbers == .mint,
            SecretFile.isWorldReadable(path)
        {
            ResponderLogging.makeLogger(level: .warning).warning(
                "mint key file \(path) is readable by every user, who could then predict minted tokens; chmod 0640 it")
        }
        if let text = requestTimeout ?? env("TOKEN_REQUEST_TIMEOUT") {
            guard let seconds = Double(text), seconds.isFinite, seconds > 0, seconds <= 60 else {
                throw ValidationError("--request-timeout / TOKEN_REQUEST_TIMEOUT must be seconds above 0 and at most 60 (e.g. 2 or 0.5), got '\(text)'")
            }
            configuration.requestTimeoutMicroseconds = Int64(seconds * 1_000_000)
        }
        if let text = mintMaxRows.map(String.init) ?? env("TOKEN_MINT_MAX_ROWS") {
            guard let value = Int(text), value >= 0 else {
                throw ValidationError("--mint-max-rows / TOKEN_MINT_MAX_ROWS must be a row count of 0 or more, got '\(text)'")
            }
            configuration.mintMaxRows = value
        }
        return configuration
    }

    private func env(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        let text = String(cString: value)
        return text.isEmpty ? nil : text
    }
}
