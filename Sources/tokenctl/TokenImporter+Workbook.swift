import TokenImport
import TokenStore
import WorkbookReader

extension TokenImporter {
    /// Imports the rows of `sheet` (the first when nil) of `workbook`, each row's number being its
    /// line in problems. A damaged sheet refuses the import at the row where it breaks.
    func run(
        workbook: XLSXWorkbook, sheet: String?, into store: any StoreWriter, progress: ImportProgress?
    ) throws(StoreError) -> ImportReport {
        try run(into: store, rowsMayBeShort: true) { (rows: inout ImportRows) throws(StoreError) -> ImportProblem? in
            var storeError: StoreError?
            do throws(WorkbookError) {
                try workbook.readRows(sheet: sheet, dimension: { progress?.setTotal($0) }) { row, cells in
                    var fields: [[UInt8]] = []
                    var unreadable: [Int: String] = [:]
                    fields.reserveCapacity(cells.count)
                    for (column, cell) in cells.enumerated() {
                        switch cell {
                        case .text(let text): fields.append(Array(text.utf8))
                        case .unreadable(let why):
                            fields.append([])
                            unreadable[column] = why
                        }
                    }
                    if fields.isEmpty { fields = [[]] }
                    do throws(StoreError) {
                        return try rows.add(fields, line: row, unreadable: unreadable, position: row)
                    } catch {
                        storeError = error
                        return false
                    }
                }
            } catch {
                return ImportProblem(line: error.row ?? 1, reason: error.description)
            }
            if let storeError { throw storeError }
            return nil
        }
    }
}
