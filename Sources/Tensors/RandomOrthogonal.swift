#if canImport(Accelerate)
import Accelerate
#else
import CBLAS
#endif

/// Haar-distributed random orthogonal matrices: Q of the QR decomposition of a Gaussian
/// matrix, with each column's sign fixed by the sign of R's diagonal (without that fix Q is
/// not uniformly distributed; Mezzadri 2007).
public enum RandomOrthogonal {
    /// A row-major n×n orthogonal matrix drawn from stream (seed, purpose, index).
    public static func matrix(n: Int, stream: RandomStream) throws -> [Double] {
        // LAPACK is column-major: fill the column-major Gaussian directly.
        var a = stream.normals(n * n).map(Double.init)
        var tau = [Double](repeating: 0, count: n)
        try geqrf(&a, &tau, n: n)
        let signs = (0..<n).map { a[$0 * n + $0] < 0 ? -1.0 : 1.0 }
        try orgqr(&a, tau, n: n)
        // Column-major Q → row-major: element (i, j) = a[j·n + i]; multiply column j by sign j.
        var q = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for j in 0..<n { q[i * n + j] = a[j * n + i] * signs[j] } }
        return q
    }

    static func geqrf(_ a: inout [Double], _ tau: inout [Double], n: Int) throws {
        BLAS.configureSingleThreaded()
        #if canImport(Accelerate)
        var m = __CLPK_integer(n), nn = m, lda = m, info: __CLPK_integer = 0, lwork = __CLPK_integer(64 * n)
        var work = [Double](repeating: 0, count: Int(lwork))
        dgeqrf_(&m, &nn, &a, &lda, &tau, &work, &lwork, &info)
        #else
        let info = LAPACKE_dgeqrf(LAPACK_COL_MAJOR, Int32(n), Int32(n), &a, Int32(n), &tau)
        #endif
        if info != 0 { throw LinearAlgebraError.lapackFailure(routine: "dgeqrf", info: Int(info)) }
    }

    static func orgqr(_ a: inout [Double], _ tau: [Double], n: Int) throws {
        var tau = tau
        #if canImport(Accelerate)
        var m = __CLPK_integer(n), nn = m, k = m, lda = m, info: __CLPK_integer = 0, lwork = __CLPK_integer(64 * n)
        var work = [Double](repeating: 0, count: Int(lwork))
        dorgqr_(&m, &nn, &k, &a, &lda, &tau, &work, &lwork, &info)
        #else
        let info = LAPACKE_dorgqr(LAPACK_COL_MAJOR, Int32(n), Int32(n), Int32(n), &a, Int32(n), &tau)
        #endif
        if info != 0 { throw LinearAlgebraError.lapackFailure(routine: "dorgqr", info: Int(info)) }
    }
}
