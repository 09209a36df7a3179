import Foundation
import TestSupport
import XCTest
@testable import Experiments
import Formats

/// Run directories written by earlier builds still open: a recipe's typed `Settings` give the
/// same run identity, field by field, as the settings those runs were started with, so their
/// finished units (e.g. results/cpu/) resume instead of being refused.
final class SweepCompatibilityTests: XCTestCase {
    /// sweep.json files from earlier builds (Tests/Fixtures/sweeps/<recipe>-<profile>/: the cpu
    /// runs saved in results/cpu/ and quick runs), each opened with the current recipes.
    func testSavedSweepsOpenWithTheCurrentSettings() throws {
        let root = "\(TestPaths.fixtures)/sweeps"
        let runs = try FileManager.default.contentsOfDirectory(atPath: root).sorted()
        XCTAssertGreaterThanOrEqual(runs.count, 10)
        for run in runs {
            let dir = try scratchDirectory("compat-\(run)")
            try FileManager.default.copyItem(atPath: "\(root)/\(run)/sweep.json", toPath: "\(dir)/sweep.json")
            let sweep = try Sweep.open(dir, version: ProgramVersion.current)
            XCTAssertEqual("\(sweep.recipe.name)-\(sweep.recipe.profile.rawValue)", run)
            // The settings written now are the settings stored then (sweep.json `settings`).
            let stored = try JSONFile.read("\(dir)/sweep.json")["settings"]
            XCTAssertEqual(Sweep.jsonText(stored), Sweep.jsonText(try sweep.settingsObject.get()), run)
        }
    }

    /// A recipe whose settings differ from a saved run's is refused by name (before any work).
    func testAChangedSettingIsRefusedByName() throws {
        let dir = try scratchDirectory("compat-changed")
        try FileManager.default.copyItem(
            atPath: "\(TestPaths.fixtures)/sweeps/fig6-cpu/sweep.json", toPath: "\(dir)/sweep.json")
        var recipe = SADSweepRecipe(profile: .cpu, options: RecipeOptions())
        recipe.indices[0] = 1
        let sweep = Sweep(
            recipe: recipe, directory: RunDirectory(path: dir), options: RecipeOptions(),
            version: ProgramVersion.current)
        XCTAssertThrowsError(try sweep.prepare()) {
            XCTAssertTrue("\($0)".contains("settings.sad_indices"), "\($0)")
        }
    }
}
