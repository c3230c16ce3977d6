import Glibc

/// Collects bytes in a 64 KiB buffer and writes them to a file descriptor in whole chunks, so an
/// export of a million rows makes a few hundred write(2) calls instead of a million.
///
/// Not thread-safe. Call ``flush()`` at the end: bytes still buffered when the value is released
/// are dropped, because a write error must be reported, not lost in a deinit.
public final class BufferedOutput {
    /// Size of the buffer and of each write.
    public static let chunkSize = 1 << 16

    private let fd: Int32
    private let name: String
    private let buffer: UnsafeMutablePointer<UInt8>
    private var count = 0
    /// Bytes handed to write(2) so far.
    public private(set) var bytesWritten = 0

    /// Writes to `fd` (not closed here); `name` is used in error messages.
    public init(fd: Int32, name: String) {
        self.fd = fd
        self.name = name
        buffer = .allocate(capacity: Self.chunkSize)
    }

    deinit {
        buffer.deallocate()
    }

    /// Appends `length` bytes from `bytes`.
    public func write(_ bytes: UnsafePointer<UInt8>, count length: Int) throws(OutputError) {
        if length > Self.chunkSize - count {
            try flush()
            if length >= Self.chunkSize {
                try writeAll(bytes, length)
                return
            }
        }
        (buffer + count).update(from: bytes, count: length)
        count += length
    }

    /// Appends the bytes of `bytes`.
    public func write(_ bytes: [UInt8]) throws(OutputError) {
        try bytes.withUnsafeBufferPointer { (b) throws(OutputError) in
            if let base = b.baseAddress { try write(base, count: b.count) }
        }
    }

    /// Appends the UTF-8 of `text`.
    public func write(_ text: String) throws(OutputError) {
        try write(Array(text.utf8))
    }

    /// Appends one byte.
    @inline(__always)
    public func write(byte: UInt8) throws(OutputError) {
        if count == Self.chunkSize { try flush() }
        buffer[count] = byte
        count += 1
    }

    /// Writes out everything buffered.
    public func flush() throws(OutputError) {
        guard count > 0 else { return }
        let pending = count
        count = 0
        try writeAll(buffer, pending)
    }

    private func writeAll(_ bytes: UnsafePointer<UInt8>, _ length: Int) throws(OutputError) {
        let failure = FileDescriptorWriting.writeAll(bytes, count: length, to: fd)
        guard failure == 0 else { throw OutputError.system("cannot write \(name)", errno: failure) }
        bytesWritten += length
    }
}
