import Formats
import Foundation
import Tensors

/// A self-check of the numerical engine on this machine (seconds): RNG known answers,
/// autodiff against finite differences, an eigendecomposition, a file round trip, and a
/// speed figure. `sad self-check` prints it; the tests run it.
public enum EngineSelfCheck {
    /// One check's outcome.
    public struct Check: Sendable, Equatable {
        public var name: String
        public var passed: Bool
        public var detail: String
    }

    /// The checks in order, and the conv2d throughput (GFLOP/s) measured last.
    public static func run() throws -> (checks: [Check], convGFLOPs: Double) {
        var checks: [Check] = []

        // 1. Philox known answer (Random123 test vector).
        let kat = Philox.block(counter: SIMD4(0, 0, 0, 0), key: SIMD2(0, 0))
        checks.append(
            Check(
                name: "Philox4x32-10 known answer",
                passed: kat == SIMD4(0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8),
                detail: String(format: "%08x %08x %08x %08x", kat[0], kat[1], kat[2], kat[3])))

        // 2. Normal moments.
        let z = RandomStream(seed: 2026, purpose: .test).normals(1 << 20)
        let mean = z.reduce(0.0) { $0 + Double($1) } / Double(z.count)
        let variance = z.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(z.count) - mean * mean
        checks.append(
            Check(
                name: "normal generator", passed: abs(mean) < 0.005 && abs(variance - 1) < 0.01,
                detail: String(format: "mean %+.4f, variance %.4f over 2^20 draws", mean, variance)))

        // 3. A small conv → GroupNorm → SiLU → attention graph: analytic vs finite-difference gradients.
        let x = RandomStream(seed: 1, purpose: .test, index: 0).normalTensor([2, 4, 4, 4])
        let w = RandomStream(seed: 1, purpose: .test, index: 1).normalTensor([4, 4, 3, 3], std: 0.3)
        let gradient = GradientCheck.check([x, w]) { v in
            let h = groupNorm(conv2d(v[0], weight: v[1], bias: nil, padding: 1), groups: 2, weight: nil, bias: nil)
                .silu()
            let tokens = h.reshaped([2, 4, 16]).permuted([0, 2, 1])  // (N, T, C)
            return scaledDotProductAttention(q: tokens, k: tokens, v: tokens)
        }
        checks.append(
            Check(
                name: "autodiff vs finite differences", passed: gradient.worst < 1e-2,
                detail: String(
                    format: "worst relative error %.2e (conv2d, GroupNorm, SiLU, attention)", gradient.worst)))

        // 4. Eigendecomposition of a known spectrum.
        let n = 64
        var a = [Double](repeating: 0, count: n * n)
        for i in 0..<n { a[i * n + i] = Double(i) }
        let eig = try SymmetricEigen<Double>(symmetric: a, n: n)
        checks.append(
            Check(
                name: "symmetric eigendecomposition",
                passed: eig.values.first == Double(n - 1) && eig.values.last == 0,
                detail: "descending \(eig.values.first!) … \(eig.values.last!)"))

        // 5. File formats round trip through an atomic write.
        let path = "\(FileManager.default.temporaryDirectory.path)/sad-self-check-\(getpid()).safetensors"
        try SafeTensors.write([("x", NDArray(x))], metadata: ["origin": "sad self-check"], to: path)
        let back = try SafeTensors.read(path).tensor("x")
        try? FileManager.default.removeItem(atPath: path)
        checks.append(Check(name: "safetensors round trip", passed: back == x, detail: "\(x.count) floats"))

        // 6. A quick speed figure.
        let images = RandomStream(seed: 3, purpose: .test).normalTensor([256, 32, 16, 16])
        let kernel = RandomStream(seed: 4, purpose: .test).normalTensor([32, 32, 3, 3], std: 0.06)
        let seconds = Stopwatch.best(repetitions: 2) {
            _ = Conv2d.forward(images, weight: kernel, bias: nil, padding: 1)
        }
        let flops = Conv2d.Geometry(input: images.shape, weight: kernel.shape, stride: 1, padding: 1)
            .forwardFLOPs(batch: 256)
        return (checks, flops / seconds / 1e9)
    }
}
