#if canImport(Accelerate)
import Accelerate
#else
import CBLAS
#endif

/// Thin, row-major façade over BLAS (OpenBLAS on Linux, Accelerate on macOS).
///
/// Every matrix is row-major with an explicit leading dimension. The library calls
/// ``configureSingleThreaded()`` once: we parallelise over samples and networks ourselves
/// (deterministically), and a multi-threaded BLAS inside our parallel regions would
/// oversubscribe the cores and make timings noisy.
public enum BLAS {
    /// Whether an operand is used as stored or transposed.
    public enum Transpose: Sendable { case none, transpose }

    /// Keeps BLAS on one thread (and applies the other ``EngineSetup`` settings). Called by
    /// every entry point; cheap after the first time.
    @inline(__always) public static func configureSingleThreaded() { _ = EngineSetup.once }

    #if canImport(Accelerate)
    @inline(__always) static func cblas(_ t: Transpose) -> CBLAS_TRANSPOSE { t == .none ? CblasNoTrans : CblasTrans }
    #else
    @inline(__always) static func cblas(_ t: Transpose) -> CBLAS_TRANSPOSE { t == .none ? CblasNoTrans : CblasTrans }
    #endif

    /// C ← α·op(A)·op(B) + β·C, Float32. op(A) is (m, k), op(B) is (k, n), C is (m, n).
    public static func sgemm(
        _ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int,
        alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        configureSingleThreaded()
        if m == 0 || n == 0 { return }
        cblas_sgemm(
            CblasRowMajor, cblas(transA), cblas(transB), Int32(m), Int32(n), Int32(k),
            alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// C ← α·op(A)·op(B) + β·C, Float64.
    public static func dgemm(
        _ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int,
        alpha: Double = 1, a: UnsafePointer<Double>, lda: Int,
        b: UnsafePointer<Double>, ldb: Int,
        beta: Double = 0, c: UnsafeMutablePointer<Double>, ldc: Int
    ) {
        configureSingleThreaded()
        if m == 0 || n == 0 { return }
        cblas_dgemm(
            CblasRowMajor, cblas(transA), cblas(transB), Int32(m), Int32(n), Int32(k),
            alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// Upper triangle of C (n×n) ← α·A·Aᵀ + β·C with A (n, k) (or α·Aᵀ·A with A (k, n) when
    /// `trans == .transpose`), Float32. The lower triangle is left untouched; see
    /// ``symmetrizeFromUpper(_:n:)``.
    public static func ssyrk(
        _ trans: Transpose, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, beta: Float = 1,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        configureSingleThreaded()
        cblas_ssyrk(
            CblasRowMajor, CblasUpper, cblas(trans), Int32(n), Int32(k), alpha, a, Int32(lda),
            beta, c, Int32(ldc))
    }

    /// Float64 version of ``ssyrk(_:n:k:alpha:a:lda:beta:c:ldc:)``: the geometry accumulator.
    public static func dsyrk(
        _ trans: Transpose, n: Int, k: Int, alpha: Double = 1,
        a: UnsafePointer<Double>, lda: Int, beta: Double = 1,
        c: UnsafeMutablePointer<Double>, ldc: Int
    ) {
        configureSingleThreaded()
        cblas_dsyrk(
            CblasRowMajor, CblasUpper, cblas(trans), Int32(n), Int32(k), alpha, a, Int32(lda),
            beta, c, Int32(ldc))
    }

    /// Copies the upper triangle of a row-major n×n matrix onto its lower triangle.
    public static func symmetrizeFromUpper<T>(_ c: UnsafeMutablePointer<T>, n: Int) {
        for i in 0..<n {
            for j in 0..<i { c[i * n + j] = c[j * n + i] }
        }
    }
}
