import Foundation
import XCTest
import Formats
import Reports
import Tensors

final class ReportTests: XCTestCase {
    func testChartsAreWellFormedAndEscaped() {
        let s = ChartSeries(name: "a<b & c", x: [0, 1, 2], y: [1, 4, 2], error: [0.1, 0.2, 0.3])
        for svg in [
            SVGChart.lines(
                title: "t", xLabel: "x", yLabel: "y", series: [s], secondary: s, secondaryLabel: "λ", logX: false,
                logY: true),
            SVGChart.bars(title: "t", yLabel: "y", categories: ["A", "B", "C"], series: [s]),
            SVGChart.scatter(title: "t", xLabel: "x", yLabel: "y", series: [s]),
            SVGChart.heatmap(title: "t", grid: [[1, nil], [3, .nan]], colourLabel: "v"),
        ] {
            XCTAssertTrue(SVGCheck.isWellFormed(svg), svg)
            XCTAssertTrue(svg.contains("a&lt;b &amp; c") || !svg.contains("a<b"))
        }
    }

    func testImageGridAndSpectrum() throws {
        var t = Tensor(zeros: [3, 1, 8, 8])
        for k in 0..<64 { t.data[k] = Float(cos(2 * Double.pi * Double(k % 8) * 2 / 8)) }  // horizontal frequency 2
        let png = try PNG.decode(ImageGrid.png(t, columns: 2, zoom: 3, scaling: .symmetric), file: "grid")
        XCTAssertEqual(png.width, 2 * (8 * 3 + 1) + 1)
        XCTAssertEqual(png.height, 2 * (8 * 3 + 1) + 1)
        let s = ImageGrid.centredSpectrum(t)
        // All energy at (u, v) = (0, ±2) → centred at row 4, columns 4 ± 2.
        let total = s.data[0..<64].reduce(0, +)
        XCTAssertEqual((s.data[4 * 8 + 2] + s.data[4 * 8 + 6]) / total, 1, accuracy: 1e-5)
    }

    /// The report renders in headless Chromium (when installed) to a non-blank screenshot.
    func testReportRendersInHeadlessChromium() throws {
        guard
            let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].first(where: {
                FileManager.default.isExecutableFile(atPath: $0)
            })
        else {
            throw XCTSkip("no Chromium installed (apt-get install chromium)")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sad-report-\(UUID().uuidString)").path
        let s = ChartSeries(name: "msw2", x: [0, 1, 2], y: [3, 2, 1], error: [0.2, 0.2, 0.2])
        var img = Tensor(zeros: [2, 1, 8, 8])
        for k in 0..<128 { img.data[k] = Float(k % 9) / 4 - 1 }
        let path = try HTMLReport.write(
            title: "test report", subtitle: "sub",
            sections: [
                ReportSection(
                    title: "section", paragraphs: ["text"], table: [["a", "b"], ["1", "2"]],
                    figures: [
                        .svg(
                            name: "chart", content: SVGChart.lines(title: "c", xLabel: "x", yLabel: "y", series: [s]),
                            caption: "c"),
                        .png(
                            name: "grid", bytes: ImageGrid.png(img, columns: 2, zoom: 8, scaling: .data), caption: "g"),
                    ])
            ], to: dir)
        let shot = "\(dir)/screenshot.png"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: chromium)
        p.arguments = [
            "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1100,900",
            "--screenshot=\(shot)", "file://\(path)",
        ]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        let image = try PNG.read(shot)
        XCTAssertEqual(image.width, 1100)
        // Not blank: many distinct grey levels.
        XCTAssertGreaterThan(Set(image.samples.prefix(200_000)).count, 20)
    }
}
