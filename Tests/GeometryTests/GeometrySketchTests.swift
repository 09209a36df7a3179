import Foundation
import XCTest
@testable import Geometry
import Formats
import Networks
import Tensors

/// The matrix-free sketch against the dense factored estimate of the same networks.
final class GeometrySketchTests: XCTestCase {
    func spec(_ c: NetworkConfig, networks: Int = 96) throws -> GeometrySpec {
        try GeometryRun.makeSpec(
            config: c, configPath: "test", interpolation: nil, patchSize: nil, scheme: .reference, estimator: .marginal,
            probe: .zero, seed: 11, networks: networks, chunkSize: 8, structure: .factored, dense: false)
    }

    func overlap(_ a: [Double], _ b: [Double], m: Int, k: Int) -> Double {
        GeometrySketch.subspaceOverlap(a, b, rows: m, k: k)
    }

    /// Block Krylov (4 passes): top-8 subspace overlap with the dense K ≥ 0.99, eigenvalues to
    /// 1e-3, residual bounds that hold; single-pass Nyström: a bound, and the top SAD.
    func testSketchAgreesWithDense() throws {
        let c = try config("1x16x16-iddpm")
        let s = try spec(c)
        let dense = try SADs(
            state: try GeometryRun(spec: s, config: c).run(statePath: "\(try scratch())/s.safetensors"))
        let m = 256, k = 8
        let denseTop = Array(dense.kernelEigen.vectors.prefix(k * m))
        let krylov = try GeometrySketch(spec: s, architecture: makeArchitecture(c), k: k, oversampling: 24, passes: 4)
            .run()
        XCTAssertGreaterThan(overlap(krylov.vectors, denseTop, m: m, k: k), 0.99)
        for i in 0..<k {
            let truth = dense.kernelEigen.values[i]
            XCTAssertEqual(krylov.values[i], truth, accuracy: 1e-3 * truth)
            // The residual bound: an eigenvalue of K̂ within ‖r‖ of θ.
            let nearest = dense.kernelEigen.values.map { abs($0 - krylov.values[i]) }.min()!
            XCTAssertLessThanOrEqual(nearest, krylov.residuals![i] * (1 + 1e-6) + 1e-9 * truth)
        }
        XCTAssertEqual(krylov.kernelTrace, dense.diagnostics.trace, accuracy: 1e-9 * dense.diagnostics.trace)
        let nystrom = try GeometrySketch(spec: s, architecture: makeArchitecture(c), k: k, oversampling: 24, passes: 1)
            .run()
        XCTAssertGreaterThan(try XCTUnwrap(nystrom.nystromBound), 0)
        XCTAssertGreaterThan(overlap(Array(nystrom.vectors.prefix(m)), Array(denseTop.prefix(m)), m: m, k: 1), 0.99)
    }

    /// The written result is bitwise the same for 1 and 2 threads.
    func testSketchFilesAreDeterministic() throws {
        let c = try config("1x16x16-iddpm")
        let s = try spec(c, networks: 40)
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        var dirs: [String] = []
        for threads in [1, 2] {
            Parallel.threadCount = threads
            let dir = try scratch()
            try GeometrySketch(spec: s, architecture: makeArchitecture(c), k: 4, oversampling: 8, passes: 3).run()
                .write(to: dir)
            dirs.append(dir)
        }
        for name in ["vecs.npy", "vals.npy", "sketch.json", "summary.txt"] {
            XCTAssertEqual(try AtomicFile.read("\(dirs[0])/\(name)"), try AtomicFile.read("\(dirs[1])/\(name)"), name)
        }
        XCTAssertTrue(CompletionManifest.isComplete(dirs[0]))
    }

    /// Refusals: a full or non-marginal estimate, and k + oversampling beyond M.
    func testSketchRefusals() throws {
        let c = try config("1x16x16-iddpm")
        let full = try GeometryRun.makeSpec(
            config: c, configPath: "t", interpolation: nil, patchSize: nil, scheme: .reference, estimator: .marginal,
            probe: .zero, seed: 1, networks: 16, chunkSize: 4, structure: .full)
        XCTAssertThrowsError(
            try GeometrySketch(spec: full, architecture: makeArchitecture(c), k: 4, oversampling: 4, passes: 2))
        XCTAssertThrowsError(
            try GeometrySketch(
                spec: try spec(c), architecture: makeArchitecture(c), k: 200, oversampling: 100, passes: 2)
        ) { XCTAssertTrue("\($0)".contains("256"), "\($0)") }
    }
}
