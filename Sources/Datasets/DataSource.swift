import Foundation
import Formats
import Tensors

/// Where training data comes from, as written on the command line:
/// * `PATH.npy` — an array (N, C, H, W) used as is (float) or scaled from [0, 255] to [−1, 1]
///   when it is uint8;
/// * `rank-one:FAMILY:A:B` — N(0, D·v vᵀ) along a basis vector (canonical x y, dct fx fy,
///   dst fx fy, hadamard sx sy);
/// * `rank-one:sad:VECS.npy:INDEX` — along row INDEX of a saved `vecs.npy` (descending SADs);
/// * `gaussian:sad:VECS.npy:LIST` — N(0, (D/k) Σ_{i ∈ LIST} u_i u_iᵀ): equal variance on k rows
///   of `vecs.npy` (LIST: indices and ranges `0,3,10-20` or a strided range `0-255/8`), the
///   same total variance D as a rank-one law;
/// * `gaussian:FAMILY:LIST` — the same on elements of a whole basis (canonical, dct, dst,
///   hadamard, haar) in ``Basis/all(_:shape:)`` order (row k of a 2-index family is
///   (k / N, k % N));
/// * `idx:PATH` — MNIST-format images (.gz or raw); `fashion-mnist` — the Debian package's;
/// * `cifar:PATH[,PATH…]` — CIFAR-10 binary batches;
/// * `png:DIR` — a folder of class subfolders of PNG images (the reference's ImageFolder).
public enum DataSource: Equatable, Sendable, CustomStringConvertible {
    case array(path: String)
    case idx(path: String)
    case cifar(paths: [String])
    case pngFolder(path: String)
    case rankOneBasis(family: String, a: Int, b: Int)
    case rankOneSAD(vecs: String, index: Int)
    case gaussianSADs(vecs: String, indices: [Int])
    case gaussianBasis(family: String, indices: [Int])

    /// Whether samples are drawn (the count is a setting) rather than read from a file.
    public var isSynthetic: Bool {
        switch self {
        case .rankOneBasis, .rankOneSAD, .gaussianSADs, .gaussianBasis: return true
        case .array, .idx, .cifar, .pngFolder: return false
        }
    }

    public var description: String {
        switch self {
        case let .array(p): return p
        case let .idx(p): return "idx:\(p)"
        case let .cifar(p): return "cifar:" + p.joined(separator: ",")
        case let .pngFolder(p): return "png:\(p)"
        case let .rankOneBasis(f, a, b): return "rank-one:\(f):\(a):\(b)"
        case let .rankOneSAD(v, i): return "rank-one:sad:\(v):\(i)"
        case let .gaussianSADs(v, list): return "gaussian:sad:\(v):" + list.map(String.init).joined(separator: ",")
        case let .gaussianBasis(f, list): return "gaussian:\(f):" + list.map(String.init).joined(separator: ",")
        }
    }

    public static func parse(_ text: String) throws -> DataSource {
        func fail() -> SettingError {
            SettingError(
                setting: "data",
                expected:
                    "PATH.npy, rank-one:FAMILY:A:B, rank-one:sad:VECS.npy:INDEX, gaussian:sad:VECS.npy:LIST, "
                    + "gaussian:FAMILY:LIST, "
                    + "idx:PATH, fashion-mnist, "
                    + "cifar:PATH[,PATH] or png:DIR",
                found: text)
        }
        if text == "fashion-mnist" { return .idx(path: ImageDatasets.fashionMNISTTrainImages) }
        if text.hasPrefix("idx:") && text.count > 4 { return .idx(path: String(text.dropFirst(4))) }
        if text.hasPrefix("cifar:") && text.count > 6 {
            return .cifar(paths: text.dropFirst(6).split(separator: ",").map(String.init))
        }
        if text.hasPrefix("png:") && text.count > 4 { return .pngFolder(path: String(text.dropFirst(4))) }
        if text.hasPrefix("rank-one:") {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            if parts.count == 4 && parts[1] == "sad" {
                guard let i = Int(parts[3]) else { throw fail() }
                return .rankOneSAD(vecs: parts[2], index: i)
            }
            guard parts.count == 4, ["canonical", "dct", "dst", "hadamard"].contains(parts[1]),
                let a = Int(parts[2]), let b = Int(parts[3])
            else { throw fail() }
            return .rankOneBasis(family: parts[1], a: a, b: b)
        }
        if text.hasPrefix("gaussian:sad:") {
            let rest = text.dropFirst("gaussian:sad:".count)
            guard let colon = rest.lastIndex(of: ":"), colon != rest.startIndex else { throw fail() }
            let path = String(rest[..<colon])
            guard let list = parseIndexList(String(rest[rest.index(after: colon)...])) else { throw fail() }
            return .gaussianSADs(vecs: path, indices: list)
        }
        if text.hasPrefix("gaussian:") {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 3, Self.basisFamilies.contains(parts[1]), let list = parseIndexList(parts[2]) else {
                throw fail()
            }
            return .gaussianBasis(family: parts[1], indices: list)
        }
        guard text.hasSuffix(".npy") else { throw fail() }
        return .array(path: text)
    }

