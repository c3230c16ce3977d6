import CFastCGI
import Glibc

/// The CGI variables of one request: FastCGI parameters, the environment in plain CGI, a
/// dictionary in tests. Names are static strings, passed to libfcgi and getenv as they are,
/// with no conversion per lookup.
protocol CGIVariables {
    /// The variable's value, or nil when it is not set.
    func value(_ name: StaticString) -> String?
}

/// The parameters libfcgi read for the request being served.
struct FastCGIParameters: CGIVariables {
    let envp: FCGX_ParamArray?

    func value(_ name: StaticString) -> String? {
        FCGX_GetParam(name.cString, envp).map { String(cString: $0) }
    }
}

/// The process environment, as a web server sets it for a CGI program.
struct ProcessEnvironment: CGIVariables {
    func value(_ name: StaticString) -> String? {
        getenv(name.cString).map { String(cString: $0) }
    }
}

extension StaticString {
    /// The literal's bytes as a C string: string literals are stored NUL-terminated.
    fileprivate var cString: UnsafePointer<CChar> {
        UnsafeRawPointer(utf8Start).assumingMemoryBound(to: CChar.self)
    }
}
