import Foundation
import ReaderHarness
import XCTest

/// Replays every committed fuzzing input (Tests/Fixtures/fuzz-corpus/READER, found by
/// `scripts/fuzz` and minimised) through its reader: each must either be accepted or throw —
/// a trap ends the test process and fails CI. CI replays; it does not fuzz. The valid seeds
/// (made by the tool's own writers) must all be accepted.
final class CorpusReplayTests: XCTestCase {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/fuzz-corpus")

    func inputs(_ reader: String) -> [URL] {
        let dir = Self.corpus.appendingPathComponent(reader)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.sorted().map { dir.appendingPathComponent($0) }
    }

    func testEveryReaderHasACommittedCorpus() {
        for reader in ReaderHarness.readers {
            XCTAssertFalse(
                inputs(reader).isEmpty, "no committed fuzzing corpus for reader \(reader) (run scripts/fuzz)")
        }
    }

    func testReplayCorpus() throws {
        var accepted = 0, refused = 0
        for reader in ReaderHarness.readers {
            for url in inputs(reader) {
                let bytes = [UInt8](try Data(contentsOf: url))
                if ReaderHarness.run(reader, bytes) { accepted += 1 } else { refused += 1 }
            }
        }
        XCTAssertGreaterThan(refused, 0, "the corpus holds malformed inputs that must be refused")
        XCTAssertGreaterThan(accepted, 0, "the corpus holds valid inputs that must be accepted")
    }

    func testSeedsAreAccepted() throws {
        for reader in ReaderHarness.readers {
            let seeds = try ReaderHarness.seeds(reader)
            XCTAssertFalse(seeds.isEmpty, reader)
            for seed in seeds {
                XCTAssertTrue(ReaderHarness.run(reader, seed.bytes), "valid seed \(reader)/\(seed.name) was refused")
            }
        }
    }

    /// Truncations and single-byte corruptions of every seed: refused or accepted, never a trap.
    func testCorruptedSeedsNeverTrap() throws {
        for reader in ReaderHarness.readers {
            for seed in try ReaderHarness.seeds(reader) {
                let b = seed.bytes
                for cut in Set([0, 1, 8, b.count / 3, b.count / 2, b.count - 1]) where cut < b.count {
                    ReaderHarness.run(reader, Array(b.prefix(cut)))
                }
                for position in stride(from: 0, to: b.count, by: max(1, b.count / 24)) {
                    for value: UInt8 in [0, 0xff, b[position] ^ 0x20] {
                        var c = b
                        c[position] = value
                        ReaderHarness.run(reader, c)
                    }
                }
            }
        }
    }
}
