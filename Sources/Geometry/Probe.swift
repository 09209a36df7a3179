import Diffusion
import Formats
import Networks
import Tensors

/// The input distribution P the geometry averages over (spec §8, paper Fig. 9, App. F).
public enum Probe: Equatable, Sendable, CustomStringConvertible {
    /// x = 0 (the reference default, σ = 0).
    case zero
    /// x ~ N(0, σ² I), fresh per network.
    case gaussian(sigma: Float)
    /// x = forward diffusion q(x_t | x₀) of a uniformly chosen image of a `.npy` dataset
    /// (N, C, H, W), as the reference's data-probed geometry.
    case data(path: String)
    /// A fixed degenerate input δ_z, z ~ N(0, I) drawn once from `seed` (paper App. F).
    case fixed(seed: UInt64)

    public var description: String {
        switch self {
        case .zero: return "zero"
        case let .gaussian(s): return "gaussian:\(s)"
        case let .data(p): return "data:\(p)"
        case let .fixed(s): return "fixed:\(s)"
        }
    }

    /// Parses `zero`, `gaussian:σ`, `data:PATH`, `fixed:SEED`.
    public static func parse(_ text: String) throws -> Probe {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        func fail() -> SettingError {
            SettingError(
                setting: "probe", expected: "zero, gaussian:SIGMA (0 ≤ SIGMA ≤ 1e6), data:PATH or fixed:SEED",
                found: text)
        }
        switch parts.first {
        case "zero" where parts.count == 1: return .zero
        case "gaussian" where parts.count == 2:
            guard let s = Float(parts[1]), s.isFinite, s >= 0, s <= 1e6 else { throw fail() }
            return .gaussian(sigma: s)
        case "data" where parts.count == 2 && !parts[1].isEmpty: return .data(path: parts[1])
        case "fixed" where parts.count == 2:
            guard let s = UInt64(parts[1]) else { throw fail() }
            return .fixed(seed: s)
        default: throw fail()
        }
    }
}

/// A probe made ready for a given network shape (data loaded and checked once).
struct PreparedProbe: @unchecked Sendable {
    let probe: Probe
    let shape: [Int]  // (C, H, W)
    let images: Tensor?  // (N, C, H, W) for .data
    let fixedInput: Tensor?  // (1, C, H, W) for .fixed

    init(_ probe: Probe, shape: [Int]) throws {
        self.probe = probe
        self.shape = shape
        switch probe {
        case let .data(path):
            let array = try Npy.read(path)
            let t = try array.tensor(file: path, field: "data", converting: true)
            guard t.rank == 4, Array(t.shape.dropFirst()) == shape, t.shape[0] > 0 else {
                throw FormatError(
                    file: path, field: "shape",
                    expected: "(N, \(shape.map(String.init).joined(separator: ", "))) with N ≥ 1",
                    found: "\(t.shape)")
            }
            guard t.data.allSatisfy({ $0.isFinite }) else {
                throw FormatError(file: path, field: "data", expected: "finite values", found: "NaN or infinity")
            }
            images = t
            fixedInput = nil
        case let .fixed(seed):
            images = nil
            fixedInput = RandomStream(seed: seed, purpose: .probe, index: UInt64.max).normalTensor([1] + shape)
        case .zero, .gaussian:
            images = nil
            fixedInput = nil
        }
    }

    /// The input of network `n` at timestep t: (1, C, H, W).
    func input(network n: UInt64, timestep t: Int, seed: UInt64, schedule: NoiseSchedule) -> Tensor {
        let full = [1] + shape
        switch probe {
        case .zero: return Tensor(zeros: full)
        case let .gaussian(sigma):
            return RandomStream(seed: seed, purpose: .probe, index: n).normalTensor(full, std: sigma)
        case .fixed: return fixedInput!
        case .data:
            let images = self.images!
            let count = images.shape[0], d = images.count / count
            let pick = RandomStream(seed: seed, purpose: .data, index: n).integer(below: count, at: 0)
            let noise = RandomStream(seed: seed, purpose: .noise, index: n).normals(d)
            let abar = schedule.alphasCumprod[t]
            let a = abar.squareRoot(), b = (1 - abar).squareRoot()
            var x = Tensor(zeros: full)
            for j in 0..<d { x.data[j] = a * images.data[pick * d + j] + b * noise[j] }
            return x
        }
    }
}
