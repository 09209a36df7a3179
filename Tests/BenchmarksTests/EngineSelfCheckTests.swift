import XCTest
@testable import Benchmarks

/// `sad self-check`'s checks, run where the tests reach them.
final class EngineSelfCheckTests: XCTestCase {
    func testEveryEngineCheckPasses() throws {
        let (checks, gflops) = try EngineSelfCheck.run()
        XCTAssertEqual(checks.count, 5)
        for c in checks { XCTAssertTrue(c.passed, "\(c.name): \(c.detail)") }
        XCTAssertTrue(gflops.isFinite && gflops > 0)
    }
}
