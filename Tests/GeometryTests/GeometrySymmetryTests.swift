import Foundation
import XCTest
@testable import Geometry
import Formats
import Networks
import Tensors

/// The symmetry-averaged estimate (``GeometrySymmetryOption``): exactly invariant, the group
/// average of the plain estimate of the same networks, part of the run identity, and applied
/// only where the architecture and the probe have the symmetry.
final class GeometrySymmetryTests: XCTestCase {
    func unet(_ shape: [Int], _ interpolation: Interpolation) throws -> NetworkConfig {
        let json = """
            {"shape": \(shape), "learning_rate": 1e-3, "grad_clip": 1.0, "diffuser": {"T": 1000, "linear": true,
             "model": {"base_channels": 32, "num_res_attn_blocks": 1, "channel_mults": [1, 2],
             "is_attn": [false, false, false], "num_heads": 4, "dropout": 0.0, "use_scale_shift_norm": false}}}
            """
        return try NetworkConfig.parse(Array(json.utf8), file: "symmetry-test").with(interpolation: interpolation)
    }

    func spec(
        _ c: NetworkConfig, _ symmetry: GeometrySymmetryOption, structure: GeometryStructure = .auto,
        probe: Probe = .zero, estimator: Estimator = .marginal
    ) throws -> GeometrySpec {
        try GeometryRun.makeSpec(
            config: c, configPath: "test", interpolation: nil, patchSize: nil, scheme: .reference,
            estimator: estimator, probe: probe, seed: 3, networks: 48, chunkSize: 8, structure: structure,
            symmetry: symmetry)
    }

    func write(_ spec: GeometrySpec, _ c: NetworkConfig) throws -> String {
        let dir = try scratch()
        let state = try GeometryRun(spec: spec, config: c).run(statePath: "\(dir)/state.safetensors")
        try SADs(state: state).write(to: dir)
        return dir
    }

    func geometry(_ dir: String) throws -> [Double] { try Npy.read("\(dir)/geometry.npy").doubles }

    /// The plain estimate's group average, computed here from its geometry.npy.
    func average(_ g: [Double], _ group: SpatialSymmetry, channels: Int, side: Int) -> [Double] {
        let perms = group.permutations(height: side, width: side)
        let plane = side * side, n = channels * plane
        var out = [Double](repeating: 0, count: n * n)
        for perm in perms {
            let full = (0..<n).map { ($0 / plane) * plane + perm[$0 % plane] }
            for p in 0..<n { for q in 0..<n { out[p * n + q] += g[full[p] * n + full[q]] / Double(perms.count) } }
        }
        return out
    }

    func check(_ c: NetworkConfig, _ group: SpatialSymmetry, channels: Int, side: Int) throws {
        let on = try spec(c, .auto), off = try spec(c, .none)
        XCTAssertEqual(on.symmetry, group)
        XCTAssertNil(off.symmetry)
        XCTAssertNotEqual(on.identity.hash, off.identity.hash)
        let a = try geometry(try write(on, c)), b = try geometry(try write(off, c))
        // Bitwise invariant under every element, and different from the plain estimate.
        let n = channels * side * side, plane = side * side
        for perm in group.permutations(height: side, width: side) {
            let full = (0..<n).map { ($0 / plane) * plane + perm[$0 % plane] }
            for p in 0..<n { for q in 0..<n { XCTAssertEqual(a[full[p] * n + full[q]], a[p * n + q]) } }
        }
        for p in 0..<n { for q in 0..<n { XCTAssertEqual(a[p * n + q], a[q * n + p]) } }
        XCTAssertNotEqual(a, b)
        // The same networks: the average of the plain estimate.
        let expected = average(b, group, channels: channels, side: side)
        let scale = expected.map(abs).max()!
        XCTAssertLessThan(zip(a, expected).map { abs($0 - $1) }.max()! / scale, 1e-12)
    }

    func testTransposeAverageForNearest() throws {
        try check(try unet([1, 8, 8], .nearest), .transpose, channels: 1, side: 8)
    }

