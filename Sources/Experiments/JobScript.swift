import Formats
import Foundation

/// A job script that runs a recipe as independent shards on an existing scheduler, then
/// merges: a Slurm array (a prepare job, one task per shard, a merge job) or a GNU parallel
/// pipeline. Shards are deterministic (unit k runs in shard k mod N) and finished units are
/// skipped, so a script can be resubmitted after any failure.
public struct JobScript: Sendable, Equatable {
    public enum Scheduler: String, CaseIterable, Sendable {
        case slurm, parallel
    }

    public var scheduler: Scheduler
    public var recipe: String
    public var title: String
    public var profile: Profile
    public var units: Int
    public var shards: Int
    public var threads: Int
    /// Wall-time limit per Slurm task (HH:MM:SS).
    public var time: String
    /// The shared run directory.
    public var out: String
    /// The sad executable on the cluster.
    public var sad: String
    /// Extra `sad reproduce` flags (already quoted), e.g. `--data cifar:… --seeds 3`.
    public var flags: [String]
    /// Parallel jobs for GNU parallel (cores ÷ threads).
    public var jobs: Int

    public init(
        scheduler: Scheduler, recipe: String, title: String, profile: Profile, units: Int, shards: Int, threads: Int,
        time: String, out: String, sad: String, flags: [String], jobs: Int
    ) {
        self.scheduler = scheduler
        self.recipe = recipe
        self.title = title
        self.profile = profile
        self.units = units
        self.shards = shards
        self.threads = threads
        self.time = time
        self.out = out
        self.sad = sad
        self.flags = flags
        self.jobs = jobs
    }

    /// Range checks of the numbers and the time limit.
    public func validate() throws {
        try SettingError.check(shards, in: 1...100_000, "shards")
        try SettingError.check(threads, in: 1...1024, "threads")
        try SettingError.check(jobs, in: 1...100_000, "jobs")
        guard Self.isWallTime(time) else {
            throw SettingError(setting: "time", expected: "HH:MM:SS", found: "'\(time)'")
        }
    }

    /// Whether `s` is a Slurm wall-time limit HH:MM:SS (hours up to 4 digits).
    public static func isWallTime(_ s: String) -> Bool {
        s.range(of: #"^[0-9]{1,4}:[0-5][0-9]:[0-5][0-9]$"#, options: .regularExpression) != nil
    }

    /// The file the script is written to, inside the run directory.
    public var path: String { scheduler == .slurm ? "\(out)/submit-slurm.sh" : "\(out)/run-parallel.sh" }

    /// A shell word: as it is when it is plain, else single-quoted.
    public static func quoted(_ s: String) -> String {
        s.allSatisfy { $0.isLetter || $0.isNumber || "/._-:,=".contains($0) }
            ? s : "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// The `sad reproduce` command every shard runs (without its --shard).
    var base: String {
        ([Self.quoted(sad), "reproduce", recipe, "--profile", profile.rawValue] + flags + [
            "--out", Self.quoted(out), "--threads", "\(threads)",
        ]).joined(separator: " ")
    }

    public var text: String {
        let merge = "\(Self.quoted(sad)) sweep merge --out \(Self.quoted(out))"
        switch scheduler {
        case .slurm:
            return """
                #!/bin/bash
                # \(recipe) (\(title)), profile \(profile.rawValue): \(units) units in \(shards) shards.
                # Submit with: bash \(path)
                # Shards are deterministic (unit k runs in shard k mod \(shards)); finished units are skipped \
                on resubmission.
                set -euo pipefail
                prep=$(sbatch --parsable --job-name=sad-\(recipe)-prep --cpus-per-task=\(threads) --time=\(time) \\
                  --wrap "\(base) --shard 0/\(shards) --prepare-only")
                array=$(sbatch --parsable --dependency=afterok:$prep --job-name=sad-\(recipe) \\
                  --array=0-\(shards - 1) --cpus-per-task=\(threads) --time=\(time) \\
                  --wrap "\(base) --shard \\${SLURM_ARRAY_TASK_ID}/\(shards)")
                sbatch --dependency=afterok:$array --job-name=sad-\(recipe)-merge --time=01:00:00 \\
                  --wrap "\(merge)"

                """
        case .parallel:
            return """
                #!/bin/bash
                # \(recipe), profile \(profile.rawValue): \(units) units in \(shards) shards with GNU parallel.
                set -euo pipefail
                \(base) --shard 0/\(shards) --prepare-only
                seq 0 \(shards - 1) | parallel -j \(jobs) "\(base) --shard {}/\(shards)"
                \(merge)

                """
        }
    }

    /// Writes the script into the run directory (created if needed).
    public func write() throws {
        try validate()
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }
}
