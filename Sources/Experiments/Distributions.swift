import Foundation

/// Tail probabilities of the null distributions the claim tests use: Student's t, the binomial
/// with p = 1/2 (the sign test) and the regularised incomplete beta function behind the t.
public enum Distributions {
    /// P(T ≥ t) for Student's t with `degrees` degrees of freedom (one-sided upper tail).
    /// Through the incomplete beta: P(|T| ≥ |t|) = I_{ν/(ν+t²)}(ν/2, 1/2).
    public static func studentUpperTail(_ t: Double, degrees: Int) -> Double {
        guard t.isFinite, degrees >= 1 else { return t == .infinity ? 0 : (t == -.infinity ? 1 : .nan) }
        let nu = Double(degrees)
        let twoSided = regularizedIncompleteBeta(x: nu / (nu + t * t), a: nu / 2, b: 0.5)
        return t >= 0 ? twoSided / 2 : 1 - twoSided / 2
    }

    /// P(K ≥ k) for K ~ Binomial(n, 1/2), exactly (sums of binomial coefficients in Double;
    /// exact for n ≤ 1000, well beyond any seed count).
    public static func binomialHalfUpperTail(_ k: Int, of n: Int) -> Double {
        guard n >= 0, n <= 1000 else { return .nan }
        if k <= 0 { return 1 }
        if k > n { return 0 }
        // log C(n, j) − n log 2, summed from the tail inwards.
        var total = 0.0
        let logAll: Double = lgamma(Double(n + 1)) - Double(n) * log(2.0)
        for j in k...n {
            let logChoose: Double = lgamma(Double(j + 1)) + lgamma(Double(n - j + 1))
            total += exp(logAll - logChoose)
        }
        return min(total, 1)
    }

    /// I_x(a, b), the regularised incomplete beta function, by the continued fraction
    /// (modified Lentz), using the symmetry I_x(a, b) = 1 − I_{1−x}(b, a) where it converges
    /// faster. Relative accuracy ~1e-14 for the (a, b) the tests use.
    public static func regularizedIncompleteBeta(x: Double, a: Double, b: Double) -> Double {
        guard x > 0 else { return 0 }
        guard x < 1 else { return 1 }
        let logBeta: Double = lgamma(a + b) - lgamma(a) - lgamma(b)
        let logPowers: Double = a * log(x) + b * log(1 - x)
        let front = exp(logBeta + logPowers)
        if x > (a + 1) / (a + b + 2) { return 1 - regularizedIncompleteBeta(x: 1 - x, a: b, b: a) }
        let tiny = 1e-300
        var c = 1.0, d = 1 - (a + b) * x / (a + 1)
        d = abs(d) < tiny ? tiny : d
        d = 1 / d
        var f = d
        for m in 1...500 {
            let m2 = Double(2 * m), md = Double(m)
            // Even step: d_{2m} = m(b − m)x / ((a + 2m − 1)(a + 2m)).
            var numerator = md * (b - md) * x / ((a + m2 - 1) * (a + m2))
            d = 1 + numerator * d
            d = abs(d) < tiny ? tiny : d
            c = 1 + numerator / c
            c = abs(c) < tiny ? tiny : c
            d = 1 / d
            f *= d * c
            // Odd step: d_{2m+1} = −(a + m)(a + b + m)x / ((a + 2m)(a + 2m + 1)).
            numerator = -(a + md) * (a + b + md) * x / ((a + m2) * (a + m2 + 1))
            d = 1 + numerator * d
            d = abs(d) < tiny ? tiny : d
            c = 1 + numerator / c
            c = abs(c) < tiny ? tiny : c
            d = 1 / d
            let delta = d * c
            f *= delta
            if abs(delta - 1) < 1e-15 { break }
        }
        return front * f / a
    }
}
