import Foundation

/// Small summary statistics for recipe results.
public enum Statistics {
    public static func mean(_ v: [Double]) -> Double {
        let f = v.filter(\.isFinite)
        return f.isEmpty ? .nan : f.reduce(0, +) / Double(f.count)
    }

    /// Standard error of the mean (sample standard deviation / √n); 0 for one value.
    public static func standardError(_ v: [Double]) -> Double {
        let f = v.filter(\.isFinite)
        guard f.count > 1 else { return f.isEmpty ? .nan : 0 }
        let m = mean(f)
        let variance = f.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(f.count - 1)
        return (variance / Double(f.count)).squareRoot()
    }

    public static func pearson(_ x: [Double], _ y: [Double]) -> Double {
        let pairs = zip(x, y).filter { $0.0.isFinite && $0.1.isFinite }
        guard pairs.count > 2 else { return .nan }
        let mx = pairs.reduce(0) { $0 + $1.0 } / Double(pairs.count),
            my = pairs.reduce(0) { $0 + $1.1 } / Double(pairs.count)
        var sxy = 0.0, sxx = 0.0, syy = 0.0
        for (a, b) in pairs { sxy += (a - mx) * (b - my); sxx += (a - mx) * (a - mx); syy += (b - my) * (b - my) }
        return sxx > 0 && syy > 0 ? sxy / (sxx * syy).squareRoot() : .nan
    }

    /// Average ranks (ties share their mean rank).
    static func ranks(_ v: [Double]) -> [Double] {
        let order = v.indices.sorted { v[$0] < v[$1] }
        var r = [Double](repeating: 0, count: v.count)
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && v[order[j + 1]] == v[order[i]] { j += 1 }
            for k in i...j { r[order[k]] = Double(i + j) / 2 }
            i = j + 1
        }
        return r
    }

    public static func spearman(_ x: [Double], _ y: [Double]) -> Double {
        let pairs = zip(x, y).filter { $0.0.isFinite && $0.1.isFinite }
        return pearson(ranks(pairs.map(\.0)), ranks(pairs.map(\.1)))
    }

    public static func format(_ v: Double, _ digits: Int = 4) -> String {
        v.isFinite ? String(format: "%.\(digits)g", v) : "—"
    }
    public static func format(_ v: Double, se: Double) -> String {
        v.isFinite ? "\(format(v)) ± \(format(se, 2))" : "—"
    }
}
