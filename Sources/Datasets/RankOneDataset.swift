import Formats
import Tensors

/// Synthetic datasets of the rank-one and sphere experiments (spec §5.7–5.8).
public enum SyntheticData {
    /// N(0, D·v vᵀ): x_j = √D·z_j·v, z_j ~ N(0, 1) (element j of the data stream of `seed`).
    /// Per-pixel variance averages to 1 and E‖x‖² = D. `v` (C, H, W) must have unit norm.
    public static func rankOne(direction v: Tensor, count: Int, seed: UInt64, stream index: UInt64 = 0) throws -> Tensor
    {
        try checkUnit(v, "direction")
        let z = RandomStream(seed: seed, purpose: .data, index: index).normals(count)
        return rankOne(direction: v, z: z)
    }

    /// The same with explicit draws z (tests feed the reference's).
    public static func rankOne(direction v: Tensor, z: [Float]) -> Tensor {
        let d = v.count, scale = Float(d).squareRoot()
        var x = Tensor(zeros: [z.count] + v.shape)
        for j in 0..<z.count { for i in 0..<d { x.data[j * d + i] = scale * z[j] * v.data[i] } }
        return x
    }

    /// N(0, s Σ_i u_i u_iᵀ) on orthonormal u_i: x = √s Σ_i z_i u_i, z from the data stream
    /// (k per sample, in order). With s = D/k, E‖x‖² = D as for the rank-one law.
    public static func gaussian(
        directions: [Tensor], variance s: Float, count: Int, seed: UInt64, stream index: UInt64 = 0
    ) throws -> Tensor {
        for (i, v) in directions.enumerated() { try checkUnit(v, "direction \(i)") }
        guard let first = directions.first, s.isFinite, s > 0 else {
            throw FormatError(
                file: "gaussian", field: "directions", expected: "≥ 1 direction and a positive variance",
                found: "\(directions.count), \(s)")
        }
        let k = directions.count, d = first.count, scale = s.squareRoot()
        let z = RandomStream(seed: seed, purpose: .data, index: index).normals(k * count)
        var x = Tensor(zeros: [count] + first.shape)
        for j in 0..<count {
            for i in 0..<k {
                let c = scale * z[j * k + i]
                for q in 0..<d { x.data[j * d + q] += c * directions[i].data[q] }
            }
        }
        return x
    }

    /// Uniform on the sphere of radius √D in span(v₁, v₂, v₃): x = √D(a₁v₁ + a₂v₂ + a₃v₃),
    /// a = g/‖g‖, g ~ N(0, I₃).
    public static func sphere(directions: [Tensor], count: Int, seed: UInt64, stream index: UInt64 = 0) throws -> Tensor
    {
        guard directions.count == 3 else {
            throw FormatError(file: "sphere", field: "directions", expected: "3 vectors", found: "\(directions.count)")
        }
        for (i, v) in directions.enumerated() { try checkUnit(v, "direction \(i)") }
        let g = RandomStream(seed: seed, purpose: .data, index: index).normals(3 * count)
        let d = directions[0].count, scale = Float(d).squareRoot()
        var x = Tensor(zeros: [count] + directions[0].shape)
        for j in 0..<count {
            let a = (0..<3).map { g[3 * j + $0] }
            let norm = a.reduce(0) { $0 + $1 * $1 }.squareRoot()
            for i in 0..<d {
                x.data[j * d + i] =
                    scale * (a[0] * directions[0].data[i] + a[1] * directions[1].data[i] + a[2] * directions[2].data[i])
                    / norm
            }
        }
        return x
    }

    static func checkUnit(_ v: Tensor, _ name: String) throws {
        let n = v.norm
        guard abs(n - 1) < 1e-3 else {
            throw FormatError(file: "dataset", field: name, expected: "a unit vector", found: "norm \(n)")
        }
    }
}
