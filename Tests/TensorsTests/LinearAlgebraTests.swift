import XCTest
@testable import Tensors

final class LinearAlgebraTests: XCTestCase {
    func testGemmTransposesMatchNaive() {
        let a = RandomStream(seed: 1, purpose: .test, index: 0).normals(3 * 4)
        let b = RandomStream(seed: 1, purpose: .test, index: 1).normals(4 * 5)
        var c = [Float](repeating: 1, count: 15)
        BLAS.sgemm(.none, .none, m: 3, n: 5, k: 4, alpha: 2, a: a, lda: 4, b: b, ldb: 5, beta: 0.5, c: &c, ldc: 5)
        for i in 0..<3 {
            for j in 0..<5 {
                var s: Float = 0
                for p in 0..<4 { s += a[i * 4 + p] * b[p * 5 + j] }
                XCTAssertEqual(c[i * 5 + j], 2 * s + 0.5, accuracy: 1e-5)
            }
        }
        // aᵀ stored as (4, 3): op(A) = transpose.
        var at = [Float](repeating: 0, count: 12)
        for i in 0..<3 { for p in 0..<4 { at[p * 3 + i] = a[i * 4 + p] } }
        var c2 = [Float](repeating: 0, count: 15)
        BLAS.sgemm(.transpose, .none, m: 3, n: 5, k: 4, a: at, lda: 3, b: b, ldb: 5, c: &c2, ldc: 5)
        for i in 0..<15 { XCTAssertEqual(c2[i], (c[i] - 0.5) / 2, accuracy: 1e-5) }
        let ad = a.map(Double.init), bd = b.map(Double.init)
        var cd = [Double](repeating: 0, count: 15)
        BLAS.dgemm(.none, .none, m: 3, n: 5, k: 4, a: ad, lda: 4, b: bd, ldb: 5, c: &cd, ldc: 5)
        for i in 0..<15 { XCTAssertEqual(cd[i], Double(c2[i]), accuracy: 1e-5) }
    }

    func testSyrkAccumulatesOuterProducts() {
        let n = 6, k = 4
        let a = RandomStream(seed: 2, purpose: .test).normals(n * k).map(Double.init)
        var c = [Double](repeating: 0, count: n * n)
        BLAS.dsyrk(.none, n: n, k: k, a: a, lda: k, beta: 0, c: &c, ldc: n)
        BLAS.symmetrizeFromUpper(&c, n: n)
        for i in 0..<n {
            for j in 0..<n {
                var s = 0.0
                for p in 0..<k { s += a[i * k + p] * a[j * k + p] }
                XCTAssertEqual(c[i * n + j], s, accuracy: 1e-12)
            }
        }
        // Transposed form: Σ over rows of (k, n) data = the geometry accumulator's use.
        var c2 = [Double](repeating: 0, count: k * k)
        BLAS.dsyrk(.transpose, n: k, k: n, a: a, lda: k, beta: 0, c: &c2, ldc: k)
        var s01 = 0.0
        for r in 0..<n { s01 += a[r * k] * a[r * k + 1] }
        XCTAssertEqual(c2[1], s01, accuracy: 1e-12)
        var cf = [Float](repeating: 0, count: n * n)
        BLAS.ssyrk(.none, n: n, k: k, a: a.map(Float.init), lda: k, beta: 0, c: &cf, ldc: n)
        XCTAssertEqual(Double(cf[1]), c[1], accuracy: 1e-5)
    }

    /// A known spectrum: Q diag(λ) Qᵀ for an orthogonal Q from a Householder reflection.
    func testEigenDescendingWithMatchingVectors() throws {
        let n = 40
        let v = RandomStream(seed: 3, purpose: .test).normals(n).map(Double.init)
        let vv = v.reduce(0) { $0 + $1 * $1 }
        let lambdas = (0..<n).map { Double(($0 * 7) % n) - 10 }  // a permutation of −10…29
        var q = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for j in 0..<n { q[i * n + j] = (i == j ? 1 : 0) - 2 * v[i] * v[j] / vv } }
        var a = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in 0..<n {
                var s = 0.0
                for p in 0..<n { s += q[i * n + p] * lambdas[p] * q[j * n + p] }
                a[i * n + j] = s
            }
        }
        let eig = try SymmetricEigen<Double>(symmetric: a, n: n)
        assertClose(eig.values, lambdas.sorted(by: >).map { $0 }, accuracy: 1e-9)
        for r in 0..<n {
            // A·u = λu for row r of vectors.
            let u = Array(eig.vectors[(r * n)..<((r + 1) * n)])
            for i in 0..<n {
                var s = 0.0
                for j in 0..<n { s += a[i * n + j] * u[j] }
                XCTAssertEqual(s, eig.values[r] * u[i], accuracy: 1e-9)
            }
        }
        let eigF = try SymmetricEigen<Float>(symmetric: a.map(Float.init), n: n)
        assertClose(eigF.values.map(Double.init), eig.values, accuracy: 1e-4)
        XCTAssertEqual(eigF.values.first!, 29, accuracy: 1e-4)
    }

    func testEigenRejectsBadInput() {
        XCTAssertThrowsError(try SymmetricEigen<Double>(symmetric: [1, 2, 3], n: 2))
        XCTAssertThrowsError(try SymmetricEigen<Double>(symmetric: [1, .nan, .nan, 1], n: 2))
    }

    /// Plain LAPACKE_ssyevd fails around n ≈ 2900; the explicit-workspace path must not.
    func testLargeFloatEigenWorks() throws {
        let n = 3000
        var a = [Float](repeating: 0, count: n * n)
        for i in 0..<n { a[i * n + i] = Float(i % 17) + 1 }
        a[1] = 0.5; a[n] = 0.5
        let eig = try SymmetricEigen<Float>(symmetric: a, n: n)
        XCTAssertEqual(eig.values.first!, 17, accuracy: 1e-3)
        XCTAssertGreaterThan(eig.values.last!, 0)
    }
}

extension XCTestCase {
    func assertClose(_ a: [Double], _ b: [Double], accuracy: Double, file: StaticString = #filePath, line: UInt = #line)
    {
        XCTAssertEqual(a.count, b.count, file: file, line: line)
        for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: accuracy, file: file, line: line) }
    }
}
