import Diffusion
import Foundation
import Formats
import Geometry
import Reports

/// The noise-level-resolved geometry: one estimate G_F(t ∈ band) per band (the same networks,
/// seeds and probe, t restricted), then how the spectrum and the top/bottom-k subspaces move
/// from band to band. Written as `band-<k>/` (each a full geometry directory), `bands.json` and
/// `report.html` (`sad geometry --bands K`).
///
/// A network whose output ignores t (the DiT at init; the reference U-Net at init to ~1e-5,
/// measured) has the same geometry in every band up to the band's weight E_band[1/σ_t²]: the
/// study detects this (normalised geometries equal to 1e-4) and says so instead of charting it.
public enum NoiseBandStudy {
    /// One band's geometry, compared with the first band and the one before.
    public struct Band: Codable, Equatable, Sendable {
        public var timesteps: String
        /// σ_t at the band's ends.
        public var sigma: [Double]
        public var trace: Double
        public var lambdaMax: Double
        /// λ_i / trace for every SAD (descending).
        public var normalisedSpectrum: [Double]
        public var topOverlapWithFirst: Double
        public var bottomOverlapWithFirst: Double
        public var topOverlapWithPrevious: Double?
        public var bottomOverlapWithPrevious: Double?
        /// ‖G/tr G − G₀/tr G₀‖ / ‖G₀/tr G₀‖ against the first band.
        public var normalisedChangeFromFirst: Double
    }

    /// bands.json.
    public struct Result: Codable, Equatable, Sendable {
        public var k: Int
        public var bands: [Band]
        /// Every band's normalised geometry equals the first's (to 1e-4): t is (almost) ignored.
        public var timeInvariant: Bool
        public var note: String
    }

    /// Runs (or resumes) each band's estimate of `job` and writes bands.json and report.html.
    public static func run(
        _ job: GeometryJob, bands: [TimestepBand], k: Int, out: String, log: (String) -> Void = { _ in }
    ) throws -> Result {
        guard job.exactGeometry == nil else {
            throw SettingError(
                setting: "bands", expected: "a Monte Carlo estimate", found: "a closed form (t does not enter it)")
        }
        guard (1...64).contains(bands.count) else {
            throw SettingError(setting: "bands", expected: "1…64 bands", found: "\(bands.count)")
        }
        let schedule = job.spec.noiseSchedule
        var directories: [String] = []
        for (b, band) in bands.enumerated() {
            var bandJob = GeometryJob(spec: try job.spec.restricted(to: band), source: job.source)
            bandJob.checkpointInterval = job.checkpointInterval
            bandJob.progress = job.progress
            let dir = "\(out)/band-\(b)"
            log("band \(b): t \(band)")
            try bandJob.run(in: dir)
            directories.append(dir)
        }
        let d = job.spec.dimension
        guard (1...d).contains(k) else { throw SettingError(setting: "k", expected: "1…\(d)", found: "\(k)") }
        func normalised(_ dir: String) throws -> [Double] {
            let g = try GeometryFiles.geometry(directory: dir, dimension: d)
            var trace = 0.0
            for i in 0..<d { trace += g[i * d + i] }
            return g.map { $0 / max(trace, .leastNormalMagnitude) }
        }
        let first = try normalised(directories[0])
        let firstNorm = first.map { $0 * $0 }.reduce(0, +).squareRoot()
        var result: [Band] = []
        for (b, dir) in directories.enumerated() {
            let vals = try Npy.read("\(dir)/vals.npy").doubles
            let trace = vals.reduce(0, +)
            let g = try normalised(dir)
            var change = 0.0
            for (p, q) in zip(g, first) { change += (p - q) * (p - q) }
            let withFirst = try GeometryComparison(dir, directories[0], k: k)
            let withPrevious = b > 0 ? try GeometryComparison(dir, directories[b - 1], k: k) : nil
            result.append(
                Band(
                    timesteps: bands[b].description,
                    sigma: [bands[b].first, bands[b].last].map { Double(schedule.sqrtOneMinusAlphasCumprod[$0]) },
                    trace: trace, lambdaMax: vals[0], normalisedSpectrum: vals.map { $0 / max(trace, 1e-300) },
                    topOverlapWithFirst: withFirst.topOverlap, bottomOverlapWithFirst: withFirst.bottomOverlap,
                    topOverlapWithPrevious: withPrevious?.topOverlap,
                    bottomOverlapWithPrevious: withPrevious?.bottomOverlap,
                    normalisedChangeFromFirst: change.squareRoot() / max(firstNorm, .leastNormalMagnitude)))
        }
        let largest = result.map(\.normalisedChangeFromFirst).max() ?? 0
        let invariant = largest < 1e-4
        let note =
            invariant
            ? "The network (almost) ignores t here: every band's normalised geometry equals the first's to "
                + "\(String(format: "%.1e", largest)) (relative), so G_F(t) only scales with the band's mean 1/σ_t² "
                + "and its SADs are the same at every noise level — the chart is trivially constant."
            : "The geometry changes with the noise level (largest relative change of the normalised geometry "
                + "\(String(format: "%.3g", largest))): see the overlaps with the first band."
        let study = Result(k: k, bands: result, timeInvariant: invariant, note: note)
        try JSONFile.write(try JSONCoding.object(study), to: "\(out)/bands.json")
        _ = try HTMLReport.write(
            title: "Noise-level-resolved geometry", subtitle: "\(job.spec.model), \(bands.count) bands",
            sections: [section(study)], to: out)
        return study
    }

    static func section(_ r: Result) -> ReportSection {
        let index = r.bands.indices.map(Double.init)
        let spectrum = r.bands.map { band in
            ChartSeries(
                name: "t \(band.timesteps)", x: band.normalisedSpectrum.indices.map(Double.init),
                y: band.normalisedSpectrum.map { max($0, 1e-12) })
        }
        return ReportSection(
            title: "G_F by noise band",
            paragraphs: [r.note],
            table: [
                ["band (t)", "σ_t", "trace", "λ_max", "top-\(r.k) overlap with band 0", "bottom-\(r.k)", "change"]
            ]
                + r.bands.map {
                    [
                        $0.timesteps, String(format: "%.3g…%.3g", $0.sigma[0], $0.sigma[1]),
                        String(format: "%.5g", $0.trace), String(format: "%.5g", $0.lambdaMax),
                        String(format: "%.4f", $0.topOverlapWithFirst),
                        String(format: "%.4f", $0.bottomOverlapWithFirst),
                        String(format: "%.3g", $0.normalisedChangeFromFirst),
                    ]
                },
            figures: [
                .svg(
                    name: "band-spectra",
                    content: SVGChart.lines(
                        title: "Spectrum of G_F(t) / trace per band", xLabel: "SAD index", yLabel: "λ / trace",
                        series: spectrum, logY: true),
                    caption: "Normalised eigenvalues (descending) of each band's geometry."),
                .svg(
                    name: "band-overlaps",
                    content: SVGChart.lines(
                        title: "Subspace overlap with the first band", xLabel: "band (increasing noise)",
                        yLabel: "overlap",
                        series: [
                            ChartSeries(name: "top-\(r.k)", x: index, y: r.bands.map(\.topOverlapWithFirst)),
                            ChartSeries(name: "bottom-\(r.k)", x: index, y: r.bands.map(\.bottomOverlapWithFirst)),
                        ]),
                    caption: "Mean squared cosine of the principal angles between each band's top/bottom-k SADs "
                        + "and band 0's."),
            ])
    }
}
