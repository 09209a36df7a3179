import Foundation
import TestSupport
import XCTest
@testable import Experiments

/// The Slurm and GNU parallel job scripts: every shard, the merge after them, shell-safe
/// quoting, and a script bash accepts.
final class JobScriptTests: XCTestCase {
    func script(_ scheduler: JobScript.Scheduler, out: String) -> JobScript {
        JobScript(
            scheduler: scheduler, recipe: "fig6", title: "MSW2 on rank-one data along SADs", profile: .paper,
            units: 180, shards: 12, threads: 4, time: "12:00:00", out: out, sad: "/opt/sad bin/sad",
            flags: ["--seeds", "5"], jobs: 3)
    }

    func testSlurmArrayCoversEveryShardThenMerges() throws {
        let dir = try scratchDirectory("jobs") + "/run 'x'"
        let s = script(.slurm, out: dir)
        let text = s.text
        XCTAssertTrue(text.contains("--array=0-11"), text)
        XCTAssertTrue(text.contains("--shard 0/12 --prepare-only"))
        XCTAssertTrue(text.contains("--shard \\${SLURM_ARRAY_TASK_ID}/12"))
        XCTAssertTrue(text.contains("--dependency=afterok:$prep"))
        XCTAssertTrue(text.contains("--dependency=afterok:$array"))
        XCTAssertTrue(text.contains("'/opt/sad bin/sad' reproduce fig6 --profile paper --seeds 5"))
        XCTAssertTrue(text.contains(JobScript.quoted(dir)))
        XCTAssertEqual(JobScript.quoted("it's"), "'it'\\''s'")
        try s.write()
        XCTAssertEqual(try String(contentsOfFile: "\(dir)/submit-slurm.sh", encoding: .utf8), text)
        XCTAssertEqual(try bashSyntax(s.path), 0)
    }

    func testParallelRunsEveryShardThenMerges() throws {
        let dir = try scratchDirectory("jobs")
        let s = script(.parallel, out: dir)
        XCTAssertTrue(s.text.contains("seq 0 11 | parallel -j 3"), s.text)
        XCTAssertTrue(s.text.contains("sweep merge --out \(dir)"))
        try s.write()
        XCTAssertEqual(try bashSyntax(s.path), 0)
    }

    func testBadSettingsAreRefused() {
        var s = script(.slurm, out: "/tmp/x")
        s.time = "24h"
        XCTAssertThrowsError(try s.validate()) { XCTAssertTrue("\($0)".contains("HH:MM:SS"), "\($0)") }
        s.time = "01:00:00"
        s.shards = 0
        XCTAssertThrowsError(try s.validate()) { XCTAssertTrue("\($0)".contains("shards"), "\($0)") }
    }

    /// `bash -n`: parses the script without running it.
    func bashSyntax(_ path: String) throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = ["-n", path]
        try p.run()
        p.waitUntilExit()
        return p.terminationStatus
    }
}
