#if canImport(Accelerate)
import Accelerate
#else
import CBLAS
#endif

/// Errors from the LAPACK façade.
public enum LinearAlgebraError: Error, CustomStringConvertible, Equatable {
    case notSquare(count: Int, n: Int)
    case nonFinite
    case lapackFailure(routine: String, info: Int)

    public var description: String {
        switch self {
        case let .notSquare(count, n): return "expected \(n)×\(n) = \(n * n) elements, found \(count)"
        case .nonFinite: return "matrix contains NaN or infinity"
        case let .lapackFailure(routine, info): return "\(routine) failed with info = \(info)"
        }
    }
}

/// Eigendecomposition of a real symmetric matrix, eigenvalues **descending**.
///
/// `vectors` is row-major (n, n) and row `i` is the unit eigenvector of `values[i]`: the
/// reference's `vecs` layout, where SAD 0 has the largest eigenvalue. An eigenvector is
/// only defined up to sign, and inside a repeated eigenvalue only its eigenspace is
/// defined; callers comparing SADs must compare subspaces there, not vectors.
public struct SymmetricEigen<Scalar: BinaryFloatingPoint> {
    /// Eigenvalues, largest first.
    public var values: [Scalar]
    /// Row-major (n, n); row i pairs with `values[i]`.
    public var vectors: [Scalar]
    public var n: Int { values.count }

    /// A decomposition assembled elsewhere (e.g. expanded from a factored one): `vectors` is
    /// row-major (n, n), row i paired with `values[i]`, values descending; or empty for a
    /// decomposition of the eigenvalues only.
    public init(values: [Scalar], vectors: [Scalar]) {
        precondition(
            vectors.isEmpty || vectors.count == values.count * values.count, "eigenvectors must be n × n or none")
        self.values = values
        self.vectors = vectors
    }
}

extension SymmetricEigen where Scalar == Double {
    /// Divide-and-conquer `dsyevd` with an explicit workspace (`LAPACKE_dsyevd_work`).
    /// Only the upper triangle of the row-major input is read.
    public init(symmetric matrix: [Double], n: Int) throws {
        guard matrix.count == n * n else { throw LinearAlgebraError.notSquare(count: matrix.count, n: n) }
        guard matrix.allSatisfy({ $0.isFinite }) else { throw LinearAlgebraError.nonFinite }
        var a = matrix
        var w = [Double](repeating: 0, count: n)
        try LAPACK.syevd(&a, &w, n: n)
        self.init(ascendingValues: w, columnsAsRows: a, n: n)
    }
}

extension SymmetricEigen where Scalar == Double {
    /// The eigenvalues only, descending: `dsyevd` with JOBZ = 'N' (the tridiagonal reduction
    /// without accumulating its transformations, then QR on the tridiagonal: about a quarter
    /// of a full decomposition's time at n = 3136). They may differ from a full
    /// decomposition's in the last bits (another tridiagonal solver).
    public static func values(symmetric matrix: [Double], n: Int) throws -> [Double] {
        guard matrix.count == n * n else { throw LinearAlgebraError.notSquare(count: matrix.count, n: n) }
        guard matrix.allSatisfy({ $0.isFinite }) else { throw LinearAlgebraError.nonFinite }
        var a = matrix
        var w = [Double](repeating: 0, count: n)
        try LAPACK.syevdValues(&a, &w, n: n)
        return w.reversed()
    }
}

extension SymmetricEigen where Scalar == Float {
    /// Divide-and-conquer `ssyevd` with an explicit workspace (`LAPACKE_ssyevd_work`): plain
    /// `LAPACKE_ssyevd` fails for n ≳ 2900 because its internal workspace query overflows.
    public init(symmetric matrix: [Float], n: Int) throws {
        guard matrix.count == n * n else { throw LinearAlgebraError.notSquare(count: matrix.count, n: n) }
        guard matrix.allSatisfy({ $0.isFinite }) else { throw LinearAlgebraError.nonFinite }
        var a = matrix
        var w = [Float](repeating: 0, count: n)
        try LAPACK.syevd(&a, &w, n: n)
        self.init(ascendingValues: w, columnsAsRows: a, n: n)
    }
}

extension SymmetricEigen {
    /// LAPACK returns ascending eigenvalues and eigenvectors as the columns of a
    /// column-major matrix, i.e. as the *rows* of the same memory read row-major.
    /// Reversing the row order gives the descending convention.
    init(ascendingValues w: [Scalar], columnsAsRows a: [Scalar], n: Int) {
        var values = [Scalar](repeating: 0, count: n)
        var vectors = [Scalar](repeating: 0, count: n * n)
        for i in 0..<n {
            let src = n - 1 - i
            values[i] = w[src]
            for j in 0..<n { vectors[i * n + j] = a[src * n + j] }
        }
        self.values = values
        self.vectors = vectors
    }
}

