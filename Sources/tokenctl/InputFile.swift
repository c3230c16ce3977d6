import ArgumentParser
import Glibc
import TokenImport
import TokenStore
import WorkbookReader

/// The file `tokenctl import` reads, opened, with its first bytes read to tell its format
/// (standard input for `-`, which cannot be read twice: the bytes go to the importer as a prefix).
struct InputFile {
    /// The descriptor (0 for standard input).
    let fd: Int32
    /// The path, or `-`.
    let path: String
    /// The bytes already read from `fd`.
    let prefix: [UInt8]
    /// The size in bytes when the file is a regular file, for the progress percentage.
    let size: Int?

    /// How many bytes are read to tell the format.
    static let sniffedBytes = 4096

    /// Opens `path` (`-`: standard input) and reads its first bytes.
    init(_ path: String) throws {
        self.path = path
        let fd: Int32 = path == "-" ? 0 : open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw ValidationError("cannot read \(path): \(String(cString: strerror(errno)))")
        }
        var status = stat()
        if fstat(fd, &status) == 0 && (status.st_mode & S_IFMT) == S_IFDIR {
            if fd != 0 { Glibc.close(fd) }
            throw ValidationError("cannot read \(path): it is a directory")
        }
        size = fstat(fd, &status) == 0 && (status.st_mode & S_IFMT) == S_IFREG ? Int(status.st_size) : nil
        var bytes = [UInt8](repeating: 0, count: Self.sniffedBytes)
        var count = 0
        while count < bytes.count {
            let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + count, $0.count - count) }
            if n > 0 {
                count += n
            } else if n < 0 && errno == EINTR {
                continue
            } else if n < 0 {
                let reason = String(cString: strerror(errno))
                if fd != 0 { Glibc.close(fd) }
                throw ValidationError("cannot read \(path): \(reason)")
            } else {
                break
            }
        }
        self.fd = fd
        prefix = Array(bytes.prefix(count))
    }

    /// What the file holds: text, an .xlsx workbook, or a format that is refused.
    func format() -> FileFormat {
        switch FileFormat.sniff(prefix) {
        case .zip:
            if path == "-" {
                return .refused(
                    "a zip archive (an .xlsx workbook?) from standard input: a workbook is read from its file, give its name instead of -"
                )
            }
            return XLSXWorkbook.classify(path: path)
        case let other: return other
        }
    }

    /// Closes the file (not standard input).
    func close() {
        if fd != 0 { Glibc.close(fd) }
    }
}

extension InputEncoding: ExpressibleByArgument {}
