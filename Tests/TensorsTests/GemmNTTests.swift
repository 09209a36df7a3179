import CKernels
import XCTest
@testable import Tensors

/// `sad_sgemm_nt_accumulate` (C += A·Bᵀ, CKernels/GemmNT.c): against a Float64 reference,
/// accumulating into what C held, and each element bitwise the same whichever block of C it
/// falls in (its sum order depends on L and the operands only).
final class GemmNTTests: XCTestCase {
    /// (m, n, l): 4×4 blocks with row and column remainders, sums with and without a tail past
    /// the last 16-float group, single rows and columns, and sums shorter than one group.
    let shapes: [(m: Int, n: Int, l: Int)] = [
        (5, 7, 37), (32, 64, 512), (4, 3, 16), (1, 1, 15), (6, 9, 1_144), (3, 4, 0),
    ]

    func operands(_ m: Int, _ n: Int, _ l: Int, lda: Int, ldb: Int, seed: UInt64) -> ([Float], [Float], [Float]) {
        let a = RandomStream(seed: seed, purpose: .test, index: 0).normalTensor([max(1, m * lda)]).data
        let b = RandomStream(seed: seed, purpose: .test, index: 1).normalTensor([max(1, n * ldb)]).data
        let c = RandomStream(seed: seed, purpose: .test, index: 2).normalTensor([max(1, m * n)]).data
        return (a, b, c)
    }

    func testMatchesFloat64AndAccumulates() {
        for (index, s) in shapes.enumerated() {
            let lda = s.l + 3, ldb = s.l + 5  // leading dimensions wider than the sums
            let (a, b, c0) = operands(s.m, s.n, s.l, lda: lda, ldb: ldb, seed: 40 + UInt64(index))
            var c = c0
            sad_sgemm_nt_accumulate(s.m, s.n, s.l, a, lda, b, ldb, &c, s.n)
            for i in 0..<s.m {
                for j in 0..<s.n {
                    var exact = Double(c0[i * s.n + j]), magnitude = abs(exact)
                    for t in 0..<s.l {
                        let p = Double(a[i * lda + t]) * Double(b[j * ldb + t])
                        exact += p
                        magnitude += abs(p)
                    }
                    // float32 sums of L products: error ≤ ~L·2⁻²⁴ Σ|terms| in the worst case,
                    // ~√L·2⁻²⁴ typically; 4·2⁻²⁴·√(L + 1) Σ|terms| bounds every case here.
                    let tolerance = 4 * 6e-8 * Double(s.l + 1).squareRoot() * max(magnitude, 1e-30)
                    XCTAssertEqual(
                        Double(c[i * s.n + j]), exact, accuracy: tolerance, "(\(s.m), \(s.n), \(s.l)) at (\(i), \(j))")
                }
            }
        }
    }

    func testEachElementIsIndependentOfItsBlock() {
        for (index, s) in shapes.enumerated() where s.m * s.n > 0 {
            let (a, b, c0) = operands(s.m, s.n, s.l, lda: s.l, ldb: s.l, seed: 60 + UInt64(index))
            var whole = c0
            sad_sgemm_nt_accumulate(s.m, s.n, s.l, a, s.l, b, s.l, &whole, s.n)
            // Every element alone, as a (1, 1) product on sub-pointers of the same operands.
            var alone = c0
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    alone.withUnsafeMutableBufferPointer { pc in
                        for i in 0..<s.m {
                            for j in 0..<s.n {
                                sad_sgemm_nt_accumulate(
                                    1, 1, s.l, pa.baseAddress! + i * s.l, s.l, pb.baseAddress! + j * s.l, s.l,
                                    pc.baseAddress! + i * s.n + j, s.n)
                            }
                        }
                    }
                }
            }
            XCTAssertEqual(whole, alone, "(\(s.m), \(s.n), \(s.l))")
        }
    }

    func testDirectPathIsChosenForLongSumsOnly() {
        XCTAssertTrue(WinogradConv.usesDirectGradientGEMM(m: 32, n: 32, k: 1_568))  // 1x28x28 U-Net
        XCTAssertFalse(WinogradConv.usesDirectGradientGEMM(m: 32, n: 32, k: 512))  // BLAS's small kernel
        XCTAssertFalse(WinogradConv.usesDirectGradientGEMM(m: 32, n: 3, k: 2_048))  // one RGB side
        XCTAssertFalse(WinogradConv.usesDirectGradientGEMM(m: 512, n: 512, k: 256))  // short sums
    }

    func testForwardColumnBlocks() {
        // Whole n while m·n·k is small; otherwise equal whole-vector blocks within the bound.
        XCTAssertEqual(WinogradConv.gemmColumns(m: 32, n: 256, k: 32), 256)
        for (m, n, k) in [(32, 4_096, 32), (64, 12_544, 64), (128, 1_000, 128), (32, 777, 64)] {
            let columns = WinogradConv.gemmColumns(m: m, n: n, k: k)
            XCTAssertEqual(columns % 16, 0)
            XCTAssertLessThanOrEqual(m * columns * k, max(WinogradConv.smallGEMMProducts, m * 16 * k))
            XCTAssertGreaterThan(columns, 0)
        }
    }
}
