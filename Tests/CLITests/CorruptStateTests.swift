import Formats
import Foundation
import XCTest

/// Class 6: every field read back from a state, checkpoint, sweep or result file is validated
/// as untrusted input.
final class CorruptStateTests: XCTestCase {
    let geometry = [
        "geometry", "--config", "mlp.json", "--estimator", "importance", "--networks", "32", "--chunk-size", "4",
        "--shard", "0/2", "--out", "g",
    ]

    /// Rewrites a safetensors file with `edit` applied to its metadata and arrays.
    func rewrite(_ path: String, _ edit: (inout [String: String], inout [(String, NDArray)]) -> Void) throws {
        let file = try SafeTensors.read(path)
        var metadata = file.metadata
        var arrays = file.names.map { ($0, file.arrays[$0]!) }
        edit(&metadata, &arrays)
        try SafeTensors.write(arrays, metadata: metadata, to: path)
    }

    func testEditedGeometryStatesAreRefused() throws {
        let box = try SadSandbox("state")
        assertSucceeded(try box.run(geometry))
        let state = box.path("g/state.safetensors")
        let original = try AtomicFile.read(state)
        try rewrite(state) { m, _ in
            m["spec"] = m["spec"]!.replacingOccurrences(of: "\"chunkSize\" : 4", with: "\"chunkSize\" : 0")
        }
        assertRefused(
            try box.run(["geometry", "merge", "g", "--out", "m"]),
            mentions: ["g/state.safetensors", "spec.chunkSize", "1…4096", "found 0"])
        try AtomicFile.write(original, to: state)
        try rewrite(state) { m, _ in
            m["spec"] = m["spec"]!.replacingOccurrences(of: "\"networks\" : 32", with: "\"networks\" : 64")
        }
        assertRefused(try box.run(geometry), mentions: ["g/state.safetensors", "identity", "networks"])
        try AtomicFile.write(original, to: state)
        try rewrite(state) { _, a in
            if let i = a.firstIndex(where: { $0.0 == "accumulator.networks" }) {
                a[i].1 = NDArray(shape: [2], int64: [-5, 3])
            }
        }
        assertRefused(try box.run(geometry), mentions: ["accumulator.networks", "expected", "found"])
        try AtomicFile.write(original, to: state)
        try rewrite(state) { _, a in
            if let i = a.firstIndex(where: { $0.0 == "chunks.done" }) {
                a[i].1 = NDArray(shape: [3], uint8: [1, 1, 1])
            }
        }
        assertRefused(try box.run(geometry), mentions: ["chunks.done", "expected 8 flags", "found"])
        try AtomicFile.write(Array(original.prefix(original.count / 2)), to: state)
        assertRefused(try box.run(geometry), mentions: ["g/state.safetensors", "expected", "found"])
    }

    func testEditedTrainingCheckpointsAreRefused() throws {
        let box = try SadSandbox("checkpoint")
        let t = [
            "train", "--config", "mlp.json", "--data", "rank-one:dct:0:1", "--num-samples", "16", "--batch-size", "8",
            "--out", "run",
        ]
        assertSucceeded(try box.run(t + ["--steps", "3"]))
        let path = box.path("run/checkpoint.safetensors")
        let original = try AtomicFile.read(path)
        try rewrite(path) { m, _ in m["step"] = "-1" }
        assertRefused(
            try box.run(t + ["--steps", "6"]),
            mentions: ["checkpoint.safetensors", "step", "expected an integer in 0…", "-1"])
        try AtomicFile.write(original, to: path)
        try rewrite(path) { _, a in
            if let i = a.firstIndex(where: { $0.0 == "train.losses" }) { a[i].1 = NDArray(shape: [1], float32: [0.5]) }
        }
        assertRefused(try box.run(t + ["--steps", "6"]), mentions: ["train.losses", "expected 3 losses", "found"])
        try AtomicFile.write(original, to: path)
        try rewrite(path) { _, a in
            if let i = a.firstIndex(where: { $0.0.hasPrefix("adam.v.") }) {
                guard case var .float32(v) = a[i].1.storage else { return }
                v[0] = -1
                a[i].1 = NDArray(shape: a[i].1.shape, float32: v)
            }
        }
        assertRefused(try box.run(t + ["--steps", "6"]), mentions: ["adam.v.", "non-negative", "found -1"])
        try AtomicFile.write(original, to: path)
        try rewrite(path) { m, _ in
            m["identity"] = m["identity"]!.replacingOccurrences(of: "rank-one:dct:0:1", with: "rank-one:dct:0:2")
        }
        assertRefused(try box.run(t + ["--steps", "6"]), mentions: ["identity.hash", "edited or corrupted"])
    }

