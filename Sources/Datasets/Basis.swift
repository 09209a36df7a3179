import Foundation
import Formats
import Tensors

/// Orthonormal bases of images (C, H, W) in the reference's index conventions (spec §5):
/// x indexes columns, y rows; every vector has unit L2 norm. Canonical, DCT and DST work for
/// any size; Hadamard and Haar need powers of two.
///
/// Channel quirk kept from the reference: canonical, DCT, DST and Hadamard put the same
/// pattern in every channel (normalised over all of them); Haar addresses one channel.
public enum Basis: Equatable, Sendable {
    /// One-hot at pixel (row y, column x).
    case canonical(x: Int, y: Int)
    /// DCT-II: cos(π·fy(2m+1)/2H)·cos(π·fx(2n+1)/2W).
    case dct(fx: Int, fy: Int)
    /// DST-II: sin(π(fy+1)(2m+1)/2H)·sin(π(fx+1)(2n+1)/2W).
    case dst(fx: Int, fy: Int)
    /// Sequency-ordered (Walsh) Hadamard: row k has exactly k sign changes.
    case hadamard(sx: Int, sy: Int)
    /// Haar wavelet: detail level `scale` (block 2^(scale+1)), type·C + image channel in
    /// `channel`, block position (x, y); scale = log₂(size) with channel = image channel is
    /// the constant (DC) vector.
    case haar(scale: Int, channel: Int, x: Int, y: Int)

    /// The unit vector (C, H, W), or an error naming the invalid index.
    public func vector(shape: [Int]) throws -> Tensor {
        guard shape.count == 3, shape.allSatisfy({ $0 > 0 }) else {
            throw FormatError(file: "basis", field: "shape", expected: "(C, H, W)", found: "\(shape)")
        }
        let c = shape[0], h = shape[1], w = shape[2]
        func check(_ name: String, _ v: Int, _ n: Int) throws {
            guard v >= 0 && v < n else {
                throw FormatError(file: "basis", field: name, expected: "0…\(n - 1)", found: "\(v)")
            }
        }
        var plane = [Double](repeating: 0, count: h * w)
        switch self {
        case let .canonical(x, y):
            try check("x", x, w); try check("y", y, h)
            plane[y * w + x] = 1
        case let .dct(fx, fy):
            try check("fx", fx, w); try check("fy", fy, h)
            for m in 0..<h {
                for n in 0..<w {
                    plane[m * w + n] =
                        cos(Double.pi * Double(fy) * Double(2 * m + 1) / Double(2 * h))
                        * cos(Double.pi * Double(fx) * Double(2 * n + 1) / Double(2 * w))
                }
            }
        case let .dst(fx, fy):
            try check("fx", fx, w); try check("fy", fy, h)
            for m in 0..<h {
                for n in 0..<w {
                    plane[m * w + n] =
                        sin(Double.pi * Double(fy + 1) * Double(2 * m + 1) / Double(2 * h))
                        * sin(Double.pi * Double(fx + 1) * Double(2 * n + 1) / Double(2 * w))
                }
            }
        case let .hadamard(sx, sy):
            guard h.nonzeroBitCount == 1, w.nonzeroBitCount == 1 else {
                throw FormatError(
                    file: "basis", field: "shape", expected: "power-of-two H and W for Hadamard", found: "\(shape)")
            }
            try check("sx", sx, w); try check("sy", sy, h)
            let rowY = Self.walsh(sy, size: h), rowX = Self.walsh(sx, size: w)
            for m in 0..<h { for n in 0..<w { plane[m * w + n] = rowY[m] * rowX[n] } }
        case let .haar(scale, channel, x, y):
            return try haarVector(shape: shape, scale: scale, channel: channel, x: x, y: y)
        }
        // Same pattern in every channel, normalised over the whole vector.
        let norm = (Double(c) * plane.reduce(0) { $0 + $1 * $1 }).squareRoot()
        let unit = plane.map { Float($0 / norm) }
        return Tensor(shape: shape, data: Array((0..<c).map { _ in unit }.joined()))
    }

    /// Row k of the sequency-ordered Hadamard matrix: natural row bitreverse(gray(k)).
    static func walsh(_ k: Int, size n: Int) -> [Double] {
        let bits = n.trailingZeroBitCount
        let gray = k ^ (k >> 1)
        var reversed = 0
        for b in 0..<bits where gray & (1 << b) != 0 { reversed |= 1 << (bits - 1 - b) }
        return (0..<n).map { ((reversed & $0).nonzeroBitCount % 2 == 0) ? 1.0 : -1.0 }
    }

