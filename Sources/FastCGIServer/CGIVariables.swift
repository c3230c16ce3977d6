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
        cString(name).map { String(cString: $0) }
    }

    /// The parameter's value as libfcgi holds it (valid while the request is), or nil: what
    /// `FCGX_GetParam` returns, found without a `strncmp` call per parameter.
    func cString(_ name: StaticString) -> UnsafePointer<CChar>? {
        token_fcgx_find_param(name.cString, name.utf8CodeUnitCount, envp)
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