    func testPreparedGeometryFilesOfTheWrongShapeAreRefused() throws {
        let box = try SadSandbox("vecs")
        try Npy.write(NDArray(shape: [4, 4], float32: [Float](repeating: 0.5, count: 16)), to: box.path("vecs.npy"))
        let t = [
            "train", "--config", "mlp.json", "--num-samples", "16", "--batch-size", "8", "--steps", "2", "--out", "run",
        ]
        assertRefused(
            try box.run(t + ["--data", "rank-one:sad:vecs.npy:3"]),
            mentions: ["vecs.npy", "vecs", "expected (16, 1, 4, 4)", "found"])
        try Npy.write(
            NDArray(shape: [16, 1, 4, 4], float32: [Float](repeating: 0, count: 256)), to: box.path("zero.npy"))
        assertRefused(
            try box.run(t + ["--data", "rank-one:sad:zero.npy:3"]),
            mentions: ["zero.npy", "vecs[3]", "unit vector", "norm 0"])
        assertRefused(
            try box.run(t + ["--data", "rank-one:sad:zero.npy:99"]), mentions: ["zero.npy", "index", "0…15", "99"])
    }

    /// Per-unit arrays that summaries read back (fig3's impulse responses) are checked too.
    func testEditedUnitArraysAreRefused() throws {
        let box = try SadSandbox("unit-arrays")
        assertSucceeded(try box.run(["reproduce", "fig3", "--seeds", "1", "--out", "run"]))
        try Npy.write(NDArray(shape: [3], float32: [1, 2, 3]), to: box.path("run/units/nearest_0_s0/response.npy"))
        assertRefused(
            try box.run(["sweep", "merge", "--out", "run"]),
            mentions: ["response.npy", "response", "expected 256 finite values", "found [3]"])
    }

    func testEditedSweepFilesAreRefused() throws {
        let box = try SadSandbox("sweep")
        assertSucceeded(try box.run(["reproduce", "fig4", "--seeds", "1", "--out", "run"]))
        let sweep = box.path("run/sweep.json")
        let original = try AtomicFile.read(sweep)
        try box.write(
            "run/sweep.json",
            String(decoding: original, as: UTF8.self).replacingOccurrences(
                of: "\"seeds\" : 1,",
                with: "\"seeds\" : -1,"))
        assertRefused(
            try box.run(["sweep", "status", "--out", "run"]), mentions: ["run/sweep.json", "seeds", "1…10000", "-1"])
        try box.write("run/sweep.json", "{\"recipe\": 3}")
        assertRefused(
            try box.run(["sweep", "merge", "--out", "run"]), mentions: ["run/sweep.json", "format", "expected"])
        try AtomicFile.write(original, to: sweep)
        // A unit result whose curve is short.
        let units = try FileManager.default.contentsOfDirectory(atPath: box.path("run/units")).filter {
            $0.hasSuffix(".json")
        }.sorted()
        let unit = "run/units/" + units[1]
        let text = String(decoding: try box.bytes(unit), as: UTF8.self)
        guard let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
            let curve = object["curve"] as? [[Double]]
        else { return XCTFail("fig4 unit without a curve") }
        var edited = object
        edited["curve"] = Array(curve.prefix(2))
        try AtomicFile.write(Array(try JSONSerialization.data(withJSONObject: edited)), to: box.path(unit))
        assertRefused(
            try box.run(["sweep", "merge", "--out", "run"]), mentions: ["curve", "expected", "found 2 rows"])
        // A unit result copied over another unit's name.
        try AtomicFile.write(try box.bytes("run/units/" + units[0]), to: box.path(unit))
        assertRefused(try box.run(["sweep", "merge", "--out", "run"]), mentions: [unit, "unit", "expected", "found"])
    }
}
