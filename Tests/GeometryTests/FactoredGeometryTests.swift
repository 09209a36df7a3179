import Foundation
import XCTest
@testable import Geometry
import Diffusion
import Formats
import Networks
import Tensors

/// The factored estimate (``MarginalFactorization``) against the full D×D one, same seeds.
final class FactoredGeometryTests: XCTestCase {
    /// A small RGB U-Net: 3×8×8, base 32, two levels.
    func rgbUNet() throws -> NetworkConfig {
        let json = """
            {"shape": [3, 8, 8], "learning_rate": 1e-3, "grad_clip": 1.0,
             "diffuser": {"T": 1000, "linear": true, "model": {"base_channels": 32,
             "num_res_attn_blocks": 1, "channel_mults": [1, 2], "is_attn": [false, false, false],
             "num_heads": 4, "dropout": 0.0, "use_scale_shift_norm": false}}}
            """
        return try NetworkConfig.parse(Array(json.utf8), file: "rgb-test")
    }

    func run(_ c: NetworkConfig, _ e: Estimator, _ s: GeometryStructure, networks: Int = 48) throws -> SADs {
        let spec = try GeometryRun.makeSpec(
            config: c, configPath: "test", interpolation: nil, patchSize: nil, scheme: .reference, estimator: e,
            probe: .zero, seed: 5, networks: networks, chunkSize: 8, structure: s)
        return try SADs(
            state: try GeometryRun(spec: spec, config: c).run(statePath: "\(try scratch())/state.safetensors"))
    }

    func maxRelative(_ a: [Double], _ b: [Double]) -> Double {
        let scale = b.map(abs).max()!
        return zip(a, b).map { abs($0 - $1) }.max()! / scale
    }

    /// Marginal estimator: per network R_nᵀR_n = I_C ⊗ K_n, so factored = full to rounding,
    /// with every eigenvalue exactly C-fold.
    func testMarginalFactoredEqualsFullForRGB() throws {
        let c = try rgbUNet()
        let factored = try run(c, .marginal, .auto), full = try run(c, .marginal, .full)
        XCTAssertEqual(factored.spec.factorization?.groups, 3)
        XCTAssertNil(full.spec.factorization)
        XCTAssertNotEqual(factored.spec.identity.hash, full.spec.identity.hash)
        XCTAssertEqual(factored.kernel.count, 64 * 64)
        XCTAssertLessThan(maxRelative(factored.geometry, full.geometry), 1e-6)
        XCTAssertLessThan(maxRelative(factored.values, full.eigen.values), 1e-6)
        // Exact multiplicities: the three eigenvalues of a group are the same Float64.
        let v = factored.values
        for k in 0..<64 { XCTAssertTrue(v[3 * k] == v[3 * k + 1] && v[3 * k] == v[3 * k + 2]) }
        XCTAssertEqual(factored.diagnostics.replication, 3)
        XCTAssertEqual(
            factored.diagnostics.degenerateGroups.map { $0[1] }.reduce(0, +), 192,
            "\(factored.diagnostics.degenerateGroups)")
        XCTAssertTrue(factored.diagnostics.degenerateGroups.allSatisfy { $0[1] % 3 == 0 })
        XCTAssertTrue(factored.summary.contains("exactly 3-fold"))
        // The top SAD's subspace agrees with the full estimate's top group.
        let d = 192, fe = factored.eigen, ge = full.eigen
        var energy = 0.0
        for i in 0..<3 {
            for j in 0..<3 {
                var dot = 0.0
                for q in 0..<d { dot += fe.vectors[i * d + q] * ge.vectors[j * d + q] }
                energy += dot * dot
            }
        }
        XCTAssertEqual(energy / 3, 1, accuracy: 1e-6)
    }

    /// Importance estimator: the factored K is the full estimate averaged over the output
    /// channels' diagonal blocks (the projection onto the structure E[G] has).
    func testImportanceFactoredIsTheChannelAverageOfFull() throws {
        let c = try rgbUNet()
        let factored = try run(c, .importance, .factored), full = try run(c, .importance, .full)
        let g = full.geometry, m = 64, d = 192
        var average = [Double](repeating: 0, count: m * m)
        for ch in 0..<3 {
            for p in 0..<m { for q in 0..<m { average[p * m + q] += g[(ch * m + p) * d + ch * m + q] / 3 } }
        }
        XCTAssertLessThan(maxRelative(factored.kernel, average), 1e-9)
        XCTAssertEqual(factored.diagnostics.trace, full.diagnostics.trace, accuracy: 1e-9 * full.diagnostics.trace)
    }

    /// The DiT's replicated features are p²C patch features scattered by unpatchify: a
    /// non-identity layout. Factored = full to rounding.
    func testDiTFactoredEqualsFull() throws {
        let c = try config("1x16x16-dit").with(patchSize: 4)
        let factored = try run(c, .marginal, .auto, networks: 24), full = try run(c, .marginal, .full, networks: 24)
        let f = try XCTUnwrap(factored.spec.factorization)
        XCTAssertEqual(f.groups, 16)
        XCTAssertEqual(f.positions, 16)
        XCTAssertNotNil(f.layout)
        XCTAssertLessThan(maxRelative(factored.geometry, full.geometry), 1e-6)
    }

