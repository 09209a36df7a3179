import Formats
import Foundation
import XCTest

/// Runs the built `sad` executable (the test target depends on it, so `swift test` builds it
/// beside the test bundle) in a scratch directory, with a time limit.
struct SadRun {
    let status: Int32
    /// True when the process ended by a signal (a trap: SIGILL, SIGTRAP, SIGABRT, SIGKILL …).
    let signaled: Bool
    let stdout: String
    let stderr: String
    var output: String { stderr + stdout }
}

/// A scratch directory with tiny configs, and `sad` invoked in it.
final class SadSandbox {
    let directory: String

    static var executable: String {
        // The test bundle lives in the products directory (…/release/XPackageTests.xctest).
        var url = Bundle(for: SadSandbox.self).bundleURL
        while url.pathExtension == "xctest" || url.lastPathComponent == "Contents" { url.deleteLastPathComponent() }
        return url.appendingPathComponent("sad").path
    }

    init(_ name: String) throws {
        directory = NSTemporaryDirectory() + "sad-cli-\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try write("mlp.json", Self.mlp(hidden: 16))
        try write("mlp32.json", Self.mlp(hidden: 32))
        try write("mlp-lr.json", Self.mlp(hidden: 16, learningRate: "2e-3"))
        try write(
            "linear.json",
            """
            {"shape": [1, 4, 4], "learning_rate": 1e-3, "grad_clip": 1.0,
             "diffuser": {"T": 100, "linear": true, "model": {"type": "linear", "features": 8, "theta_std": 0.01}}}
            """)
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    static func mlp(hidden: Int, learningRate: String = "1e-3", shape: String = "[1, 4, 4]") -> String {
        """
        {"shape": \(shape), "learning_rate": \(learningRate), "grad_clip": 1.0,
         "diffuser": {"T": 100, "linear": true,
                      "model": {"type": "mlp", "hidden": [\(hidden)], "time_embedding_dim": 8}}}
        """
    }

    func path(_ name: String) -> String { directory + "/" + name }

    func write(_ name: String, _ text: String) throws { try AtomicFile.write(text: text, to: path(name)) }

    func bytes(_ name: String) throws -> [UInt8] { try AtomicFile.read(path(name)) }

    /// Runs `sad args` here; `env` is added to a clean environment (SAD_THREADS unset unless given).
    @discardableResult
    func run(_ args: [String], env: [String: String] = [:], timeout: TimeInterval = 300) throws -> SadRun {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.executable)
        process.arguments = args
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        var environment = ProcessInfo.processInfo.environment
        environment["SAD_THREADS"] = nil
        environment["SWIFT_BACKTRACE"] = "enable=no"
        for (k, v) in env { environment[k] = v }
        process.environment = environment
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Drain both pipes while the process runs (a full pipe would block it).
        var outData = Data(), errData = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            outData = out.fileHandleForReading.readDataToEndOfFile(); group.leave()
        }
        group.enter()
        DispatchQueue.global().async {
            errData = err.fileHandleForReading.readDataToEndOfFile(); group.leave()
        }
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            process.terminate(); XCTFail("sad \(args.joined(separator: " ")) ran past \(timeout) s")
        }
        process.waitUntilExit()
        group.wait()
        return SadRun(
            status: process.terminationStatus, signaled: process.terminationReason == .uncaughtSignal,
            stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self))
    }

    /// Starts `sad args` and returns the process (for kill tests).
    func start(_ args: [String]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.executable)
        process.arguments = args
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }
}

extension XCTestCase {
    /// A refusal: non-zero exit, no signal, and a message containing every one of `words`
    /// (the file or option, the field, what was expected, what was found).
    func assertRefused(_ run: SadRun, mentions words: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertFalse(
            run.signaled, "trapped (signal \(run.status)): \(run.output.prefix(600))", file: file, line: line)
        XCTAssertNotEqual(
            run.status, 0, "exit 0 where a refusal was expected: \(run.output.prefix(600))", file: file, line: line)
        XCTAssertFalse(
            run.output.contains("Fatal error") || run.output.contains("Program crashed"),
            "crash report: \(run.output.prefix(600))", file: file, line: line)
        for w in words {
            XCTAssertTrue(
                run.output.contains(w), "message lacks '\(w)': \(run.output.prefix(600))", file: file, line: line)
        }
    }

    func assertSucceeded(_ run: SadRun, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertFalse(run.signaled, "trapped: \(run.output.prefix(600))", file: file, line: line)
        XCTAssertEqual(run.status, 0, "failed: \(run.output.prefix(800))", file: file, line: line)
    }
}
