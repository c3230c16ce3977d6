/// Builds one JSON object, keys in the order added, for the `--json` outputs that scripts parse
/// (`tokenctl import/stats/probe --json`).
public struct JSONObjectWriter: Sendable {
    private var bytes: [UInt8] = [UInt8(ascii: "{")]

    /// Starts an empty object.
    public init() {}

    private mutating func key(_ name: String) {
        if bytes.count > 1 { bytes.append(UInt8(ascii: ",")) }
        JSONText.appendString(name, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
    }

    /// Adds `"name": value`.
    public mutating func add(_ name: String, _ value: Int) {
        key(name)
        bytes.append(contentsOf: Array(String(value).utf8))
    }

    /// Adds `"name": value`.
    public mutating func add(_ name: String, _ value: Int64) {
        add(name, Int(value))
    }

    /// Adds `"name": true|false`.
    public mutating func add(_ name: String, _ value: Bool) {
        key(name)
        bytes.append(contentsOf: Array((value ? "true" : "false").utf8))
    }

    /// Adds `"name": "value"`, or `"name": null` for nil.
    public mutating func add(_ name: String, _ value: String?) {
        guard let value else { return addNull(name) }
        key(name)
        JSONText.appendString(value, to: &bytes)
    }

    /// Adds `"name": [object, …]`.
    public mutating func add(_ name: String, objects: [JSONObjectWriter]) {
        key(name)
        bytes.append(UInt8(ascii: "["))
        for (i, object) in objects.enumerated() {
            if i > 0 { bytes.append(UInt8(ascii: ",")) }
            bytes.append(contentsOf: object.bytes)
            bytes.append(UInt8(ascii: "}"))
        }
        bytes.append(UInt8(ascii: "]"))
    }

    /// Adds `"name": <number>` from already formatted number text (e.g. `1.5`).
    public mutating func add(_ name: String, number text: String) {
        key(name)
        bytes.append(contentsOf: Array(text.utf8))
    }

    /// Adds `"name": [1, 2, …]`, an array of integers.
    public mutating func add(_ name: String, integers: [Int]) {
        key(name)
        bytes.append(contentsOf: Array(("[" + integers.map(String.init).joined(separator: ", ") + "]").utf8))
    }

    /// Adds `"name": null`.
    public mutating func addNull(_ name: String) {
        key(name)
        bytes.append(contentsOf: Array("null".utf8))
    }

    /// Adds `"name": ["value", …]`.
    public mutating func add(_ name: String, strings: [String]) {
        key(name)
        bytes.append(UInt8(ascii: "["))
        for (i, value) in strings.enumerated() {
            if i > 0 { bytes.append(UInt8(ascii: ",")) }
            JSONText.appendString(value, to: &bytes)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    /// Adds `"name": {…}`, or `"name": null` for nil.
    public mutating func add(_ name: String, object: JSONObjectWriter?) {
        guard let object else { return addNull(name) }
        key(name)
        bytes.append(contentsOf: object.bytes)
        bytes.append(UInt8(ascii: "}"))
    }

    /// The object's text.
    public var text: String {
        String(decoding: bytes + [UInt8(ascii: "}")], as: UTF8.self)
    }
}
