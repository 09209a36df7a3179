import ArgumentParser
import Benchmarks
import Foundation
import Tensors

/// `sad self-check`: prints ``EngineSelfCheck`` and fails when any check fails.
struct SelfCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "self-check",
        abstract: "Check the numerical engine on this machine (seconds).")

    @OptionGroup var threadOptions: ThreadOptions

    func run() throws {
        try threadOptions.apply()
        print("ScoreAnisotropy \(sadVersion) — engine self-check (\(Parallel.threadCount) threads)\n")
        let (checks, gflops) = try EngineSelfCheck.run()
        for c in checks { print("  [\(c.passed ? "ok" : "FAIL")] \(c.name): \(c.detail)") }
        print(
            String(
                format: "\n  conv2d 32→32 3×3 16×16, batch 256: %.1f GFLOP/s (see `sad bench` for ratios to peak)",
                gflops))
        let failures = checks.filter { !$0.passed }.count
        print(failures == 0 ? "\nAll engine checks passed." : "\n\(failures) engine check(s) FAILED.")
        if failures > 0 { throw ExitCode.failure }
    }
}
