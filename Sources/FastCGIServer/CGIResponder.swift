import Glibc
import Logging
import TokenCore
import TokenStore

/// Plain-CGI mode: one request from the environment and stdin, the answer on stdout.
///
/// For PHP-style hosting (Apache `ScriptAlias`, nginx + fcgiwrap), where the web server starts
/// the program once per request. The store is opened per request, which costs O(1) in its size.
public enum CGIResponder {
    /// True when this process looks like a CGI invocation: the web server set
    /// `GATEWAY_INTERFACE` (or at least `REQUEST_METHOD`) and fd 0 is not a listening socket.
    public static var isCGIInvocation: Bool {
        (getenv("GATEWAY_INTERFACE") != nil || getenv("REQUEST_METHOD") != nil)
            && !ListeningSocket.isListeningSocket(0)
    }

    /// Answers the one request described by the environment and stdin from the store `backend`
    /// opens; returns the exit status.
    public static func run<Backend: StoreBackend>(configuration: ServerConfiguration, backend: Backend) -> Int32 {
        let started = monotonicMicroseconds()
        let logger = ResponderLogging.makeLogger(level: configuration.logLevel)
        let limit = configuration.handler.maxBodyBytes
        let environment = ProcessEnvironment()
        let contentLength = environment.value("CONTENT_LENGTH").flatMap { Int($0) }
        let body = readAll(0, limit: min(contentLength ?? Int.max, limit + 1))
        let router = RequestRouter(handler: TokenHandler(configuration: configuration.handler), metrics: nil)
        let store = OpenedStore<Backend.Reader>(opening: { () throws(StartupError) in
            let minting = try configuration.makeMinting(logger: logger)
            return try StartupError.store { () throws(StoreError) in try backend.openReader(minting: minting) }
        })
        let (endpoint, response) = router.answer(
            variables: environment, contentLength: contentLength, body: body, store: store)
        let written = FileDescriptorWriting.writeAll(response.cgiBytes(), to: 1)
        ResponderLogging.logRequest(
            logger, response: response, endpoint: endpoint, microseconds: monotonicMicroseconds() - started,
            requestID: RequestID.bytes(environment.value("REQUEST_ID")))
        return written ? 0 : 1
    }

    /// Answers the request with `server_misconfigured` (500) when the environment's `TOKEN_*`
    /// settings are invalid; `cause` is for the log, not the client.
    public static func answerMisconfigured(cause: String) {
        FileDescriptorWriting.writeAll(RequestError.misconfigured(cause: cause).response.cgiBytes(), to: 1)
    }
}

/// Plain CGI's store: the reader opened for the one request, or why it could not be opened.
private struct OpenedStore<Reader: StoreReader>: StoreAccess {
    let opened: Result<Reader, StartupError>

    init(opening: () throws(StartupError) -> Reader) {
        opened = Result(catching: opening)
    }

    func withLookup(_ body: (inout StoreLookup<Reader>) -> TokenResponse) -> TokenResponse {
        switch opened {
        case .success(let reader):
            var lookup = StoreLookup.open(reader)
            return body(&lookup)
        case .failure(.store(let error)):
            var lookup = StoreLookup<Reader>.unavailable(error)
            return body(&lookup)
        case .failure(.mintKey(let error)):
            return RequestError.misconfigured(cause: error.description).response
        }
    }

    func figures() -> StoreFigures { .unavailable }
}
