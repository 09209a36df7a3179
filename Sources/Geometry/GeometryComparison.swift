import Foundation
import Formats
import Tensors

/// Two finished geometry estimates side by side (e.g. a native config and its ONNX export,
/// or two seeds): trace and λ_max differences in combined standard errors, the top-k and
/// bottom-k subspace overlaps (mean squared cosine of the principal angles; 1 = the same
/// subspace), their principal angles, the relative Frobenius distance of the matrices and,
/// given a dataset, its α = tr(G M) under both (M = E[x xᵀ]; e.g. a trained network's
/// geometry against the initial one).
public struct GeometryComparison: Sendable {
    public let traces: (Double, Double), traceErrors: (Double, Double)
    public let lambdaMax: (Double, Double), lambdaMaxErrors: (Double, Double)
    public let topOverlap: Double, bottomOverlap: Double
    /// Principal angles (degrees, smallest first) between the two top-k and the two
    /// bottom-k SAD subspaces: arccos of the singular values of Q_aᵀQ_b. vecs.npy is Float32,
    /// so cos² is known to ~1e-7 and an angle below ~0.05° is indistinguishable from 0.
    public let topAngles: [Double], bottomAngles: [Double]
    public let k: Int
    public let relativeFrobenius: Double
    /// α = tr(G M) of the dataset under each geometry (nil without `data`).
    public let alpha: (Double, Double)?
    public let data: String?
    /// The two directories compared.
    public let directories: (String, String)

    /// Reads `vals.npy`, `vecs.npy`, G (``GeometryFiles``) and `diagnostics.json` of both
    /// directories, and `data` (.npy, (N, C, H, W)) when given.
    public init(_ a: String, _ b: String, k: Int = 8, data: String? = nil) throws {
        func read(_ dir: String) throws -> (vals: [Double], vecs: [Double], g: [Double], d: StabilityDiagnostics) {
            let vals = try Npy.read(dir + "/vals.npy").doubles
            let vecs = try Npy.read(dir + "/vecs.npy").doubles
            let g = try GeometryFiles.geometry(directory: dir, dimension: vals.count)
            let diag = try JSONDecoder().decode(
                StabilityDiagnostics.self,
                from: Data(try AtomicFile.read(dir + "/diagnostics.json")))
            let d = vals.count
            guard d >= 1, vecs.count == d * d, g.count == d * d, diag.eigenvalueStandardErrors.count == d else {
                throw FormatError(
                    file: dir, field: "vals/vecs/geometry/diagnostics",
                    expected: "one D-dimensional estimate", found: "sizes \(d), \(vecs.count), \(g.count)")
            }
            try FormatError.requireFinite(vecs + g + vals, file: dir, field: "values")
            return (vals, vecs, g, diag)
        }
        let x = try read(a), y = try read(b)
        let d = x.vals.count
        guard y.vals.count == d else {
            throw FormatError(file: b, field: "vals.npy", expected: "D = \(d) (as \(a))", found: "D = \(y.vals.count)")
        }
        guard (1...d).contains(k) else {
            throw SettingError(setting: "k", expected: "1…\(d)", found: "\(k)")
        }
        self.k = k
        traces = (x.d.trace, y.d.trace)
        traceErrors = (x.d.traceStandardError, y.d.traceStandardError)
        lambdaMax = (x.vals[0], y.vals[0])
        lambdaMaxErrors = (x.d.eigenvalueStandardErrors[0], y.d.eigenvalueStandardErrors[0])
        // C = Q_aᵀQ_b (k × k) over the two subspaces' rows: the overlap is ‖C‖²_F / k, and the
        // cos² θ_i are the eigenvalues of C Cᵀ (largest first, so the angles come out smallest first).
        func subspace(_ rows: Range<Int>) throws -> (overlap: Double, angles: [Double]) {
            let n = rows.count
            var c = [Double](repeating: 0, count: n * n)
            var squares = 0.0
            for (p, i) in rows.enumerated() {
                for (q, j) in rows.enumerated() {
                    var dot = 0.0
                    for r in 0..<d { dot += x.vecs[i * d + r] * y.vecs[j * d + r] }
                    c[p * n + q] = dot
                    squares += dot * dot
                }
            }
            var cct = [Double](repeating: 0, count: n * n)
            for p in 0..<n {
                for q in 0..<n {
                    var s = 0.0
                    for r in 0..<n { s += c[p * n + r] * c[q * n + r] }
                    cct[p * n + q] = s
                }
            }
            let eig = try SymmetricEigen<Double>(symmetric: cct, n: n)
            return (squares / Double(n), eig.values.map { acos(min(1, max(0, $0)).squareRoot()) * 180 / .pi })
        }
        let top = try subspace(0..<k), bottom = try subspace((d - k)..<d)
        (topOverlap, topAngles) = top
        (bottomOverlap, bottomAngles) = bottom
        self.data = data
        directories = (a, b)
        if let data {
            let (_, m) = try DataGeometry.secondMoment(file: data)
            guard m.count == d * d else {
                throw FormatError(
                    file: data, field: "shape", expected: "images of D = \(d) (the geometries')",
                    found: "D = \(Int(Double(m.count).squareRoot()))")
            }
            var ta = 0.0, tb = 0.0
            for i in 0..<(d * d) {
                ta += x.g[i] * m[i]
                tb += y.g[i] * m[i]
            }
            alpha = (ta, tb)
        } else {
            alpha = nil
        }
        var diff = 0.0, norm = 0.0
        for (p, q) in zip(x.g, y.g) {
            diff += (p - q) * (p - q)
            norm += q * q
        }
        relativeFrobenius = (diff / max(norm, .leastNormalMagnitude)).squareRoot()
    }

