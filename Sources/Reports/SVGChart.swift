import Foundation

/// One line of a chart: points (x, y) with optional symmetric error bars.
public struct ChartSeries: Sendable {
    public var name: String
    public var x: [Double]
    public var y: [Double]
    public var error: [Double]?
    public var colour: String

    public init(name: String, x: [Double], y: [Double], error: [Double]? = nil, colour: String? = nil) {
        precondition(x.count == y.count && (error == nil || error!.count == y.count))
        self.name = name
        self.x = x
        self.y = y
        self.error = error
        self.colour = colour ?? ""
    }
}

/// Self-contained SVG charts (no scripts, no external fonts) for reports.
public enum SVGChart {
    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]
    static let width = 640.0, height = 400.0
    static let left = 70.0, right = 70.0, top = 40.0, bottom = 55.0

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(
            of: ">", with: "&gt;")
    }

    static func format(_ v: Double) -> String {
        if v == 0 { return "0" }
        let a = abs(v)
        if a >= 1e4 || a < 1e-3 { return String(format: "%.1e", v) }
        if a >= 100 { return String(format: "%.0f", v) }
        if a >= 1 {
            return String(format: "%.2g", v) == String(format: "%.0f", v)
                ? String(format: "%.0f", v) : String(format: "%.3g", v)
        }
        return String(format: "%.3g", v)
    }

    /// "Nice" tick values covering lo…hi.
    static func ticks(_ lo: Double, _ hi: Double, count: Int = 5) -> [Double] {
        guard hi > lo, lo.isFinite, hi.isFinite else { return [lo] }
        let raw = (hi - lo) / Double(count)
        let mag = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * mag }.first { $0 >= raw } ?? 10 * mag
        var t = ceil(lo / step) * step, out: [Double] = []
        while t <= hi + step * 1e-9 { out.append(abs(t) < step * 1e-9 ? 0 : t); t += step }
        return out
    }

    struct Axis {
        var lo: Double, hi: Double, log: Bool
        init(values: [Double], log: Bool, includeZero: Bool = false) {
            var v = values.filter { $0.isFinite && (!log || $0 > 0) }
            if includeZero && !log { v.append(0) }
            lo = v.min() ?? 0; hi = v.max() ?? 1
            self.log = log
            if log { lo = log10(lo); hi = log10(hi) }
            if hi - lo < 1e-12 { lo -= 0.5; hi += 0.5 }
            let pad = (hi - lo) * 0.05
            lo -= pad; hi += pad
        }
        func map(_ v: Double, _ a: Double, _ b: Double) -> Double {
            let t = ((log ? log10(max(v, 1e-300)) : v) - lo) / (hi - lo)
            return a + t * (b - a)
        }
        var tickValues: [Double] {
            log
                ? (Int(floor(lo))...Int(ceil(hi))).map { pow(10, Double($0)) }.filter {
                    log10($0) >= lo && log10($0) <= hi
                }
                : SVGChart.ticks(lo, hi)
        }
    }

    /// A line chart with markers and error bars; `secondary` is drawn against a right axis
    /// (e.g. eigenvalues next to a metric).
    public static func lines(
        title: String, xLabel: String, yLabel: String, series: [ChartSeries],
        secondary: ChartSeries? = nil, secondaryLabel: String = "",
        logX: Bool = false, logY: Bool = false, secondaryLog: Bool = false
    ) -> String {
        let pw = width - left - right, ph = height - top - bottom
        let xs = series.flatMap(\.x) + (secondary?.x ?? [])
        var ys: [Double] = []
        for s in series { for (k, y) in s.y.enumerated() { let e = s.error?[k] ?? 0; ys += [y - e, y + e] } }
        let ax = Axis(values: xs, log: logX), ay = Axis(values: ys, log: logY)
        func px(_ v: Double) -> Double { ax.map(v, left, left + pw) }
        func py(_ v: Double) -> Double { ay.map(v, top + ph, top) }
        var svg = header(title: title)
        svg += axes(ax: ax, ay: ay, xLabel: xLabel, yLabel: yLabel, px: px, py: py)
        for (k, s) in series.enumerated() {
            let colour = s.colour.isEmpty ? palette[k % palette.count] : s.colour
            svg += polyline(s, colour: colour, px: px, py: py, dashed: false)
            svg += legend(s.name, colour: colour, row: k, dashed: false)
        }
        if let s = secondary {
            let a2 = Axis(values: s.y, log: secondaryLog)
            func py2(_ v: Double) -> Double { a2.map(v, top + ph, top) }
            svg += "<line x1='\(left + pw)' y1='\(top)' x2='\(left + pw)' y2='\(top + ph)' stroke='#555'/>\n"
            for t in a2.tickValues {
                let y = py2(t)
                svg += "<text x='\(left + pw + 6)' y='\(y + 4)' font-size='11' fill='#555'>\(format(t))</text>\n"
            }
            svg +=
                "<text transform='translate(\(width - 14),\(top + ph / 2)) rotate(90)' text-anchor='middle' "
                + "font-size='12' fill='#555'>\(escape(secondaryLabel))</text>\n"
            svg += polyline(s, colour: "#777", px: px, py: py2, dashed: true)
            svg += legend(s.name, colour: "#777", row: series.count, dashed: true)
        }
        return svg + "</svg>\n"
    }

    /// Grouped bars with error bars: one group per category, one bar per series.
    public static func bars(title: String, yLabel: String, categories: [String], series: [ChartSeries]) -> String {
        let pw = width - left - right, ph = height - top - bottom
        var ys: [Double] = [0]
        for s in series { for (k, y) in s.y.enumerated() { ys.append(y + (s.error?[k] ?? 0)) } }
        let ay = Axis(values: ys, log: false, includeZero: true)
        func py(_ v: Double) -> Double { ay.map(v, top + ph, top) }
        var svg = header(title: title)
        svg += "<rect x='\(left)' y='\(top)' width='\(pw)' height='\(ph)' fill='none' stroke='#333'/>\n"
        for t in ay.tickValues {
            svg +=
                "<line x1='\(left - 4)' y1='\(py(t))' x2='\(left)' y2='\(py(t))' stroke='#333'/><text "
                + "x='\(left - 8)' y='\(py(t) + 4)' text-anchor='end' font-size='11'>\(format(t))</text>\n"
        }
        svg +=
            "<text transform='translate(16,\(top + ph / 2)) rotate(-90)' text-anchor='middle' "
            + "font-size='12'>\(escape(yLabel))</text>\n"
        let group = pw / Double(max(categories.count, 1))
        let bar = group * 0.8 / Double(max(series.count, 1))
        for (c, name) in categories.enumerated() {
            svg +=
                "<text x='\(left + (Double(c) + 0.5) * group)' y='\(top + ph + 18)' text-anchor='middle' "
                + "font-size='12'>\(escape(name))</text>\n"
            for (k, s) in series.enumerated() where c < s.y.count && s.y[c].isFinite {
                let colour = s.colour.isEmpty ? palette[k % palette.count] : s.colour
                let x = left + Double(c) * group + group * 0.1 + Double(k) * bar
                let y0 = py(0), y1 = py(s.y[c])
                svg +=
                    "<rect x='\(x)' y='\(min(y0, y1))' width='\(bar * 0.9)' height='\(abs(y0 - y1))' "
                    + "fill='\(colour)'/>\n"
                if let e = s.error?[c], e > 0 {
                    let cx = x + bar * 0.45
                    svg += "<line x1='\(cx)' y1='\(py(s.y[c] - e))' x2='\(cx)' y2='\(py(s.y[c] + e))' stroke='#000'/>\n"
                }
            }
        }
        for (k, s) in series.enumerated() {
            svg += legend(
                s.name, colour: s.colour.isEmpty ? palette[k % palette.count] : s.colour, row: k, dashed: false)
        }
        return svg + "</svg>\n"
    }

    /// A scatter plot of point clouds.
    /// A scatter plot; with `limit` both axes span [−limit, limit] and points outside are left
    /// out (their number is added to the series' legend), so that a small structure such as the
    /// data's circle stays visible beside far-away samples.
    public static func scatter(
        title: String, xLabel: String, yLabel: String, series: [ChartSeries], limit: Double? = nil
    ) -> String {
        let pw = width - left - right, ph = height - top - bottom
        let ax = Axis(values: limit.map { [-$0, $0] } ?? series.flatMap(\.x), log: false)
        let ay = Axis(values: limit.map { [-$0, $0] } ?? series.flatMap(\.y), log: false)
        func inside(_ x: Double, _ y: Double) -> Bool { limit.map { abs(x) <= $0 && abs(y) <= $0 } ?? true }
        func px(_ v: Double) -> Double { ax.map(v, left, left + pw) }
        func py(_ v: Double) -> Double { ay.map(v, top + ph, top) }
        var svg = header(title: title) + axes(ax: ax, ay: ay, xLabel: xLabel, yLabel: yLabel, px: px, py: py)
        for (k, s) in series.enumerated() {
            let colour = s.colour.isEmpty ? palette[k % palette.count] : s.colour
            var outside = 0
            for (x, y) in zip(s.x, s.y) where x.isFinite && y.isFinite {
                guard inside(x, y) else {
                    outside += 1
                    continue
                }
                svg +=
                    "<circle cx='\(String(format: "%.1f", px(x)))' cy='\(String(format: "%.1f", py(y)))' r='1.5' "
                    + "fill='\(colour)' fill-opacity='0.5'/>\n"
            }
            let name = outside > 0 ? "\(s.name) (\(outside) outside the axes)" : s.name
            svg += legend(name, colour: colour, row: k, dashed: false)
        }
        return svg + "</svg>\n"
    }

    /// A heatmap of a grid (rows top to bottom); nil cells are drawn grey. Viridis-like colours.
    public static func heatmap(title: String, grid: [[Double?]], colourLabel: String) -> String {
        let rows = grid.count, cols = grid.first?.count ?? 0
        let size = min((width - 160) / Double(max(cols, 1)), (height - 70) / Double(max(rows, 1)))
        let values = grid.flatMap { $0 }.compactMap { $0 }.filter(\.isFinite)
        let lo = values.min() ?? 0, hi = max(values.max() ?? 1, lo + 1e-12)
        var svg = header(title: title)
        for r in 0..<rows {
            for c in 0..<cols {
                let fill = grid[r][c].map { colour(($0 - lo) / (hi - lo)) } ?? "#bbbbbb"
                svg +=
                    "<rect x='\(20 + Double(c) * size)' y='\(40 + Double(r) * size)' width='\(size)' "
                    + "height='\(size)' fill='\(fill)'/>\n"
            }
        }
        let bx = 40 + Double(cols) * size
        for k in 0..<50 {
            svg +=
                "<rect x='\(bx)' y='\(40 + Double(49 - k) * 5)' width='14' height='5' "
                + "fill='\(colour(Double(k) / 49))'/>\n"
        }
        svg +=
            "<text x='\(bx + 18)' y='44' font-size='11'>\(format(hi))</text><text x='\(bx + 18)' y='290' "
            + "font-size='11'>\(format(lo))</text>\n"
        svg += "<text x='\(bx)' y='310' font-size='11'>\(escape(colourLabel))</text>\n"
        return svg + "</svg>\n"
    }

    /// An approximation of matplotlib's viridis, t in [0, 1].
    static func colour(_ t: Double) -> String {
        let stops: [(Double, Double, Double)] = [
            (68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37),
        ]
        let x = min(max(t.isFinite ? t : 0, 0), 1) * Double(stops.count - 1)
        let i = min(Int(x), stops.count - 2), f = x - Double(i)
        let a = stops[i], b = stops[i + 1]
        return String(
            format: "#%02x%02x%02x", Int(a.0 + f * (b.0 - a.0)), Int(a.1 + f * (b.1 - a.1)), Int(a.2 + f * (b.2 - a.2)))
    }

    static func header(title: String) -> String {
        "<svg xmlns='http://www.w3.org/2000/svg' width='\(Int(width))' height='\(Int(height))' viewBox='0 0 "
            + "\(Int(width)) \(Int(height))' font-family='sans-serif'>\n"
            + "<rect width='100%' height='100%' fill='white'/>\n"
            + "<text x='\(width / 2)' y='22' text-anchor='middle' font-size='15'>\(escape(title))</text>\n"
    }

    static func axes(
        ax: Axis, ay: Axis, xLabel: String, yLabel: String, px: (Double) -> Double, py: (Double) -> Double
    ) -> String {
        let pw = width - left - right, ph = height - top - bottom
        var svg = "<rect x='\(left)' y='\(top)' width='\(pw)' height='\(ph)' fill='none' stroke='#333'/>\n"
        for t in ax.tickValues {
            let x = px(t)
            svg +=
                "<line x1='\(x)' y1='\(top + ph)' x2='\(x)' y2='\(top + ph + 4)' stroke='#333'/><text x='\(x)' "
                + "y='\(top + ph + 17)' text-anchor='middle' font-size='11'>\(format(t))</text>\n"
        }
        for t in ay.tickValues {
            let y = py(t)
            svg +=
                "<line x1='\(left - 4)' y1='\(y)' x2='\(left)' y2='\(y)' stroke='#333'/><line x1='\(left)' "
                + "y1='\(y)' x2='\(left + pw)' y2='\(y)' stroke='#eee'/>"
                + "<text x='\(left - 8)' y='\(y + 4)' text-anchor='end' font-size='11'>\(format(t))</text>\n"
        }
        svg +=
            "<text x='\(left + pw / 2)' y='\(height - 12)' text-anchor='middle' "
            + "font-size='12'>\(escape(xLabel))</text>\n"
        svg +=
            "<text transform='translate(16,\(top + ph / 2)) rotate(-90)' text-anchor='middle' "
            + "font-size='12'>\(escape(yLabel))</text>\n"
        return svg
    }

    static func polyline(
        _ s: ChartSeries, colour: String, px: (Double) -> Double, py: (Double) -> Double, dashed: Bool
    ) -> String {
        let pts = zip(s.x, s.y).filter { $0.0.isFinite && $0.1.isFinite }
        var svg =
            "<polyline fill='none' stroke='\(colour)' stroke-width='1.6'\(dashed ? " stroke-dasharray='5,3'" : "") "
            + "points='"
            + pts.map { String(format: "%.1f,%.1f", px($0.0), py($0.1)) }.joined(separator: " ") + "'/>\n"
        for (i, (x, y)) in zip(s.x, s.y).enumerated() where x.isFinite && y.isFinite {
            if pts.count <= 64 {
                svg += String(format: "<circle cx='%.1f' cy='%.1f' r='2.5' ", px(x), py(y)) + "fill='\(colour)'/>\n"
            }
            if let e = s.error?[i], e > 0, e.isFinite {
                svg +=
                    String(format: "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' ", px(x), py(y - e), px(x), py(y + e))
                    + "stroke='\(colour)'/>\n"
            }
        }
        return svg
    }

    static func legend(_ name: String, colour: String, row: Int, dashed: Bool) -> String {
        let y = top + 14 + Double(row) * 16, x = left + 10
        return
            "<line x1='\(x)' y1='\(y - 4)' x2='\(x + 18)' y2='\(y - 4)' stroke='\(colour)' "
            + "stroke-width='2'\(dashed ? " stroke-dasharray='5,3'" : "")/>"
            + "<text x='\(x + 24)' y='\(y)' font-size='11'>\(escape(name))</text>\n"
    }
}
