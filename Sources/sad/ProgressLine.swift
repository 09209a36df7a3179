import Foundation

/// A one-line progress indicator with ETA on a terminal; silent when stderr is not a TTY.
final class ProgressLine {
    let label: String
    let start = Date()
    let enabled = isatty(2) != 0

    init(label: String) { self.label = label }

    func update(_ done: Int, _ total: Int) {
        guard enabled, total > 0 else { return }
        let elapsed = Date().timeIntervalSince(start)
        let eta = done > 0 ? elapsed * Double(total - done) / Double(done) : 0
        let line = String(
            format: "\r%@: %d/%d (%.0f%%), %.0f s elapsed, ETA %.0f s   ", label, done, total,
            100 * Double(done) / Double(total), elapsed, eta)
        FileHandle.standardError.write(Data(line.utf8))
    }

    func finish() { if enabled { FileHandle.standardError.write(Data("\n".utf8)) } }
}
