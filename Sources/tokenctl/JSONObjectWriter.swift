import TokenCore

/// Builds one JSON object, keys in the order added, for the `--json` outputs that scripts parse.
struct JSONObjectWriter {
    private var bytes: [UInt8] = [UInt8(ascii: "{")]

    private mutating func key(_ name: String) {
        if bytes.count > 1 { bytes.append(UInt8(ascii: ",")) }
        JSONText.appendString(name, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
    }

    /// Adds `"name": value`.
    mutating func add(_ name: String, _ value: Int) {
        key(name)
        bytes.append(contentsOf: Array(String(value).utf8))
    }

    /// Adds `"name": value`.
    mutating func add(_ name: String, _ value: Int64) {
        add(name, Int(value))
    }

    /// Adds `"name": true|false`.
    mutating func add(_ name: String, _ value: Bool) {
        key(name)
        bytes.append(contentsOf: Array((value ? "true" : "false").utf8))
    }

    /// Adds `"name": "value"`, or `"name": null` for nil.
    mutating func add(_ name: String, _ value: String?) {
        key(name)
        if let value {
            JSONText.appendString(value, to: &bytes)
        } else {
            bytes.append(contentsOf: Array("null".utf8))
        }
    }

    /// Adds `"name": [object, …]`.
    mutating func add(_ name: String, objects: [JSONObjectWriter]) {
        key(name)
        bytes.append(UInt8(ascii: "["))
        for (i, object) in objects.enumerated() {
            if i > 0 { bytes.append(UInt8(ascii: ",")) }
            bytes.append(contentsOf: object.bytes)
            bytes.append(UInt8(ascii: "}"))
        }
        bytes.append(UInt8(ascii: "]"))
    }

    /// The object's text.
    var text: String {
        String(decoding: bytes + [UInt8(ascii: "}")], as: UTF8.self)
    }
}
