/// What kind of file `tokenctl import` was given, told from its first bytes (and, for a zip
/// archive, its entries), so that a file it cannot read is refused by name with what to save it
/// as, instead of being read as garbled CSV.
public enum FileFormat: Sendable, Equatable {
    /// CSV or TSV text (any encoding `--encoding` reads).
    case text
    /// A zip archive: an .xlsx workbook or another kind of zip, see ``classifyZip(entries:mimetype:)``.
    case zip
    /// An Excel .xlsx workbook.
    case xlsx
    /// A file that cannot be imported: the message names the format and what to save it as.
    case refused(String)

    /// "Save it as …", shared by the messages.
    static let saveAs = "save it from Excel (or WPS) as \"Excel Workbook (.xlsx)\" or \"CSV UTF-8\" and import that"

    /// The format told from the first bytes of the file (at least 8 when the file is that long).
    public static func sniff(_ prefix: [UInt8]) -> FileFormat {
        if prefix.starts(with: [0x50, 0x4B, 0x03, 0x04]) || prefix.starts(with: [0x50, 0x4B, 0x05, 0x06]) {
            return .zip
        }
        if prefix.starts(with: [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
            return .refused("an Excel 97-2003 workbook (.xls, or another OLE2 document such as WPS .et): \(saveAs)")
        }
        if prefix.starts(with: [0xFF, 0xFE]) || prefix.starts(with: [0xFE, 0xFF]) {
            return .refused("UTF-16 text (Excel's \"Unicode Text\"): \(saveAs)")
        }
        if prefix.starts(with: Array("%PDF".utf8)) { return .refused("a PDF document: export the data as CSV UTF-8") }
        if prefix.starts(with: Array("SQLite format 3".utf8)) {
            return .refused("an SQLite database (a token store?): export it with tokenctl export, or import a CSV file")
        }
        if prefix.starts(with: [0x1F, 0x8B]) {
            return .refused("a gzip-compressed file: decompress it first (gunzip)")
        }
        if prefix.contains(0) { return .refused("a binary file, not CSV or TSV text: \(saveAs)") }
        return .text
    }

    /// What a zip archive holds, from its entry paths (and the OpenDocument `mimetype` entry).
    public static func classifyZip(entries: [String], mimetype: String?) -> FileFormat {
        let paths = Set(entries)
        if paths.contains("xl/workbook.xml") { return .xlsx }
        if paths.contains("xl/workbook.bin") { return .refused("an Excel binary workbook (.xlsb): \(saveAs)") }
        if let mimetype, mimetype.hasPrefix("application/vnd.oasis.opendocument.spreadsheet") {
            return .refused("an OpenDocument spreadsheet (.ods): \(saveAs)")
        }
        if paths.contains("Index/Document.iwa")
            || entries.contains(where: { $0.hasPrefix("Index/") && $0.hasSuffix(".iwa") })
        {
            return .refused(
                "an Apple Numbers document (.numbers): export it from Numbers as Excel (.xlsx) or CSV and import that")
        }
        if paths.contains("word/document.xml") {
            return .refused("a Word document (.docx), not a spreadsheet: \(saveAs)")
        }
        if let mimetype, mimetype.hasPrefix("application/vnd.oasis.opendocument") {
            return .refused("an OpenDocument file that is not a spreadsheet: \(saveAs)")
        }
        return .refused("a zip archive that is not an Excel workbook (no xl/workbook.xml): unpack it, or \(saveAs)")
    }
}
