import ArgumentParser
import Glibc

/// Options of both executables read their environment variable when the flag is not given:
/// one rule, one message format (`--threads / TOKEN_THREADS must be from 1 to 1024, got '0'`).
public enum EnvironmentFallback {
    /// The value of environment variable `name`; nil when unset or empty.
    public static func variable(_ name: String) -> String? {
        guard let value = getenv(name), value.pointee != 0 else { return nil }
        return String(cString: value)
    }

    /// `flag` if given, else environment variable `name` read as `T` the way the flag would be;
    /// nil when neither is given. Either value must pass `isValid`, else a usage error names the
    /// option and the variable and says what `rule` expects (default: the choices of an enum).
    public static func value<T: ExpressibleByArgument>(
        _ flag: T?, _ name: String, option: String, rule: String? = nil, isValid: (T) -> Bool = { _ in true }
    ) throws(ValidationError) -> T? {
        func refuse(_ text: String) -> ValidationError {
            let expected = rule ?? "one of \(T.allValueStrings.joined(separator: ", "))"
            return ValidationError("\(option) / \(name) must be \(expected), got '\(text)'")
        }
        if let flag {
            guard isValid(flag) else { throw refuse(flag.defaultValueDescription) }
            return flag
        }
        guard let text = variable(name) else { return nil }
        guard let value = T(argument: text), isValid(value) else { throw refuse(text) }
        return value
    }
}
