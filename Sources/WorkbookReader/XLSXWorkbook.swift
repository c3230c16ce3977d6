import Foundation
import FoundationXML
import ZIPFoundation

/// Something wrong with a workbook: not a zip, a part missing or damaged, no such sheet.
public struct WorkbookError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The message.
    public var description: String
    /// The worksheet row where the damage was found, when it was found while reading rows.
    public var row: Int?

    init(_ description: String, row: Int? = nil) {
        self.description = description
        self.row = row
    }
}

/// One cell of a worksheet row, as `tokenctl import` reads it.
public enum WorkbookCell: Sendable, Equatable {
    /// Text: a shared string, an inline string, a formula's text, or a number's digits.
    case text(String)
    /// A cell that cannot be read back as text exactly (a number whose digits were lost, an
    /// error value), with why.
    case unreadable(String)
}

/// An Excel .xlsx workbook (Office Open XML), read for its rows: the workbook's sheet list and
/// relationships, the shared strings, then one worksheet streamed row by row.
///
/// The worksheet is uncompressed into a temporary file first and parsed from it with
/// FoundationXML's streaming parser, so memory holds one row (and the shared strings, which
/// Excel keeps in one part), not the sheet. Only tokenctl links this target.
public final class XLSXWorkbook {
    /// The sheets in workbook order: their names and their part paths inside the archive.
    public let sheets: [(name: String, path: String)]
    private let archive: Archive

    /// Opens the workbook at `path`.
    public init(path: String) throws(WorkbookError) {
        let opened: Archive
        do {
            opened = try Archive(url: URL(fileURLWithPath: path), accessMode: .read)
        } catch {
            throw WorkbookError("cannot open the workbook as a zip archive: \(error)")
        }
        archive = opened
        let workbook = try Self.parse(try Self.data(of: "xl/workbook.xml", in: opened), with: SheetListParser())
        let relationships: [String: String]
        if let rels = try? Self.data(of: "xl/_rels/workbook.xml.rels", in: opened) {
            relationships = try Self.parse(rels, with: RelationshipParser()).targets
        } else {
            relationships = [:]
        }
        var found: [(name: String, path: String)] = []
        for (index, sheet) in workbook.sheets.enumerated() {
            let target = sheet.relationship.flatMap { relationships[$0] } ?? "worksheets/sheet\(index + 1).xml"
            let path = target.hasPrefix("/") ? String(target.dropFirst()) : "xl/" + target
            found.append((sheet.name, path))
        }
        sheets = found
    }

    /// What kind of zip archive the file at `path` is (see ``FileFormat/classifyZip(entries:mimetype:)``).
    public static func classify(path: String) -> FileFormat {
        guard let archive = try? Archive(url: URL(fileURLWithPath: path), accessMode: .read) else {
            return .refused("a damaged zip archive: \(FileFormat.saveAs)")
        }
        let entries = archive.map(\.path)
        let mimetype = (try? data(of: "mimetype", in: archive)).map { String(decoding: $0, as: UTF8.self) }
        return FileFormat.classifyZip(entries: entries, mimetype: mimetype)
    }

