import ArgumentParser
import CommandSupport
import StoreBackends
import TokenCore
import TokenStore

extension StoreOptions {
    /// The store's engine, from `--store` or `TOKEN_STORE`.
    func backend() throws(ValidationError) -> any StoreBackend {
        try StoreLocation.fromCommandLine(store).backend()
    }
}

extension NumberOptions {
    /// The normaliser for `--country-code` or `TOKEN_COUNTRY_CODE`.
    func normaliser() throws(ValidationError) -> PhoneNumberNormaliser {
        try PhoneNumberNormaliser.fromCommandLine(countryCode: countryCode)
    }

    /// The canonical key for `number` under ``normaliser()``, or a usage error that does not
    /// repeat the number.
    func key(for number: String) throws(ValidationError) -> String {
        try normaliser().commandLineKey(for: number)
    }
}
