import Formats
import Geometry
import Tensors
import XCTest

/// `--samples`: F vectors from elsewhere through the engine's accumulator and shards.
final class SampleRowsTests: XCTestCase {
    func testSamplesGiveTheirWeightedSecondMomentAndShardExactly() throws {
        let dir = NSTemporaryDirectory() + "samples-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let m = 200, d = 6
        let f = RandomStream(seed: 1, purpose: .noise, index: 0).normals(m * d).map { Double($0) }
        let w = (0..<m).map { Double($0 % 3) }
        try Npy.write(NDArray(shape: [m, d], float64: f), to: dir + "/F.npy")
        try Npy.write(NDArray(shape: [m], float64: w), to: dir + "/w.npy")
        let rows = try SampleRows.load(dir + "/F.npy", weights: dir + "/w.npy")
        let spec = try GeometryRun.makeSpec(samples: rows, chunkSize: 16)
        let whole = try SADs(state: try GeometryRun(spec: spec, samples: rows).run(statePath: dir + "/a.safetensors"))
        for i in 0..<d {
            for j in 0..<d {
                var g = 0.0
                for r in 0..<m { g += w[r] * f[r * d + i] * f[r * d + j] }
                XCTAssertEqual(whole.geometry[i * d + j], g / Double(m), accuracy: 1e-12)
            }
        }
        var parts: [GeometryState] = []
        for k in 0..<3 {
            var run = GeometryRun(spec: spec, samples: rows)
            run.shard = Shard(index: k, count: 3)
            parts.append(try run.run(statePath: dir + "/s\(k).safetensors"))
        }
        var merged = parts[2]
        try merged.merge(parts[0], otherPath: "s0")
        try merged.merge(parts[1], otherPath: "s1")
        merged.shard = .whole
        XCTAssertEqual(try SADs(state: merged).geometry, whole.geometry)
    }
}
