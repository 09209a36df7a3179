import Foundation
import XCTest
import TestSupport
@testable import Experiments
import Datasets
import Diffusion
import Formats
import Geometry
import Networks
import Tensors

/// A network that predicts the exact ε* of a law, plus an optional constant offset c·w along
/// one direction: its score error must be 0, or c² along w alone.
struct ExactGaussianNetwork: ScoreArchitecture {
    let law: GaussianLaw
    let schedule: NoiseSchedule
    let offset: [Double]
    let inputShape: [Int]

    func parameterSpecs(scheme: InitScheme) -> [ParameterSpec] { [] }

    func forward(_ x: Variable, timesteps: [Float], parameters p: ParameterBindings) -> Variable {
        let d = law.dimension, n = timesteps.count
        let xs = x.value.data.map(Double.init)
        var out = Tensor(zeros: x.shape)
        for i in 0..<n {
            let star = law.optimalEpsilon(
                xs[(i * d)..<((i + 1) * d)], alphaBar: schedule.alphasCumprod64[Int(timesteps[i])])
            for q in 0..<d { out.data[i * d + q] = Float(star[q] + offset[q]) }
        }
        return Variable(out)
    }
}

final class ScoreErrorTests: XCTestCase {
    func testExactNetworkHasNoErrorAndAnOffsetShowsAlongItsDirection() throws {
        let shape = [1, 4, 4], d = 16
        let law = try ScoreError.gaussianLaw(.rankOneBasis(family: "dct", a: 1, b: 2), shape: shape)
        let schedule = NoiseSchedule(kind: .linear, timesteps: 1000)
        let basis = try Basis.all("dct", shape: shape).vectors.data.map(Double.init)
        let bands = try TimestepBand.logSpaced(count: 3, timesteps: 1000)
        func run(_ offset: [Double]) throws -> [ScoreError.Band] {
            let arch = ExactGaussianNetwork(law: law, schedule: schedule, offset: offset, inputShape: shape)
            let net = ScoreNetwork(arch, parameters: ParameterSet(specs: [], values: [:]))
            return try ScoreError(network: net, law: law, schedule: schedule, directions: basis)
                .evaluate(bands: bands, samples: 300, seed: 1, batch: 64)
        }
        for band in try run([Double](repeating: 0, count: d)) {
            // Float32 output of an O(1) target: error ~1e-14 per sample.
            XCTAssertLessThan(band.total.mean, 1e-9, band.timesteps)
            XCTAssertEqual(band.targetNorm.mean, Double(d), accuracy: 3)
        }
        let c = 0.5, j = 5
        let shifted = try run((0..<d).map { c * basis[j * d + $0] })
        for band in shifted {
            XCTAssertEqual(band.total.mean, c * c, accuracy: 1e-5)
            XCTAssertEqual(band.perDirection[j], c * c, accuracy: 1e-5)
            for k in 0..<d where k != j { XCTAssertLessThan(band.perDirection[k], 1e-9) }
            XCTAssertEqual(band.samples, 300)
        }
        // Same draws whatever the batch (the projections' BLAS rounding may differ in the last
        // bits), and bitwise the same numbers for the same batch.
        let arch = ExactGaussianNetwork(
            law: law, schedule: schedule, offset: Array(repeating: 0.1, count: d),
            inputShape: shape)
        let net = ScoreNetwork(arch, parameters: ParameterSet(specs: [], values: [:]))
        let e = try ScoreError(network: net, law: law, schedule: schedule, directions: basis)
        let small = try e.evaluate(bands: bands, samples: 100, seed: 4, batch: 7)
        let whole = try e.evaluate(bands: bands, samples: 100, seed: 4, batch: 100)
        XCTAssertEqual(small, try e.evaluate(bands: bands, samples: 100, seed: 4, batch: 7))
        for (a, b) in zip(small, whole) {
            XCTAssertEqual(a.total.mean, b.total.mean, accuracy: 1e-12)
            for (p, q) in zip(a.perDirection, b.perDirection) { XCTAssertEqual(p, q, accuracy: 1e-12) }
        }
        let pooled = ScoreError.pooled(shifted)
        XCTAssertEqual(pooled.total.mean, c * c, accuracy: 1e-5)
    }

    func testGaussianSADSourceSamplesItsLaw() throws {
        let dir = try scratchDirectory("gaussian-sad")
        let shape = [1, 4, 4], d = 16
        let basis = try Basis.all("dct", shape: shape).vectors
        try Npy.write(NDArray(basis), to: "\(dir)/vecs.npy")
        let source = try DataSource.parse("gaussian:sad:\(dir)/vecs.npy:0-15/4")
        XCTAssertEqual(source, .gaussianSADs(vecs: "\(dir)/vecs.npy", indices: [0, 4, 8, 12]))
        XCTAssertEqual(try DataSource.parse(source.description), source)
        let x = try source.load(shape: shape, count: 4000, seed: 2)
        // Variance D/k = 4 along each chosen row, 0 along the others.
        for k in 0..<d {
            var v = 0.0
            for n in 0..<4000 {
                var p = 0.0
                for q in 0..<d { p += Double(x.data[n * d + q]) * Double(basis.data[k * d + q]) }
                v += p * p / 4000
            }
            if [0, 4, 8, 12].contains(k) { XCTAssertEqual(v, 4, accuracy: 0.4) } else { XCTAssertLessThan(v, 1e-8) }
        }
        let law = try ScoreError.gaussianLaw(source, shape: shape)
        XCTAssertEqual(law.variances, [4, 4, 4, 4])
        for bad in ["gaussian:sad:v.npy:", "gaussian:sad:v.npy:3,3", "gaussian:sad:v.npy:5-2", "gaussian:sad::1"] {
            XCTAssertThrowsError(try DataSource.parse(bad), bad)
        }
        XCTAssertThrowsError(try ScoreError.gaussianLaw(.array(path: "x.npy"), shape: shape))
        // The same law on basis elements without a file: gaussian:dct:LIST is the vecs.npy law.
        let onBasis = try DataSource.parse("gaussian:dct:0-15/4")
        XCTAssertEqual(onBasis, .gaussianBasis(family: "dct", indices: [0, 4, 8, 12]))
        XCTAssertEqual(try DataSource.parse(onBasis.description), onBasis)
        XCTAssertEqual(
            try onBasis.load(shape: shape, count: 50, seed: 2), try source.load(shape: shape, count: 50, seed: 2))
        XCTAssertEqual(try ScoreError.gaussianLaw(onBasis, shape: shape).directions, law.directions)
        for bad in ["gaussian:fourier:0", "gaussian:dct:", "gaussian:dct:16", "gaussian:dct"] {
            XCTAssertThrowsError(try DataSource.parse(bad).load(shape: shape, count: 2, seed: 0), bad)
        }
    }
}
