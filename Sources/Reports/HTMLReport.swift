import Foundation
import Formats

/// A figure in a report: inline SVG or an embedded PNG.
public enum ReportFigure: Sendable {
    case svg(name: String, content: String, caption: String)
    case png(name: String, bytes: [UInt8], caption: String)

    public var name: String {
        switch self {
        case let .svg(n, _, _), let .png(n, _, _): return n
        }
    }
}

/// A section of a report: prose, one table, figures.
public struct ReportSection: Sendable {
    public var title: String
    public var paragraphs: [String]
    public var table: [[String]]  // first row = header
    public var figures: [ReportFigure]

    public init(title: String, paragraphs: [String] = [], table: [[String]] = [], figures: [ReportFigure] = []) {
        self.title = title
        self.paragraphs = paragraphs
        self.table = table
        self.figures = figures
    }
}

/// One self-contained `report.html` per run (figures inline: SVG as markup, PNG as data
/// URIs), and each figure also saved beside it as its own file.
public enum HTMLReport {
    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(
            of: ">", with: "&gt;")
    }

    public static func render(title: String, subtitle: String, sections: [ReportSection]) -> String {
        var html = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>\(escape(title))</title>
            <style>
            body { font-family: sans-serif; max-width: 1100px; margin: 2em auto; color: #222; }
            h1 { font-size: 1.6em; }
            h2 { font-size: 1.25em; border-bottom: 1px solid #ccc; padding-bottom: .2em; margin-top: 2em; }
            table { border-collapse: collapse; margin: 1em 0; font-size: .9em; }
            td, th { border: 1px solid #ccc; padding: .25em .6em; text-align: right; } th { background: #f3f3f3; }
            figure { display: inline-block; margin: .5em 1em .5em 0; vertical-align: top; }
            figcaption { font-size: .85em; color: #555; max-width: 640px; }
            img { image-rendering: pixelated; max-width: 100%; }
            .subtitle { color: #555; }
            </style></head><body>
            <h1>\(escape(title))</h1>
            <p class="subtitle">\(escape(subtitle))</p>

            """
        for section in sections {
            html += "<section><h2>\(escape(section.title))</h2>\n"
            for p in section.paragraphs { html += "<p>\(escape(p))</p>\n" }
            if let head = section.table.first {
                html += "<table><tr>" + head.map { "<th>\(escape($0))</th>" }.joined() + "</tr>\n"
                for row in section.table.dropFirst() {
                    html += "<tr>" + row.map { "<td>\(escape($0))</td>" }.joined() + "</tr>\n"
                }
                html += "</table>\n"
            }
            for figure in section.figures {
                switch figure {
                case let .svg(name, content, caption):
                    html +=
                        "<figure id=\"\(escape(name))\">\(content)"
                        + "<figcaption>\(escape(caption))</figcaption></figure>\n"
                case let .png(name, bytes, caption):
                    html +=
                        "<figure id=\"\(escape(name))\"><img alt=\"\(escape(name))\" "
                        + "src=\"data:image/png;base64,\(Data(bytes).base64EncodedString())\">"
                        + "<figcaption>\(escape(caption))</figcaption></figure>\n"
                }
            }
            html += "</section>\n"
        }
        return html + "</body></html>\n"
    }

    /// Writes report.html and every figure (name.svg / name.png) into `directory`, atomically.
    public static func write(
        title: String, subtitle: String, sections: [ReportSection], to directory: String
    ) throws -> String {
        try FileManager.default.createDirectory(atPath: "\(directory)/figures", withIntermediateDirectories: true)
        for figure in sections.flatMap(\.figures) {
            switch figure {
            case let .svg(name, content, _): try AtomicFile.write(text: content, to: "\(directory)/figures/\(name).svg")
            case let .png(name, bytes, _): try AtomicFile.write(bytes, to: "\(directory)/figures/\(name).png")
            }
        }
        let path = "\(directory)/report.html"
        try AtomicFile.write(text: render(title: title, subtitle: subtitle, sections: sections), to: path)
        return path
    }
}