/// The raw LAPACK calls, column-major. A symmetric row-major matrix is its own
/// column-major transpose, so the input needs no reordering; LAPACK reads the "L"
/// triangle of the column-major view = the upper triangle of the row-major one.
enum LAPACK {
    static func syevd(_ a: inout [Float], _ w: inout [Float], n: Int) throws {
        BLAS.configureSingleThreaded()
        if n == 0 { return }
        #if canImport(Accelerate)
        var jobz = Int8(UInt8(ascii: "V")), uplo = Int8(UInt8(ascii: "L"))
        var nn = __CLPK_integer(n), lda = __CLPK_integer(n), info: __CLPK_integer = 0
        var lwork: __CLPK_integer = -1, liwork: __CLPK_integer = -1
        var wq: Float = 0, iq: __CLPK_integer = 0
        ssyevd_(&jobz, &uplo, &nn, &a, &lda, &w, &wq, &lwork, &iq, &liwork, &info)
        lwork = __CLPK_integer(wq); liwork = iq
        var work = [Float](repeating: 0, count: Int(lwork)), iwork = [__CLPK_integer](repeating: 0, count: Int(liwork))
        ssyevd_(&jobz, &uplo, &nn, &a, &lda, &w, &work, &lwork, &iwork, &liwork, &info)
        if info != 0 { throw LinearAlgebraError.lapackFailure(routine: "ssyevd", info: Int(info)) }
        #else
        // Workspace sizes from the LAPACK documentation for JOBZ = 'V':
        // LWORK ≥ 1 + 6n + 2n², LIWORK ≥ 3 + 5n. Computed in Int to avoid the overflow
        // that makes the query path fail for large n.
        let lwork = 1 + 6 * n + 2 * n * n
        let liwork = 3 + 5 * n
        var work = [Float](repeating: 0, count: lwork)
        var iwork = [Int32](repeating: 0, count: liwork)
        let info = LAPACKE_ssyevd_work(
            LAPACK_COL_MAJOR, Int8(UInt8(ascii: "V")), Int8(UInt8(ascii: "L")),
            Int32(n), &a, Int32(n), &w, &work, Int32(lwork), &iwork, Int32(liwork))
        if info != 0 { throw LinearAlgebraError.lapackFailure(routine: "LAPACKE_ssyevd_work", info: Int(info)) }
        #endif
    }

    /// JOBZ = 'N': LWORK ≥ 2n + 1, LIWORK ≥ 1 (LAPACK documentation). At the minimum the
    /// tridiagonal reduction cannot block and runs as rank-2 updates (memory-bound: slower than
    /// a full decomposition at n = 3136); n·(64 + 2) lets `dsytrd` use blocks of up to 64.
    static func syevdValues(_ a: inout [Double], _ w: inout [Double], n: Int) throws {
        BLAS.configureSingleThreaded()
        if n == 0 { return }
        let lwork = max(2 * n + 1, n * 66)
        #if canImport(Accelerate)
        var jobz = Int8(UInt8(ascii: "N")), uplo = Int8(UInt8(ascii: "L"))
        var nn = __CLPK_integer(n), lda = __CLPK_integer(n), info: __CLPK_integer = 0
        var lw = __CLPK_integer(lwork), liwork: __CLPK_integer = 1
        var work = [Double](repeating: 0, count: lwork), iwork = [__CLPK_integer](repeating: 0, count: 1)
        dsyevd_(&jobz, &uplo, &nn, &a, &lda, &w, &work, &lw, &iwork, &liwork, &info)
        if info != 0 { throw LinearAlgebraError.lapackFailure(routine: "dsyevd", info: Int(info)) }
        #else
        var work = [Double](repeating: 0, count: lwork)
        var iwork = [Int32](repeating: 0, count: 1)
        let info = LAPACKE_dsyevd_work(
            LAPACK_COL_MAJOR, Int8(UInt8(ascii: "N")), Int8(UInt8(ascii: "L")),
            Int32(n), &a, Int32(n), &w, &work, Int32(lwork), &iwork, 1)
        if info != 0 { throw LinearAlgebraError.lapackFailure(routine: "LAPACKE_dsyevd_work", info: Int(info)) }
        #endif
    }

    static func syevd(_ a: inout [Double], _ w: inout [Double], n: Int) throws {
        // Single-threaded LAPACK/BLAS: the eigenvectors must be bitwise the same in every
        // command (estimate, merge, resume), which a threaded dsyevd does not give.
        BLAS.configureSingleThreaded()
        if n == 0 { return }
        #if canImport(Accelerate)
        var jobz = Int8(UInt8(ascii: "V")), uplo = Int8(UInt8(ascii: "L"))
        var nn = __CLPK_integer(n), lda = __CLPK_integer(n), info: __CLPK_integer = 0
        var lwork: __CLPK_integer = -1, liwork: __CLPK_integer = -1
        var wq: Double = 0, iq: __CLPK_integer = 0
        dsyevd_(&jobz, &uplo, &nn, &a, &lda, &w, &wq, &lwork, &iq, &liwork, &info)
        lwork = __CLPK_integer(wq); liwork = iq
        var work = [Double](repeating: 0, count: Int(lwork)), iwork = [__CLPK_integer](repeating: 0, count: Int(liwork))
        dsyevd_(&jobz, &uplo, &nn, &a, &lda, &w, &work, &lwork, &iwork, &liwork, &info)
        if info != 0 { throw LinearAlgebraError.lapackFailure(routine: "dsyevd", info: Int(info)) }
        #else
        let lwork = 1 + 6 * n + 2 * n * n
        let liwork = 3 + 5 * n
        var work = [Double](repeating: 0, count: lwork)
        var iwork = [Int32](repeating: 0, count: liwork)
        let info = LAPACKE_dsyevd_work(
            LAPACK_COL_MAJOR, Int8(UInt8(ascii: "V")), Int8(UInt8(ascii: "L")),
            Int32(n), &a, Int32(n), &w, &work, Int32(lwork), &iwork, Int32(liwork))
        if info != 0 { throw LinearAlgebraError.lapackFailure(routine: "LAPACKE_dsyevd_work", info: Int(info)) }
        #endif
    }
}
