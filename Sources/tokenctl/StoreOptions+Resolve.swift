import ArgumentParser
import Glibc
import TokenCore

extension StoreOptions {
    /// The store path from `--store` or `TOKEN_STORE`.
    func storePath() throws(ValidationError) -> String {
        if let store, !store.isEmpty { return store }
        if let value = getenv("TOKEN_STORE"), value.pointee != 0 { return String(cString: value) }
        throw ValidationError("no token store given: use --store PATH or set TOKEN_STORE")
    }

    /// The normaliser for `--country-code` or `TOKEN_COUNTRY_CODE`.
    func normaliser() throws(ValidationError) -> PhoneNumberNormaliser {
        var code = countryCode
        if code == nil, let value = getenv("TOKEN_COUNTRY_CODE"), value.pointee != 0 {
            code = Int(String(cString: value))
            if code == nil { throw ValidationError("TOKEN_COUNTRY_CODE must be a calling code like 86") }
        }
        guard let code else { return PhoneNumberNormaliser() }
        guard (1...999).contains(code) else { throw ValidationError("--country-code must be a calling code like 86") }
        return PhoneNumberNormaliser(defaultCountryCode: code)
    }

    /// The canonical key for `number` under ``normaliser()``, or a usage error that does not
    /// repeat the number.
    func key(for number: String) throws -> String {
        do {
            return try normaliser().normalise(number).key
        } catch let error as InvalidPhoneNumber {
            throw ValidationError("not a phone number: \(error.message)")
        }
    }
}