    /// Factored result files: bitwise the same for 1 and 2 threads and for shards merged; the
    /// D×D geometry read back from kernel.npy + layout.npy when geometry.npy is absent.
    func testFactoredFilesAreDeterministicAndReadable() throws {
        let c = try rgbUNet()
        let spec = try GeometryRun.makeSpec(
            config: c, configPath: "test", interpolation: nil, patchSize: nil, scheme: .reference,
            estimator: .marginal, probe: .zero, seed: 9, networks: 40, chunkSize: 8)
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        var outputs: [String] = []
        for threads in [1, 2] {
            Parallel.threadCount = threads
            let dir = try scratch()
            try SADs(state: try GeometryRun(spec: spec, config: c).run(statePath: "\(dir)/state.safetensors"))
                .write(to: dir)
            outputs.append(dir)
        }
        var merged: GeometryState?
        for i in 0..<3 {
            var r = GeometryRun(spec: spec, config: c)
            r.shard = Shard(index: i, count: 3)
            let s = try r.run(statePath: "\(try scratch())/state.safetensors")
            if merged == nil { merged = s } else { try merged!.merge(s, otherPath: "shard \(i)") }
        }
        let dir = try scratch()
        try SADs(state: merged!).write(to: dir)
        outputs.append(dir)
        let files = ["vecs.npy", "vals.npy", "geometry.npy", "kernel.npy", "layout.npy", "diagnostics.json"]
        for name in files {
            let first = try AtomicFile.read("\(outputs[0])/\(name)")
            for other in outputs.dropFirst() { XCTAssertEqual(try AtomicFile.read("\(other)/\(name)"), first, name) }
        }
        let dense = try GeometryFiles.geometry(directory: outputs[0], dimension: 192)
        try FileManager.default.removeItem(atPath: "\(outputs[0])/geometry.npy")
        XCTAssertEqual(try GeometryFiles.geometry(directory: outputs[0], dimension: 192), dense)
        // A corrupt layout is refused, not used.
        try Npy.write(
            NDArray(shape: [3, 64], int64: [Int64](repeating: 0, count: 192)), to: "\(outputs[0])/layout.npy")
        XCTAssertThrowsError(try GeometryFiles.geometry(directory: outputs[0], dimension: 192)) {
            XCTAssertTrue("\($0)".contains("permutation"), "\($0)")
        }
    }

    /// Resuming with another structure is refused (a different computation); `factored` is
    /// refused where the structure does not hold.
    func testStructureIsPartOfTheIdentity() throws {
        let c = try rgbUNet()
        let dir = try scratch()
        let full = try GeometryRun.makeSpec(
            config: c, configPath: "test", interpolation: nil, patchSize: nil, scheme: .reference,
            estimator: .importance, probe: .zero, seed: 1, networks: 32, chunkSize: 8, structure: .full)
        var r = GeometryRun(spec: full, config: c)
        r.stopAfterChunks = 1
        try r.run(statePath: "\(dir)/state.safetensors")
        let factored = try GeometryRun.makeSpec(
            config: c, configPath: "test", interpolation: nil, patchSize: nil, scheme: .reference,
            estimator: .importance, probe: .zero, seed: 1, networks: 32, chunkSize: 8)
        XCTAssertThrowsError(try GeometryRun(spec: factored, config: c).run(statePath: "\(dir)/state.safetensors"))
        XCTAssertThrowsError(
            try GeometryRun.makeSpec(
                config: c, configPath: "test", interpolation: nil, patchSize: nil, scheme: .symmetric,
                estimator: .importance, probe: .zero, seed: 1, networks: 32, chunkSize: 8, structure: .factored)
        ) { XCTAssertTrue("\($0)".contains("structure"), "\($0)") }
    }

    /// Group-aware diagnostics: two halves whose vectors inside an exactly degenerate pair are
    /// rotated by 45° have per-rank overlap 0.707 but the same subspace, which counts as stable.
    func testSubspaceStabilityInsideAGroup() throws {
        let n = 4
        let c = 0.5.squareRoot()
        let identity: [Double] = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]
        let rotated: [Double] = [c, c, 0, 0, -c, c, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]
        let values: [Double] = [4, 4, 2, 1]
        let a = SymmetricEigen(values: values, vectors: identity), b = SymmetricEigen(values: values, vectors: rotated)
        let diag = StabilityDiagnostics.compute(
            total: a, halfA: a, halfB: b, chunkTrace: [11, 11], chunkWeight: [1, 1], chunkWeightSquared: [1, 1],
            chunkNetworks: [1, 1], networksPerHalf: [1, 1], bandHalfWidth: 0)
        XCTAssertEqual(diag.perRankOverlap[0], c, accuracy: 1e-12)
        XCTAssertEqual(diag.groups.first?.size, 2)
        XCTAssertEqual(diag.groups.first?.subspaceOverlap ?? 0, 1, accuracy: 1e-12)
        XCTAssertTrue(diag.isStable(0) && diag.isStable(1))
        XCTAssertEqual(n, values.count)
        // Replicated 3-fold: each group's subspace overlap is its spatial overlap squared.
        let r = diag.replicated(3)
        XCTAssertEqual(r.perRankOverlap.count, 12)
        XCTAssertEqual(r.groups.map(\.size), [6, 3, 3])
        XCTAssertEqual(r.groups[1].kind, "replicated")
    }
}