    /// D4 for "area", RGB factored (K over the grid) and RGB full (every channel's plane moves).
    func testDihedralAverageForAreaFactoredAndFull() throws {
        let c = try unet([3, 8, 8], .area)
        try check(c, .dihedral, channels: 3, side: 8)
        let full = try spec(c, .auto, structure: .full)
        XCTAssertEqual(full.symmetry, .dihedral)
        let factoredDir = try write(try spec(c, .auto), c), fullDir = try write(full, c)
        let f = try geometry(factoredDir), g = try geometry(fullDir)
        XCTAssertLessThan(zip(f, g).map { abs($0 - $1) }.max()! / g.map(abs).max()!, 1e-6)
        let summary = try String(contentsOfFile: "\(factoredDir)/summary.txt", encoding: .utf8)
        XCTAssertTrue(summary.contains("symmetry: dihedral (8 elements)"), summary)
        // D4's two-dimensional representation: exactly degenerate pairs in K's spectrum.
        let v = try Npy.read("\(factoredDir)/vals.npy").doubles
        let pairs = (0..<(v.count / 3 - 1)).filter { abs(v[3 * $0] - v[3 * $0 + 3]) <= 1e-12 * v[0] }.count
        XCTAssertGreaterThan(pairs, 8, "2-fold groups of K (equal to the eigensolver's rounding)")
        let diagnostics = try String(contentsOfFile: "\(factoredDir)/diagnostics.json", encoding: .utf8)
        XCTAssertTrue(diagnostics.contains("\"exact\""), "the pairs are reported as exact groups")
    }

    /// No averaging where the probe or the architecture lacks the symmetry; a state claiming
    /// one the architecture does not have is refused.
    func testOnlyWhereItHolds() throws {
        let c = try unet([1, 8, 8], .nearest)
        XCTAssertEqual(try spec(c, .auto, probe: .gaussian(sigma: 0.5)).symmetry, .transpose)
        XCTAssertNil(try spec(c, .auto, probe: .fixed(seed: 1)).symmetry)
        XCTAssertEqual(try spec(c, .auto, estimator: .importance).symmetry, .transpose)
        let dit = try NetworkConfig.parse(
            Array(
                """
                {"shape": [1, 8, 8], "learning_rate": 1e-3, "grad_clip": 1.0, "diffuser": {"T": 1000,
                 "linear": true, "model": {"hidden_size": 32, "depth": 1, "num_heads": 2, "mlp_ratio": 2}}}
                """.utf8), file: "dit"
        ).with(patchSize: 2)
        XCTAssertNil(try spec(dit, .auto).symmetry)
        var claimed = try spec(c, .none)
        claimed.symmetry = .dihedral
        XCTAssertThrowsError(try GeometryRun(spec: claimed, config: c).run(statePath: "\(try scratch())/s")) {
            XCTAssertTrue("\($0)".contains("spec.symmetry"), "\($0)")
        }
        // Resuming a plain run with the symmetry on is a different computation.
        let dir = try scratch()
        var partial = GeometryRun(spec: try spec(c, .none), config: c)
        partial.stopAfterChunks = 2
        try partial.run(statePath: "\(dir)/state.safetensors")
        XCTAssertThrowsError(
            try GeometryRun(spec: try spec(c, .auto), config: c).run(statePath: "\(dir)/state.safetensors")
        ) { XCTAssertTrue("\($0)".contains("symmetry"), "\($0)") }
    }
}

/// The split eigensolver against the plain one on an invariant matrix.
final class InvolutionSplitTests: XCTestCase {
    func testSplitEqualsPlainDecomposition() throws {
        // A random symmetric K averaged over the transpose of a 2-plane 5×5 grid (fixed points
        // on the diagonal), and over the row flip of a 4×6 grid (no fixed points).
        for (group, planes, h, w) in [(SpatialSymmetry.transpose, 2, 5, 5), (.flips, 1, 4, 6)] {
            let n = planes * h * w
            let rng = RandomStream(seed: 6, purpose: .test)
            let x = rng.normalTensor([n * n]).data.map(Double.init)
            var k = [Double](repeating: 0, count: n * n)
            for p in 0..<n { for q in 0..<n { k[p * n + q] = x[p * n + q] + x[q * n + p] } }
            k = group.average(k, channels: planes, height: h, width: w)
            let split = InvolutionSplit(group, planes: planes, height: h, width: w)
            let fast = try split.eigen(k, vectors: true), plain = try SymmetricEigen<Double>(symmetric: k, n: n)
            let scale = plain.values.map(abs).max()!
            for i in 0..<n { XCTAssertEqual(fast.values[i], plain.values[i], accuracy: 1e-12 * scale) }
            for (a, b) in zip(try split.eigen(k, vectors: false).values, fast.values) {
                XCTAssertEqual(a, b, accuracy: 1e-12 * scale, "values only: another tridiagonal solver")
            }
            // Each vector is a unit eigenvector: ‖K v − λ v‖ small.
            for i in 0..<n {
                var r = 0.0, norm = 0.0
                for p in 0..<n {
                    var kv = 0.0
                    for q in 0..<n { kv += k[p * n + q] * fast.vectors[i * n + q] }
                    r += pow(kv - fast.values[i] * fast.vectors[i * n + p], 2)
                    norm += pow(fast.vectors[i * n + p], 2)
                }
                XCTAssertEqual(norm, 1, accuracy: 1e-12)
                XCTAssertLessThan(r.squareRoot(), 1e-10 * scale)
            }
        }
    }
}
