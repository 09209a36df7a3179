import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whole-file reads and crash-safe writes.
///
/// A write goes to a temporary file in the destination's directory, is fsync'ed, then
/// renamed over the destination (atomic on POSIX), and the directory is fsync'ed so the
/// rename itself survives a crash. Readers therefore see the old file or the new one,
/// never a half-written one.
public enum AtomicFile {
    /// Writes `bytes` to `path` atomically.
    public static func write(_ bytes: [UInt8], to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        let temp = directory + "/." + url.lastPathComponent + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard fd >= 0 else { throw ioError(path, "create temporary file", errno) }
        var ok = false
        defer { if !ok { unlink(temp) } }
        var written = 0
        let result: Int32 = bytes.withUnsafeBytes { raw -> Int32 in
            while written < raw.count {
                let n = systemWrite(fd, raw.baseAddress! + written, raw.count - written)
                if n < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                written += n
            }
            return 0
        }
        if result != 0 { close(fd); throw ioError(path, "write", result) }
        if fsync(fd) != 0 { let e = errno; close(fd); throw ioError(path, "fsync", e) }
        if close(fd) != 0 { throw ioError(path, "close", errno) }
        if rename(temp, path) != 0 { throw ioError(path, "rename into place", errno) }
        ok = true
        let dirFD = open(directory, O_RDONLY)
        if dirFD >= 0 { _ = fsync(dirFD); close(dirFD) }
    }

    /// Writes UTF-8 text atomically.
    public static func write(text: String, to path: String) throws { try write(Array(text.utf8), to: path) }

    /// Reads a whole file, with an error naming it. Only regular files are read (a FIFO or
    /// /dev/zero would never end), and only when their size fits the memory budget.
    public static func read(_ path: String) throws -> [UInt8] {
        var info = stat()
        if stat(path, &info) == 0 {
            guard (info.st_mode & S_IFMT) == S_IFREG else {
                let kind =
                    (info.st_mode & S_IFMT) == S_IFDIR ? "a directory" : "not a regular file (device, FIFO or socket)"
                throw FormatError(file: path, field: "file", expected: "a readable regular file", found: kind)
            }
            try MemoryBudget.require([Int(info.st_size)], for: "the file's contents", file: path, field: "file")
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            var isDir: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDir)
            throw FormatError(
                file: path, field: "file", expected: "a readable file",
                found: exists ? (isDir.boolValue ? "a directory" : "no read permission") : "no such file")
        }
        defer { try? handle.close() }
        do {
            return Array(try handle.readToEnd() ?? Data())
        } catch {
            throw FormatError(file: path, field: "file", expected: "a readable file", found: "read error: \(error)")
        }
    }

    /// Removes temporary files that ``write(_:to:)`` left in `directory` when a process was
    /// killed mid-write (`.NAME.tmp-PID-RANDOM` whose PID no longer runs). Called when a run
    /// directory is opened, so kills never accumulate debris.
    public static func removeStaleTemporaries(in directory: String) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        for name in names where name.hasPrefix(".") && name.contains(".tmp-") {
            let fields = name.split(separator: "-")
            guard fields.count >= 3, let pid = Int32(fields[fields.count - 2]) else { continue }
            if pid != getpid() && kill(pid, 0) != 0 && errno == ESRCH {
                unlink(directory + "/" + name)
            }
        }
    }

    static func ioError(_ path: String, _ what: String, _ code: Int32) -> FormatError {
        FormatError(file: path, field: "file", expected: "to \(what)", found: String(cString: strerror(code)))
    }
}

#if canImport(Glibc)
private let systemWrite = Glibc.write
#else
private let systemWrite = Darwin.write
#endif