    /// |a − b| in combined standard errors.
    static func z(_ v: (Double, Double), _ e: (Double, Double)) -> Double {
        abs(v.0 - v.1) / max((e.0 * e.0 + e.1 * e.1).squareRoot(), .leastNormalMagnitude)
    }

    public var summary: String {
        [
            String(
                format: "trace   %.6g ± %.2g vs %.6g ± %.2g: difference %.3g%% = %.2f SE", traces.0, traceErrors.0,
                traces.1, traceErrors.1, 100 * (traces.0 / traces.1 - 1), Self.z(traces, traceErrors)),
            String(
                format: "λ_max   %.6g ± %.2g vs %.6g ± %.2g: difference %.3g%% = %.2f SE", lambdaMax.0,
                lambdaMaxErrors.0, lambdaMax.1, lambdaMaxErrors.1, 100 * (lambdaMax.0 / lambdaMax.1 - 1),
                Self.z(lambdaMax, lambdaMaxErrors)),
            "(an eigenvalue's SE is |λ_A − λ_B|/2 of its split halves: one degree of freedom, indicative only)",
            String(
                format: "top-%d subspace overlap %.4f, bottom-%d %.4f; ‖G_a − G_b‖/‖G_b‖ = %.3g", k,
                topOverlap, k,
                bottomOverlap, relativeFrobenius),
            "principal angles (degrees), top-\(k): " + Self.list(topAngles) + "; bottom-\(k): "
                + Self.list(bottomAngles),
        ].joined(separator: "\n")
            + (alpha.map {
                String(format: "\nα = tr(G M) of %@: %.6g vs %.6g (ratio %.4g)", data!, $0.0, $0.1, $0.0 / $0.1)
            }
                ?? "")
    }

    static func list(_ angles: [Double]) -> String {
        angles.map { String(format: "%.1f", $0) }.joined(separator: ", ")
    }

    /// The comparison as a file (`sad geometry compare --out`, `sad geometry --compare-with`).
    public struct Record: Codable, Equatable, Sendable {
        public var a: String, b: String
        public var k: Int
        public var traces: [Double], traceStandardErrors: [Double]
        public var lambdaMax: [Double], lambdaMaxStandardErrors: [Double]
        public var topOverlap: Double, bottomOverlap: Double
        public var topAnglesDegrees: [Double], bottomAnglesDegrees: [Double]
        public var relativeFrobenius: Double
        public var data: String?
        public var alpha: [Double]?
    }

    public var record: Record {
        Record(
            a: directories.0, b: directories.1, k: k, traces: [traces.0, traces.1],
            traceStandardErrors: [traceErrors.0, traceErrors.1],
            lambdaMax: [lambdaMax.0, lambdaMax.1], lambdaMaxStandardErrors: [lambdaMaxErrors.0, lambdaMaxErrors.1],
            topOverlap: topOverlap, bottomOverlap: bottomOverlap, topAnglesDegrees: topAngles,
            bottomAnglesDegrees: bottomAngles, relativeFrobenius: relativeFrobenius, data: data,
            alpha: alpha.map { [$0.0, $0.1] })
    }
}