    /// Streams the rows of the sheet named `sheetName` (the first sheet when nil) to `body`:
    /// the row number (from 1, as Excel shows it) and its cells by column (a missing cell is
    /// empty text), until `body` returns false. `dimension` gets the sheet's last row as its
    /// `<dimension>` states it, when it does, before the rows.
    public func readRows(
        sheet sheetName: String?, dimension: (Int) -> Void = { _ in },
        _ body: (_ row: Int, _ cells: [WorkbookCell]) -> Bool
    ) throws(WorkbookError) {
        let sheet: (name: String, path: String)
        if let sheetName {
            guard let named = sheets.first(where: { $0.name == sheetName }) else {
                throw WorkbookError(
                    "no sheet named '\(sheetName)' in the workbook: its sheets are \(sheets.map { "'\($0.name)'" }.joined(separator: ", "))"
                )
            }
            sheet = named
        } else {
            guard let first = sheets.first else { throw WorkbookError("the workbook has no sheets") }
            sheet = first
        }
        let strings: [String]
        if archive["xl/sharedStrings.xml"] != nil {
            strings = try Self.parse(
                try Self.data(of: "xl/sharedStrings.xml", in: archive), with: SharedStringsParser()
            )
            .strings
        } else {
            strings = []
        }
        guard let entry = archive[sheet.path] else {
            throw WorkbookError("the workbook has no part \(sheet.path) for sheet '\(sheet.name)'")
        }
        let file = try TemporaryFile()
        defer { file.remove() }
        do {
            _ = try archive.extract(entry, skipCRC32: false) { chunk in try file.write(chunk) }
            try file.close()
        } catch {
            throw WorkbookError("cannot uncompress sheet '\(sheet.name)': \(error)")
        }
        guard let stream = InputStream(fileAtPath: file.path) else {
            throw WorkbookError("cannot read the uncompressed sheet at \(file.path)")
        }
        return try withoutActuallyEscaping(body) { (body) throws(WorkbookError) -> Void in
            try withoutActuallyEscaping(dimension) { (dimension) throws(WorkbookError) -> Void in
                let handler = SheetParser(strings: strings, dimension: dimension, body: body)
                let parser = XMLParser(stream: stream)
                parser.delegate = handler
                if !parser.parse() && !handler.stopped {
                    let reason = handler.failure ?? parser.parserError.map { "\($0)" } ?? "unknown error"
                    throw WorkbookError(
                        "sheet '\(sheet.name)' is damaged after row \(handler.lastRow): \(reason)",
                        row: handler.lastRow + 1)
                }
            }
        }
    }

    private static func data(of path: String, in archive: Archive) throws(WorkbookError) -> Data {
        guard let entry = archive[path] else { throw WorkbookError("the workbook has no \(path)") }
        var data = Data()
        do {
            _ = try archive.extract(entry) { data.append($0) }
        } catch {
            throw WorkbookError("cannot uncompress \(path): \(error)")
        }
        return data
    }

    private static func parse<Handler: PartParser>(_ data: Data, with handler: Handler) throws(WorkbookError) -> Handler
    {
        let parser = XMLParser(data: data)
        parser.delegate = handler
        guard parser.parse() else {
            throw WorkbookError("\(Handler.part) is damaged: \(parser.parserError.map { "\($0)" } ?? "unknown error")")
        }
        return handler
    }
}

/// A delegate that collects one small part of the workbook.
private protocol PartParser: XMLParserDelegate {
    static var part: String { get }
}

/// The local name of an element or attribute (`x:sheet` → `sheet`): writers differ in prefixes.
private func localName(_ name: String) -> Substring {
    name.lastIndex(of: ":").map { name[name.index(after: $0)...] } ?? Substring(name)
}

/// xl/workbook.xml: the sheets in order, with their relationship ids.
private final class SheetListParser: NSObject, PartParser {
    static let part = "xl/workbook.xml"
    var sheets: [(name: String, relationship: String?)] = []

    func parser(
        _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
        attributes: [String: String] = [:]
    ) {
        guard localName(elementName) == "sheet", let name = attributes["name"] else { return }
        let relationship = attributes.first { $0.key.hasSuffix(":id") }?.value
        sheets.append((name, relationship))
    }
}

/// xl/_rels/workbook.xml.rels: relationship id → target part.
private final class RelationshipParser: NSObject, PartParser {
    static let part = "xl/_rels/workbook.xml.rels"
    var targets: [String: String] = [:]

    func parser(
        _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
        attributes: [String: String] = [:]
    ) {
        guard localName(elementName) == "Relationship", let id = attributes["Id"], let target = attributes["Target"]
        else { return }
        targets[id] = target
    }
}

/// xl/sharedStrings.xml: each `<si>`'s text, rich-text runs joined, phonetic guides left out.
private final class SharedStringsParser: NSObject, PartParser {
    static let part = "xl/sharedStrings.xml"
    var strings: [String] = []
    private var current = ""
    private var inText = false
    private var phonetic = 0

    func parser(
        _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
        attributes: [String: String] = [:]
    ) {
        switch localName(elementName) {
        case "si": current = ""
        case "t": inText = phonetic == 0
        case "rPh": phonetic += 1
        default: break
        }
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
        switch localName(elementName) {
        case "si": strings.append(current)
        case "t": inText = false
        case "rPh": phonetic -= 1
        default: break
        }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if inText { current += string }
    }
}