    /// The bases `gaussian:FAMILY:LIST` draws from.
    public static let basisFamilies = ["canonical", "dct", "dst", "hadamard", "haar"]

    /// `0,3,10-20` or `0-255/8` → the indices in the order written, each at most once (nil:
    /// malformed, empty, negative, above 10⁶ or repeated).
    static func parseIndexList(_ text: String) -> [Int]? {
        var out: [Int] = []
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let strided = item.split(separator: "/", omittingEmptySubsequences: false)
            guard strided.count <= 2, let step = Int(strided.count == 2 ? strided[1] : "1"), step >= 1 else {
                return nil
            }
            let ends = strided[0].split(separator: "-", omittingEmptySubsequences: false).map { Int($0) }
            guard ends.count <= 2, let a = ends[0], let b = ends.last!, a >= 0, a <= b, b <= 1_000_000 else {
                return nil
            }
            out += Array(stride(from: a, through: b, by: step))
        }
        guard !out.isEmpty, Set(out).count == out.count else { return nil }
        return out
    }

    /// The unit direction of a rank-one source.
    public func direction(shape: [Int]) throws -> Tensor {
        switch self {
        case .array, .idx, .cifar, .pngFolder, .gaussianSADs, .gaussianBasis:
            throw SettingError(setting: "data", expected: "a rank-one source", found: description)
        case let .rankOneBasis(family, a, b):
            switch family {
            case "canonical": return try Basis.canonical(x: a, y: b).vector(shape: shape)
            case "dct": return try Basis.dct(fx: a, fy: b).vector(shape: shape)
            case "dst": return try Basis.dst(fx: a, fy: b).vector(shape: shape)
            default: return try Basis.hadamard(sx: a, sy: b).vector(shape: shape)
            }
        case let .rankOneSAD(path, index):
            return try Self.sadRow(path, index, shape: shape)
        }
    }

    /// Row `index` of a `vecs.npy` (D, C, H, W) as a unit vector, every field checked.
    static func sadRow(_ path: String, _ index: Int, shape: [Int], vecs given: Tensor? = nil) throws -> Tensor {
        let vecs = try given ?? Npy.read(path).tensor(file: path, field: "vecs", converting: true)
        let d = shape.reduce(1, *)
        guard vecs.rank >= 2, vecs.shape[0] == d, vecs.count == d * d else {
            throw FormatError(
                file: path, field: "vecs", expected: "(\(d), \(shape.map(String.init).joined(separator: ", ")))",
                found: "\(vecs.shape)")
        }
        guard index >= 0 && index < d else {
            throw FormatError(file: path, field: "index", expected: "0…\(d - 1)", found: "\(index)")
        }
        var v = Tensor(shape: shape, data: Array(vecs.data[(index * d)..<((index + 1) * d)]))
        try FormatError.requireFinite(v.data, file: path, field: "vecs[\(index)]")
        let n = Float(v.norm)
        guard n.isNormal, abs(n - 1) <= 1e-2 else {
            throw FormatError(
                file: path, field: "vecs[\(index)]", expected: "a unit vector (a SAD of vecs.npy)",
                found: "norm \(n)")
        }
        v.data = v.data.map { $0 / n }
        return v
    }

    /// The k unit directions (k, C, H, W) of a `gaussian:sad` source and the variance D/k on
    /// each (refused for the other sources).
    public func gaussianDirections(shape: [Int]) throws -> (directions: [Tensor], variance: Float) {
        switch self {
        case let .gaussianSADs(path, indices):
            let vecs = try Npy.read(path).tensor(file: path, field: "vecs", converting: true)
            let rows = try indices.map { try Self.sadRow(path, $0, shape: shape, vecs: vecs) }
            return (rows, Float(shape.reduce(1, *)) / Float(indices.count))
        case let .gaussianBasis(family, indices):
            let basis = try Basis.all(family, shape: shape).vectors
            let rows = try indices.map { try Self.sadRow("basis:\(family)", $0, shape: shape, vecs: basis) }
            return (rows, Float(shape.reduce(1, *)) / Float(indices.count))
        default:
            throw SettingError(
                setting: "data", expected: "a gaussian:sad:… or gaussian:FAMILY:… source", found: description)
        }
    }

    /// A real-image source's images at their stored size (N, C, H, W) in [−1, 1], so a
    /// caller can pick the matching config; synthetic sources are refused.
    public func loadImages() throws -> Tensor {
        switch self {
        case let .array(path):
            let array = try Npy.read(path)
            guard array.shape.count == 4 else {
                throw FormatError(file: path, field: "shape", expected: "(N, C, H, W)", found: "\(array.shape)")
            }
            return try load(shape: Array(array.shape.dropFirst()), count: 0, seed: 0)
        case let .idx(path): return try ImageDatasets.idxImages(path)
        case let .cifar(paths): return try ImageDatasets.cifar10(paths)
        case let .pngFolder(path): return try ImageDatasets.pngFolder(path)
        case .rankOneBasis, .rankOneSAD, .gaussianSADs, .gaussianBasis:
            throw SettingError(setting: "data", expected: "a real image dataset", found: description)
        }
    }

    func checked(_ t: Tensor, shape: [Int], file: String) throws -> Tensor {
        guard Array(t.shape.dropFirst()) == shape else {
            throw FormatError(
                file: file, field: "shape", expected: "images of shape \(shape) (the network config's)",
                found: "\(Array(t.shape.dropFirst()))")
        }
        return t
    }

    /// `count` samples (rank-one sources draw from `seed`, stream `index`: training and the
    /// fresh evaluation reference use different indices, as the reference redraws).
    public func load(shape: [Int], count: Int, seed: UInt64, stream index: UInt64 = 0) throws -> Tensor {
        switch self {
        case let .array(path):
            let array = try Npy.read(path)
            var t = try array.tensor(file: path, field: "data", converting: true)
            if array.dtype == .uint8 { t.data = t.data.map { ($0 / 255 - 0.5) / 0.5 } }
            guard t.rank == 4, Array(t.shape.dropFirst()) == shape, t.shape[0] >= 1 else {
                throw FormatError(
                    file: path, field: "shape", expected: "(N, \(shape.map(String.init).joined(separator: ", ")))",
                    found: "\(t.shape)")
            }
            guard t.data.allSatisfy({ $0.isFinite }) else {
                throw FormatError(file: path, field: "data", expected: "finite values", found: "NaN or infinity")
            }
            return t
        case let .idx(path):
            return try checked(try ImageDatasets.idxImages(path), shape: shape, file: path)
        case let .cifar(paths):
            return try checked(try ImageDatasets.cifar10(paths), shape: shape, file: paths.joined(separator: ","))
        case let .pngFolder(path):
            return try checked(try ImageDatasets.pngFolder(path), shape: shape, file: path)
        case .rankOneBasis, .rankOneSAD:
            try SettingError.check(count, in: 1...1_000_000_000, "numSamples")
            guard let d = MemoryBudget.product(shape), d >= 1 else {
                throw SettingError(setting: "shape", expected: "positive extents whose product fits", found: "\(shape)")
            }
            try MemoryBudget.require([count, d, 4], for: "\(count) samples of \(d) values", setting: "numSamples")
            return try SyntheticData.rankOne(
                direction: try direction(shape: shape), count: count, seed: seed, stream: index)
        case .gaussianSADs, .gaussianBasis:
            try SettingError.check(count, in: 1...1_000_000_000, "numSamples")
            let d = shape.reduce(1, *)
            try MemoryBudget.require([count, d, 4], for: "\(count) samples of \(d) values", setting: "numSamples")
            let (directions, variance) = try gaussianDirections(shape: shape)
            return try SyntheticData.gaussian(
                directions: directions, variance: variance, count: count, seed: seed, stream: index)
        }
    }
}
