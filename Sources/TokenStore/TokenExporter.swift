import TokenCore

/// Writes the store as CSV that `tokenctl import` reads back: `import --replace` of an export
/// gives back the same numbers and tokens.
///
/// Format: a header line, then one row per stored number sorted by its canonical key (bytewise,
/// so the output is stable and diffable), lines ending in LF. A field is quoted, RFC 4180 style,
/// only when it holds a comma, a double quote, CR or LF; a quote inside is doubled.
///
/// With ``Options/mintedOnly`` only the tokens the responder minted itself are written, with a
/// third column `first_seen`: the row's `updated_at`, which for a minted row is when it was
/// minted, as ISO-8601 UTC (`2024-05-06T07:08:09Z`). That file is a report: `import` refuses
/// its three columns, and an import would turn minted rows into ordinary ones anyway.
///
/// The rows come from one ``StoreInspector/forEachRow(mintedOnly:_:)``, one snapshot of the store: an import committing meanwhile is
/// either wholly in the export or not at all.
public struct TokenExporter {
    /// Export options, as `tokenctl export` exposes them.
    public struct Options: Sendable {
        /// Only rows with `minted = 1`, plus the `first_seen` column.
        public var mintedOnly = false
        /// Creates default options: every row, two columns.
        public init() {}
    }

    /// Header of a full export.
    public static let header = "number,customer_token"
    /// Header of a `--minted` export.
    public static let mintedHeader = "number,customer_token,first_seen"

    let options: Options

    /// Creates an exporter.
    public init(options: Options = Options()) {
        self.options = options
    }

    /// Writes the header and every row of `store` to `output` (flushed at the end); returns the
    /// row count. Throws ``StoreError`` for the store, ``OutputError`` for the output.
    public func run(from store: any StoreInspector, to output: BufferedOutput) throws -> Int {
        try store.requireReadableSchema()
        try output.write(options.mintedOnly ? Self.mintedHeader : Self.header)
        try output.write(byte: 0x0A)
        var rows = 0
        var timestamp: [UInt8] = []
        try store.forEachRow(mintedOnly: options.mintedOnly) { row in
            try Self.writeField(row.key, to: output)
            try output.write(byte: UInt8(ascii: ","))
            try Self.writeField(row.token, to: output)
            if options.mintedOnly {
                try output.write(byte: UInt8(ascii: ","))
                timestamp.removeAll(keepingCapacity: true)
                UTCTimestamp.append(row.updatedAt, to: &timestamp)
                try output.write(timestamp)
            }
            try output.write(byte: 0x0A)
            rows += 1
        }
        try output.flush()
        return rows
    }

    /// Writes `bytes` as one CSV field, quoted if needed.
    private static func writeField(_ bytes: UnsafeBufferPointer<UInt8>, to output: BufferedOutput) throws(OutputError) {
        guard let base = bytes.baseAddress else { return }
        guard bytes.contains(where: needsQuoting) else {
            try output.write(base, count: bytes.count)
            return
        }
        try output.write(byte: UInt8(ascii: "\""))
        for byte in bytes {
            if byte == UInt8(ascii: "\"") { try output.write(byte: UInt8(ascii: "\"")) }
            try output.write(byte: byte)
        }
        try output.write(byte: UInt8(ascii: "\""))
    }

    /// A comma, a double quote, CR or LF.
    @inline(__always)
    private static func needsQuoting(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: ",") || byte == UInt8(ascii: "\"") || byte == 0x0A || byte == 0x0D
    }
}