/// A worksheet, row by row: `<row r="N"><c r="B2" t="s"><v>3</v></c>…</row>`.
private final class SheetParser: NSObject, XMLParserDelegate {
    let strings: [String]
    let dimension: (Int) -> Void
    let body: (Int, [WorkbookCell]) -> Bool
    var stopped = false
    var failure: String?
    var lastRow = 0

    private var row: [WorkbookCell] = []
    private var rowNumber = 0
    private var column = 0
    private var type = "n"
    private var value = ""
    private var inValue = false
    private var inInline = false
    private var phonetic = 0

    init(strings: [String], dimension: @escaping (Int) -> Void, body: @escaping (Int, [WorkbookCell]) -> Bool) {
        self.strings = strings
        self.dimension = dimension
        self.body = body
    }

    func parser(
        _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
        attributes: [String: String] = [:]
    ) {
        switch localName(elementName) {
        case "row":
            rowNumber = attributes["r"].flatMap { Int($0) } ?? lastRow + 1
            row = []
        case "c":
            column = attributes["r"].flatMap(Self.column) ?? row.count
            type = attributes["t"] ?? "n"
            value = ""
        case "v": inValue = true
        case "is": inInline = true
        case "t": inValue = inInline && phonetic == 0
        case "rPh": phonetic += 1
        case "dimension":
            // ref="A1:F1001": the last row; a one-cell sheet writes ref="A1".
            if let ref = attributes["ref"], let last = ref.split(separator: ":").last,
                let n = Int(last.drop(while: { $0.isLetter }))
            {
                dimension(n)
            }
        default: break
        }
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
        switch localName(elementName) {
        case "v", "t": inValue = false
        case "is": inInline = false
        case "rPh": phonetic -= 1
        case "c":
            guard column < 16_384 else {
                failure = "a cell beyond Excel's last column"
                parser.abortParsing()
                return
            }
            while row.count < column { row.append(.text("")) }
            let cell = cell()
            if column < row.count { row[column] = cell } else { row.append(cell) }
        case "row":
            lastRow = rowNumber
            if !body(rowNumber, row) {
                stopped = true
                parser.abortParsing()
            }
        default: break
        }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if inValue { value += string }
    }

    private func cell() -> WorkbookCell {
        switch type {
        case "s":
            guard let index = Int(value), strings.indices.contains(index) else {
                return .unreadable("a shared string the workbook does not have")
            }
            return .text(strings[index])
        case "inlineStr", "str", "d": return .text(value)
        case "b": return .text(value == "1" ? "TRUE" : "FALSE")
        case "e": return .unreadable("an error value (\(value)) in the cell")
        default:
            if value.isEmpty { return .text("") }
            switch SpreadsheetNumber.digits(value) {
            case .success(let digits): return .text(digits)
            case .failure(let refusal): return .unreadable(refusal.description)
            }
        }
    }

    /// The 0-based column of a cell reference: `B2` → 1, `AA10` → 26.
    static func column(_ reference: String) -> Int? {
        var n = 0
        var letters = 0
        for scalar in reference.unicodeScalars {
            guard scalar.value >= 65 && scalar.value <= 90 else { break }
            n = n * 26 + Int(scalar.value - 64)
            letters += 1
            if letters > 3 { return nil }
        }
        return letters == 0 ? nil : n - 1
    }
}

/// A temporary file for an uncompressed worksheet, removed after reading.
private final class TemporaryFile {
    let path: String
    private var fd: Int32

    init() throws(WorkbookError) {
        let directory = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array("\(directory)/tokenctl-sheet-XXXXXX".utf8CString)
        fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else {
            throw WorkbookError(
                "cannot create a temporary file in \(directory) for the sheet: \(String(cString: strerror(errno)))")
        }
        path = String(cString: template)
    }

    func write(_ data: Data) throws {
        try data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) in
            var done = 0
            while done < bytes.count {
                let n = Foundation.write(fd, bytes.baseAddress! + done, bytes.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw WorkbookError("cannot write the temporary file \(path): \(String(cString: strerror(errno)))")
                }
                done += n
            }
        }
    }

    func close() throws {
        if fd >= 0, Foundation.close(fd) != 0 {
            fd = -1
            throw WorkbookError("cannot write the temporary file \(path): \(String(cString: strerror(errno)))")
        }
        fd = -1
    }

    func remove() {
        if fd >= 0 { _ = Foundation.close(fd) }
        fd = -1
        unlink(path)
    }
}
