import XCTest
@testable import Experiments

/// Fig. 6's ordering claim ranks numerically zero eigenvalues (the DiT's closed-form
/// geometry past its numerical rank, ±1e-16 relative) as ties instead of ranking their rounding noise.
final class SADOrderingClaimTests: XCTestCase {
    func summary(lambdas: [Double], msw: [Double]) -> [String: SADSweepRecipe.ArchitectureResult] {
        let rows = zip(lambdas, msw).enumerated().map { k, pair in
            SADSweepRecipe.IndexResult(
                index: k * 32, eigenvalue: pair.0, normalisedEigenvalue: pair.0, msw2: SeedStatistics([pair.1]),
                sw2: SeedStatistics([pair.1]), baselines: BaselineComparison(model: "SAD \(k * 32)", results: [nil]))
        }
        return ["dit-p2": SADSweepRecipe.ArchitectureResult(perIndex: rows, geometry: "test")]
    }

    func testNullEigenvaluesAreTiedInTheOrderingClaim() throws {
        var recipe = SADSweepRecipe(profile: .cpu, options: RecipeOptions(seeds: 1))
        recipe.architectures = [.dit2]
        recipe.indices = [0, 32, 64, 96, 128]
        let lambdas = [1, 2e-3, 1e-16, -2e-17, 3e-17], msw = [30.0, 16, 10, 7, 12]
        let claims = try recipe.verdict(summary(lambdas: lambdas, msw: msw))
        let ordering = try XCTUnwrap(claims.first { $0.id == "fig6.dit-p2.ordering" })
        let tied = try XCTUnwrap(RankCorrelation([1, 2e-3, 0, 0, 0], msw).rho)
        let noise = try XCTUnwrap(RankCorrelation(lambdas, msw).rho)
        XCTAssertNotEqual(tied, noise)
        XCTAssertEqual(try XCTUnwrap(ordering.evidence.values["rho"]), tied, accuracy: 1e-12)
        XCTAssertTrue(ordering.evidence.summary.contains("3 of them"), ordering.evidence.summary)
        // The U-Nets' eigenvalues (λ/λ_max ≥ 1e-4) are ranked as they are.
        let unet = [1, 0.05, 0.01, 0.003, 0.0007]
        let plain = try recipe.verdict(summary(lambdas: unet, msw: msw)).first { $0.id == "fig6.dit-p2.ordering" }
        XCTAssertEqual(
            try XCTUnwrap(plain?.evidence.values["rho"]), try XCTUnwrap(RankCorrelation(unet, msw).rho),
            accuracy: 1e-12)
    }
}