    func haarVector(shape: [Int], scale: Int, channel: Int, x: Int, y: Int) throws -> Tensor {
        let c = shape[0], h = shape[1], w = shape[2]
        guard h == w, h.nonzeroBitCount == 1 else {
            throw FormatError(
                file: "basis", field: "shape", expected: "square power-of-two images for Haar", found: "\(shape)")
        }
        let levels = h.trailingZeroBitCount
        var out = Tensor(zeros: shape)
        if scale == levels {
            guard channel >= 0 && channel < c, x == 0, y == 0 else {
                throw FormatError(
                    file: "basis", field: "haar", expected: "DC term (scale \(levels)) with channel < \(c), x = y = 0",
                    found: "channel \(channel), x \(x), y \(y)")
            }
            let v = Float(1 / Double(h * w).squareRoot())
            for i in 0..<(h * w) { out.data[channel * h * w + i] = v }
            return out
        }
        guard scale >= 0 && scale < levels else {
            throw FormatError(file: "basis", field: "scale", expected: "0…\(levels)", found: "\(scale)")
        }
        let b = 1 << (scale + 1), blocks = h / b
        guard channel >= 0 && channel < 3 * c, x >= 0 && x < blocks, y >= 0 && y < blocks else {
            throw FormatError(
                file: "basis", field: "haar", expected: "channel < \(3 * c), x and y < \(blocks)",
                found: "channel \(channel), x \(x), y \(y)")
        }
        let type = channel / c, image = channel % c, half = b / 2
        let magnitude = Float(1) / Float(b)
        for r in 0..<b {
            for col in 0..<b {
                let top = r < half, left = col < half
                let sign: Float
                switch type {
                case 0: sign = top ? 1 : -1  // top minus bottom
                case 1: sign = left ? 1 : -1  // left minus right
                default: sign = (top == left) ? 1 : -1  // diagonal
                }
                out.data[(image * h + y * b + r) * w + x * b + col] = sign * magnitude
            }
        }
        return out
    }

    /// A whole basis as (D, C, H, W) in the fixtures' order: for the 2-index families row
    /// k = (first index k / N, second index k % N) with N = H = W; for Haar scale 0… (detail
    /// levels, channel 0…3C−1, x outer, y inner), then the DC terms.
    public static func all(_ family: String, shape: [Int]) throws -> (vectors: Tensor, indices: [Basis]) {
        let c = shape[0], h = shape[1], w = shape[2]
        var list: [Basis] = []
        switch family {
        case "canonical": for a in 0..<w { for b in 0..<h { list.append(.canonical(x: a, y: b)) } }
        case "dct": for a in 0..<w { for b in 0..<h { list.append(.dct(fx: a, fy: b)) } }
        case "dst": for a in 0..<w { for b in 0..<h { list.append(.dst(fx: a, fy: b)) } }
        case "hadamard": for a in 0..<w { for b in 0..<h { list.append(.hadamard(sx: a, sy: b)) } }
        case "haar":
            guard h == w, h.nonzeroBitCount == 1 else {
                throw FormatError(
                    file: "basis", field: "shape", expected: "square power-of-two images for Haar", found: "\(shape)")
            }
            let levels = h.trailingZeroBitCount
            for s in 0..<levels {
                let blocks = h >> (s + 1)
                for ch in 0..<(3 * c) {
                    for x in 0..<blocks {
                        for y in 0..<blocks { list.append(.haar(scale: s, channel: ch, x: x, y: y)) }
                    }
                }
            }
            for ch in 0..<c { list.append(.haar(scale: levels, channel: ch, x: 0, y: 0)) }
        default:
            throw FormatError(
                file: "basis", field: "family", expected: "canonical, dct, dst, hadamard or haar", found: family)
        }
        if family != "haar" && c > 1 {
            // The reference's channel quirk makes these families span only D/C dimensions.
        }
        let d = c * h * w
        var data = [Float]()
        data.reserveCapacity(list.count * d)
        for b in list { data += try b.vector(shape: shape).data }
        return (Tensor(shape: [list.count] + shape, data: data), list)
    }
}
