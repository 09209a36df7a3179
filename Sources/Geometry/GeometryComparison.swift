import Foundation
import Formats
import Tensors

/// Two finished geometry estimates side by side (e.g. a native config and its ONNX export,
/// or two seeds): trace and λ_max differences in combined standard errors, the top-k and
/// bottom-k subspace overlaps (mean squared cosine of the principal angles; 1 = the same
/// subspace) and the relative Frobenius distance of the matrices.
public struct GeometryComparison: Sendable {
    public let traces: (Double, Double), traceErrors: (Double, Double)
    public let lambdaMax: (Double, Double), lambdaMaxErrors: (Double, Double)
    public let topOverlap: Double, bottomOverlap: Double
    public let k: Int
    public let relativeFrobenius: Double

    /// Reads `vals.npy`, `vecs.npy`, G (``GeometryFiles``) and `diagnostics.json` of both directories.
    public init(_ a: String, _ b: String, k: Int = 8) throws {
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
        func overlap(_ rows: Range<Int>) -> Double {
            var s = 0.0
            for i in rows {
                for j in rows {
                    var dot = 0.0
                    for q in 0..<d { dot += x.vecs[i * d + q] * y.vecs[j * d + q] }
                    s += dot * dot
                }
            }
            return s / Double(rows.count)
        }
        topOverlap = overlap(0..<k)
        bottomOverlap = overlap((d - k)..<d)
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
        ].joined(separator: "\n")
    }
}
