import ArgumentParser
import TokenCore
import TokenStore

extension StoreLocation {
    /// The store from `--store`, else `TOKEN_STORE`; a usage error when neither is given.
    public static func fromCommandLine(_ flag: String?) throws(ValidationError) -> StoreLocation {
        do throws(StoreLocationError) {
            return try resolve(flag: flag, environment: EnvironmentFallback.variable("TOKEN_STORE"))
        } catch {
            throw ValidationError(error.description)
        }
    }
}

extension PhoneNumberNormaliser {
    /// The normaliser for `--country-code`, else `TOKEN_COUNTRY_CODE`, else China (86).
    public static func fromCommandLine(countryCode flag: Int?) throws(ValidationError) -> PhoneNumberNormaliser {
        guard
            let code = try EnvironmentFallback.value(
                flag, "TOKEN_COUNTRY_CODE", option: "--country-code", rule: "a calling code like 86",
                isValid: { (1...999).contains($0) })
        else { return PhoneNumberNormaliser() }
        return PhoneNumberNormaliser(defaultCountryCode: code)
    }

    /// The canonical key for `number`, or a usage error that does not repeat the number.
    public func commandLineKey(for number: String) throws(ValidationError) -> String {
        do {
            return try normalise(number).key
        } catch {
            throw ValidationError("not a phone number: \(error.message)")
        }
    }
}
