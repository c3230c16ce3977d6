/// A phone number in canonical form: the lookup key, plus the extension that was split off.
///
/// Produced by ``PhoneNumberNormaliser/normalise(_:)``. Two written forms of the same line
/// (`010-12345678`, `+86 10 1234 5678`, the JSON integer `1012345678`, …) produce the same
/// ``key``; the token store is keyed by it. The extension never takes part in the key: callers
/// reach the same customer whatever extension they dial or the CRM recorded.
public struct NormalisedNumber: Sendable, Hashable {
    /// The canonical key: E.164 with a leading `+` and nothing else but ASCII digits,
    /// for example `"+8613812345678"` (mobile), `"+861012345678"` (Beijing landline),
    /// `"+8675512345678"` (Shenzhen landline) or `"+14155552671"` (United States).
    ///
    /// The key is a fixed point of the normaliser: normalising a key returns the same key.
    public var key: String

    /// The ASCII digits of the extension written after `转`, `分机`, `ext`, `x`, `#`, `,` or
    /// `;ext=`, or `nil` when no extension digits were written. Not part of ``key``.
    public var `extension`: String?

    /// Whether the number was written as a range of consecutive lines, such as
    /// `0512-6234 5678～9` (…5678 and …5679): ``key`` is then the first number of the range.
    /// An import reports such rows, since the other numbers of the range are not stored.
    public var isRange: Bool

    /// Creates a normalised number from a key that is already canonical and an optional extension.
    ///
    /// No validation is done here: use ``PhoneNumberNormaliser/normalise(_:)`` to turn written
    /// input into a key.
    /// - Parameters:
    ///   - key: the canonical E.164 key, for example `"+8613812345678"`.
    ///   - extension: the extension digits, or `nil`.
    ///   - isRange: whether the written number was a range whose first number is `key`.
    public init(key: String, extension: String? = nil, isRange: Bool = false) {
        self.key = key
        self.extension = `extension`
        self.isRange = isRange
    }
}
