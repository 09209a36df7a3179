import Foundation
import TestSupport
import XCTest
@testable import Networks
import Formats
import Tensors

/// Micro-batched evaluation (``MicroBatching``): ε̂ bitwise equal to the whole batch, gradients
/// equal up to the order of the sum, and both bitwise the same for any thread count.
final class MicroBatchingTests: XCTestCase {
    /// The reference U-Net and DiT/2 with every parameter moved off its initialisation (at
    /// init the U-Net's output layer and the DiT's gates are zero, which would make ε̂ ≡ 0 and
    /// any comparison of outputs vacuous).
    func perturbedNetworks() throws -> [(String, ScoreNetwork)] {
        let configs = [
            ("U-Net 1x16x16", try loadConfig("1x16x16-iddpm")),
            ("DiT/2 1x16x16", try loadConfig("1x16x16-dit").with(patchSize: 2)),
        ]
        return configs.map { name, config in
            let net = ScoreNetwork(makeArchitecture(config), seed: 4)
            var values = net.parameters.values
            for (k, (key, value)) in values.sorted(by: { $0.key < $1.key }).enumerated() {
                let noise = RandomStream(seed: 9, purpose: .test, index: UInt64(k)).normalTensor(value.shape)
                values[key] = Tensor(shape: value.shape, data: zip(value.data, noise.data).map { $0 + 0.05 * $1 })
            }
            let specs = net.architecture.parameterSpecs(scheme: .reference)
            return (name, ScoreNetwork(net.architecture, parameters: ParameterSet(specs: specs, values: values)))
        }
    }

    func batch(_ n: Int, seed: UInt64) -> (x: Tensor, t: [Float], target: Tensor) {
        let x = RandomStream(seed: seed, purpose: .test, index: 0).normalTensor([n, 1, 16, 16])
        let target = RandomStream(seed: seed, purpose: .test, index: 1).normalTensor([n, 1, 16, 16])
        let t = (0..<n).map { Float(($0 * 37) % 1000) }
        return (x, t, target)
    }

    /// "none", or how many elements of `a` differ from `b` and by how much at most.
    func differences(_ a: Tensor, _ b: Tensor) -> String {
        let d = zip(a.data, b.data).map { abs($0 - $1) }
        let n = d.filter { $0 != 0 }.count
        return n == 0 && a.shape == b.shape ? "none" : "\(n) of \(d.count) differ, by up to \(d.max() ?? 0)"
    }

