import Foundation
import XCTest
@testable import Experiments
import Datasets

/// Fig. 2's heatmap layouts: every basis element gets its own cell; Haar in the standard
/// wavelet layout (DC top left, each subband a contiguous block, coarse scales first).
final class BasisHeatmapLayoutTests: XCTestCase {
    func testHaarWaveletLayout() throws {
        let (_, indices) = try Basis.all("haar", shape: [1, 16, 16])
        let values = Dictionary(uniqueKeysWithValues: indices.indices.map { ($0, Double($0)) })
        let grid = try BasisHeatmapRecipe.grid(family: "haar", values: values)
        XCTAssertEqual(grid.count, 16)
        let cells = grid.flatMap { $0 }.compactMap { $0 }
        XCTAssertEqual(Set(cells).count, 256, "each of the 256 elements in its own cell")
        func element(_ k: Int) -> Basis { indices[Int(grid[k / 16][k % 16]!)] }
        // DC top left; the coarsest details beside it.
        guard case let .haar(scale, _, _, _) = element(0) else { return XCTFail() }
        XCTAssertEqual(scale, 4)
        for (cell, type) in [(1, 1), (16, 0), (17, 2)] {
            guard case let .haar(s, t, _, _) = element(cell) else { return XCTFail() }
            XCTAssertEqual([s, t], [3, type], "cell \(cell)")
        }
        // The finest level's three 8×8 subbands fill the three outer quadrants, in (y, x) order.
        for row in 0..<16 {
            for column in 0..<16 where row >= 8 || column >= 8 {
                guard case let .haar(s, t, x, y) = element(row * 16 + column) else { return XCTFail() }
                XCTAssertEqual(s, 0)
                XCTAssertEqual(t, row < 8 ? 1 : column < 8 ? 0 : 2)
                XCTAssertEqual([y, x], [row % 8, column % 8])
            }
        }
        // Frequency bases: 31×31, mirrored around the centred zero frequency.
        let dct = try BasisHeatmapRecipe.grid(family: "dct", values: [0: 1, 17: 2])
        XCTAssertEqual(dct.count, 31)
        XCTAssertEqual(dct[15][15], 1)
        XCTAssertEqual([dct[16][16], dct[14][14], dct[14][16], dct[16][14]], [2, 2, 2, 2])
    }

    /// The cpu profile's reduced grid: 8×8 elements per basis, at the even cells of each
    /// family's heatmap layout (so the DC term and every region are sampled), 320 units.
    func testCPUProfileRunsAnEvenEightByEightGrid() throws {
        let recipe = BasisHeatmapRecipe(profile: .cpu, options: RecipeOptions())
        XCTAssertEqual(try recipe.units().count, 5 * 64)
        for family in recipe.families {
            let rows = try XCTUnwrap(recipe.rows[family])
            XCTAssertEqual(rows.count, 64, family)
            let (_, indices) = try Basis.all(family, shape: [1, 16, 16])
            let cells = Set(
                rows.map { k -> Int in
                    let (r, c) = BasisHeatmapRecipe.cell(indices[k])
                    XCTAssertTrue(r % 2 == 0 && c % 2 == 0, family)
                    return r * 16 + c
                })
            XCTAssertEqual(cells.count, 64, family)
            XCTAssertTrue(cells.contains(0), "\(family): the (0, 0) cell (DC or top-left pixel)")
        }
    }
}
