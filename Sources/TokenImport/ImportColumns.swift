/// A column named on the command line (`--number-column`, `--token-column`): a header name,
/// or a position counting from 1.
public enum ColumnReference: Sendable, Equatable, CustomStringConvertible {
    /// The column whose header cell is this text (both trimmed).
    case name(String)
    /// The Nth column, from 1.
    case position(Int)

    /// Parses `手机号` or `3`: digits only are a position (from 1), anything else a name.
    /// Nil for an empty name or position 0.
    public init?(_ text: String) {
        let trimmed = trimmedCell(text)
        if trimmed.isEmpty { return nil }
        if trimmed.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
            guard let n = Int(trimmed), n >= 1 else { return nil }
            self = .position(n)
        } else {
            self = .name(trimmed)
        }
    }

    /// `'手机号'` or `column 3`, as messages name it.
    public var description: String {
        switch self {
        case .name(let name): "'\(name)'"
        case .position(let n): "column \(n)"
        }
    }
}

/// Which columns of the file hold the numbers and the token (`--number-column`,
/// `--token-column`).
///
/// Given, the file's first row is its header when a column is named, and when none of the
/// number columns given by position holds a valid number in it. Not given (``isDefault``): the
/// `number,customer_token` header or two columns, as always.
public struct ImportColumns: Sendable, Equatable {
    /// The number columns: each non-empty cell is a number of the row's customer.
    public var numbers: [ColumnReference] = []
    /// The token column; nil for the header's `customer_token` (or `token`).
    public var token: ColumnReference?

    /// Today's two-column layout.
    public init() {}

    /// The given columns.
    public init(numbers: [ColumnReference], token: ColumnReference?) {
        self.numbers = numbers
        self.token = token
    }

    /// True when no column flag was given.
    public var isDefault: Bool { numbers.isEmpty && token == nil }

    /// True when the first row must be a header: a column is given by name, or one of the two
    /// is left to the header's default names.
    var needsHeader: Bool {
        func byName(_ reference: ColumnReference) -> Bool {
            if case .name = reference { return true }
            return false
        }
        guard let token, !numbers.isEmpty else { return true }
        return byName(token) || numbers.contains(where: byName)
    }

    /// Header names the number column defaults to when only `--token-column` is given.
    static let defaultNumberNames = ["number", "phone"]
    /// Header names the token column defaults to when only `--number-column` is given.
    static let defaultTokenNames = ["customer_token", "token"]

    /// The columns resolved against `header` (the first row's cells; nil when the file has no
    /// header row), or why they cannot be: a name the header lacks, a name it has twice, a
    /// position past its end, the same column as number and token.
    public func resolve(header: [String]?) -> Result<ResolvedColumns, ColumnError> {
        let names = header?.map(trimmedCell)
        func index(of reference: ColumnReference, role: String) -> Result<Int, ColumnError> {
            switch reference {
            case .position(let n):
                if let names, n > names.count {
                    return .failure(
                        ColumnError("\(role) column \(n) does not exist: \(Self.describe(header: names))"))
                }
                return .success(n - 1)
            case .name(let name):
                guard let names else {
                    return .failure(ColumnError("\(role) column '\(name)' needs a header row"))
                }
                let found = names.indices.filter { names[$0] == name }
                if found.isEmpty {
                    return .failure(
                        ColumnError("no \(role) column named '\(name)': \(Self.describe(header: names))"))
                }
                if found.count > 1 {
                    return .failure(
                        ColumnError(
                            "the header has '\(name)' in columns \(found.map { "\($0 + 1)" }.joined(separator: " and ")): give the \(role) column by position"
                        ))
                }
                return .success(found[0])
            }
        }
        func defaulted(_ candidates: [String], role: String, flag: String) -> Result<Int, ColumnError> {
            guard let names else {
                return .failure(ColumnError("give --\(flag): the file has no header to find the \(role) column in"))
            }
            let lowered = names.map { $0.lowercased() }
            guard let found = candidates.lazy.compactMap({ lowered.firstIndex(of: $0) }).first else {
                return .failure(
                    ColumnError(
                        "no \(role) column named \(candidates.map { "'\($0)'" }.joined(separator: " or ")): give --\(flag); \(Self.describe(header: names))"
                    ))
            }
            return .success(found)
        }
        var numberIndices: [Int] = []
        if numbers.isEmpty {
            switch defaulted(Self.defaultNumberNames, role: "number", flag: "number-column") {
            case .success(let i): numberIndices = [i]
            case .failure(let error): return .failure(error)
            }
        }
        for reference in numbers {
            switch index(of: reference, role: "number") {
            case .success(let i): if !numberIndices.contains(i) { numberIndices.append(i) }
            case .failure(let error): return .failure(error)
            }
        }
        let tokenIndex: Int
        switch token.map({ index(of: $0, role: "token") })
            ?? defaulted(Self.defaultTokenNames, role: "token", flag: "token-column")
        {
        case .success(let i): tokenIndex = i
        case .failure(let error): return .failure(error)
        }
        if numberIndices.contains(tokenIndex) {
            let label = names.map { tokenIndex < $0.count ? " ('\($0[tokenIndex])')" : "" } ?? ""
            return .failure(
                ColumnError("column \(tokenIndex + 1)\(label) is given as both a number and the token column"))
        }
        let label: (Int) -> String = { i in
            if let names, i < names.count, !names[i].isEmpty { return names[i] }
            return "column \(i + 1)"
        }
        return .success(
            ResolvedColumns(
                numbers: numberIndices, token: tokenIndex, width: names?.count, labels: numberIndices.map(label))
        )
    }

    /// `the header is: 1 客户编号, 2 姓名, …` (at most 30 columns).
    static func describe(header names: [String]) -> String {
        if names.isEmpty { return "the header row is empty" }
        let shown = names.prefix(30).enumerated().map {
            "\($0.offset + 1) \($0.element.isEmpty ? "(empty)" : $0.element)"
        }
        return "the header is: " + shown.joined(separator: ", ") + (names.count > 30 ? ", …" : "")
    }
}

/// Why the column flags do not fit the file.
public struct ColumnError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The message, naming the header.
    public var description: String
    init(_ description: String) { self.description = description }
}

/// ``ImportColumns`` resolved for one file: 0-based indices.
public struct ResolvedColumns: Sendable, Equatable {
    /// The number columns, in the order given (each column once).
    public var numbers: [Int]
    /// The token column.
    public var token: Int
    /// The header's column count (rows of a CSV file must have as many), nil without a header.
    public var width: Int?
    /// How messages name each number column: its header text, or `column N`.
    public var labels: [String]
}

/// A header cell or column name compared as text: Unicode whitespace (the full-width space
/// too) trimmed from both ends.
func trimmedCell(_ text: String) -> String {
    let scalars = text.unicodeScalars
    guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }) else { return "" }
    let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })!
    return String(scalars[first...last])
}