    func testRangesCoverTheBatchInNearlyEqualContiguousPieces() {
        XCTAssertEqual(MicroBatching(samples: 64).ranges(1000).count, 16)
        XCTAssertEqual(Set(MicroBatching(samples: 64).ranges(1000).map(\.count)), [62, 63])
        XCTAssertEqual(MicroBatching(samples: 16).ranges(40), [0..<13, 13..<26, 26..<40])
        XCTAssertEqual(MicroBatching(samples: 64).ranges(64), [0..<64])
        XCTAssertEqual(MicroBatching.wholeBatch.ranges(5), [0..<5])
        XCTAssertEqual(MicroBatching(samples: 3).ranges(0), [])
        for n in [1, 7, 65, 129, 999] {
            let r = MicroBatching(samples: 8).ranges(n)
            XCTAssertEqual(r.first?.lowerBound, 0)
            XCTAssertEqual(r.last?.upperBound, n)
            XCTAssertTrue(zip(r, r.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
        }
    }

    /// The default cut applies to sample-independent architectures above 64 samples only.
    func testTheDefaultCutAppliesOnlyAboveItsSize() throws {
        let net = ScoreNetwork(makeArchitecture(try loadConfig("1x16x16-iddpm")), seed: 1)
        XCTAssertTrue(net.architecture.samplesAreIndependent)
        XCTAssertEqual(net.resolvedCut(nil, batch: 128), MicroBatching(samples: 64))
        XCTAssertNil(net.resolvedCut(nil, batch: 64))
        XCTAssertNil(net.resolvedCut(.wholeBatch, batch: 100_000))
        XCTAssertEqual(net.resolvedCut(MicroBatching(samples: 10), batch: 11), MicroBatching(samples: 10))
        // An architecture not marked sample-independent never runs in micro-batches.
        let mlp = try NetworkConfig.parse(
            Array(
                (#"{"shape": [1, 4, 4], "learning_rate": 1e-2, "grad_clip": 1, "#
                    + #""diffuser": {"T": 1000, "linear": true, "model": {"type": "mlp", "#
                    + #""hidden": [8], "time_embedding_dim": 4}}}"#).utf8))
        let mlpNet = ScoreNetwork(makeArchitecture(mlp), seed: 1)
        XCTAssertFalse(mlpNet.architecture.samplesAreIndependent)
        XCTAssertNil(mlpNet.resolvedCut(MicroBatching(samples: 10), batch: 100))
        XCTAssertNil(mlpNet.resolvedCut(nil, batch: 100))
        XCTAssertEqual(MicroBatching.option(0), .wholeBatch)
        XCTAssertEqual(MicroBatching.option(5), MicroBatching(samples: 5))
    }

    /// The largest |a − b| relative to the largest |b|.
    func relativeDifference(_ a: Tensor, _ b: Tensor) -> Double {
        let scale = Double(b.data.map(abs).max() ?? 0)
        return Double(zip(a.data, b.data).map { abs($0 - $1) }.max() ?? 0) / max(scale, .leastNormalMagnitude)
    }

    /// ε̂ over micro-batches of 13–14 samples: bitwise the same for 1 and 2 threads, and equal
    /// to ε̂ over the whole batch of 40 up to float32 rounding (a GEMM over fewer rows may take
    /// other kernel paths, so the bits can differ).
    func testEpsilonMatchesTheWholeBatchAndIgnoresTheThreadCount() throws {
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        let (x, t, _) = batch(40, seed: 3)
        for (name, net) in try perturbedNetworks() {
            let whole = net.epsilon(x, timesteps: t, cut: .wholeBatch)
            XCTAssertGreaterThan(whole.data.map(abs).max() ?? 0, 0.1, name)
            var runs: [Tensor] = []
            for threads in [1, 2] {
                Parallel.threadCount = threads
                runs.append(net.epsilon(x, timesteps: t, cut: MicroBatching(samples: 16)))
            }
            XCTAssertEqual(runs[0].shape, whole.shape, name)
            XCTAssertEqual(differences(runs[0], runs[1]), "none", name)
            XCTAssertLessThan(relativeDifference(runs[0], whole), 1e-5, name)
        }
    }

    /// Loss, prediction and gradients over micro-batches (one, and then two, per gradient
    /// group): bitwise the same for 1 and 2 threads, and equal to the whole batch's up to the
    /// float32 rounding of a differently ordered sum over samples.
    func testGradientsMatchTheWholeBatchAndIgnoreTheThreadCount() throws {
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        let (x, t, target) = batch(40, seed: 5)
        for (name, net) in try perturbedNetworks() {
            let whole = net.lossAndGradients(xt: x, timesteps: t, target: target, cut: .wholeBatch)
            // 8 → 5 micro-batches in 5 groups; 4 → 10 micro-batches, 2 per group.
            for size in [8, 4] {
                var runs: [(loss: Float, prediction: Tensor, gradients: [String: Tensor])] = []
                for threads in [1, 2] {
                    Parallel.threadCount = threads
                    runs.append(
                        net.lossAndGradients(xt: x, timesteps: t, target: target, cut: MicroBatching(samples: size)))
                }
                let label = "\(name), micro-batches of \(size)"
                XCTAssertEqual(runs[0].loss, runs[1].loss, label)
                XCTAssertEqual(differences(runs[0].prediction, runs[1].prediction), "none", label)
                for (key, g) in runs[0].gradients {
                    XCTAssertEqual(differences(g, runs[1].gradients[key]!), "none", "\(label) \(key)")
                }
                let micro = runs[0]
                XCTAssertLessThan(relativeDifference(micro.prediction, whole.prediction), 1e-5, label)
                XCTAssertEqual(micro.loss, whole.loss, accuracy: 1e-5 * whole.loss, label)
                XCTAssertEqual(Set(micro.gradients.keys), Set(whole.gradients.keys), label)
                // Relative to the largest gradient element anywhere: some gradients are zero in
                // exact arithmetic (a ResBlock's embedding bias feeding a one-channel-per-group
                // GroupNorm) and hold only rounding residue, which a reordered sum changes wholly.
                let scale = whole.gradients.values.map { Double($0.data.map(abs).max() ?? 0) }.max() ?? 0
                var worst = 0.0, worstKey = ""
                for (key, g) in whole.gradients {
                    let diff = Double(zip(micro.gradients[key]!.data, g.data).map { abs($0 - $1) }.max() ?? 0)
                    if diff / scale > worst { (worst, worstKey) = (diff / scale, key) }
                }
                XCTAssertLessThan(worst, 1e-5, "\(label): worst gradient difference (\(worstKey))")
                XCTAssertGreaterThan(worst, 0, "\(label): the micro-batched path was not taken")
            }
        }
    }
}
