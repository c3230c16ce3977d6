import Glibc

/// A fresh directory under /tmp, removed with everything in it when the value is released.
final class TemporaryDirectory {
    let path: String

    init() {
        var template = Array("/tmp/tokenstore-test-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed")
        path = String(cString: made!)
    }

    deinit {
        _ = system("rm -rf '\(path)'")
    }

    /// Writes `text` to `name` in the directory and returns its path.
    func write(_ name: String, _ text: String) -> String {
        let file = "\(path)/\(name)"
        let fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        precondition(fd >= 0)
        var bytes = Array(text.utf8)
        _ = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        close(fd)
        return file
    }
}
