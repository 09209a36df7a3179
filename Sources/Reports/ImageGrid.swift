import Foundation
import Formats
import Tensors

/// PNG grids of images (SADs, samples, spectra) for reports.
public enum ImageGrid {
    public enum Scaling: Sendable {
        /// Data in [−1, 1] (images, samples): clipped, no per-image stretch.
        case data
        /// Each image stretched symmetrically by its own max |value| (eigenvectors: sign is arbitrary, grey = 0).
        case symmetric
        /// Each image stretched from its min to its max (energies, spectra).
        case minMax
    }

    /// images (N, C, H, W) with C = 1 or 3 → an 8-bit PNG, `columns` per row, each pixel
    /// drawn `zoom`×`zoom`, 1-pixel white gutters.
    public static func png(_ images: Tensor, columns: Int, zoom: Int = 4, scaling: Scaling) -> [UInt8] {
        precondition(images.rank == 4 && (images.shape[1] == 1 || images.shape[1] == 3))
        let n = images.shape[0], c = images.shape[1], h = images.shape[2], w = images.shape[3]
        let cols = max(1, min(columns, n)), rows = (n + cols - 1) / cols
        let cellW = w * zoom + 1, cellH = h * zoom + 1
        let width = cols * cellW + 1, height = rows * cellH + 1
        var pixels = [UInt8](repeating: 255, count: width * height * c)
        let plane = h * w
        for k in 0..<n {
            let base = k * c * plane
            let values = images.data[base..<(base + c * plane)]
            let lo: Float, hi: Float
            switch scaling {
            case .data: lo = -1; hi = 1
            case .symmetric: let m = max(values.map(abs).max() ?? 1, 1e-12); lo = -m; hi = m
            case .minMax: lo = values.min() ?? 0; hi = max(values.max() ?? 1, lo + 1e-12)
            }
            let ox = (k % cols) * cellW + 1, oy = (k / cols) * cellH + 1
            for y in 0..<h {
                for x in 0..<w {
                    for ch in 0..<c {
                        let v = images.data[base + ch * plane + y * w + x]
                        let byte = UInt8(max(0, min(255, ((v - lo) / (hi - lo) * 255).rounded())))
                        for dy in 0..<zoom {
                            for dx in 0..<zoom {
                                pixels[((oy + y * zoom + dy) * width + ox + x * zoom + dx) * c + ch] = byte
                            }
                        }
                    }
                }
            }
        }
        return PNG.encode(width: width, height: height, channels: c, samples: pixels)
    }

    /// Centred DFT energy |X̂|² of each channel-summed image (N, C, H, W) → (N, 1, H, W),
    /// zero frequency in the middle (as the paper's Fig. 6 rows). A direct O(H²W²) DFT: the
    /// images here are at most a few thousand pixels.
    public static func centredSpectrum(_ images: Tensor) -> Tensor {
        let n = images.shape[0], c = images.shape[1], h = images.shape[2], w = images.shape[3]
        var out = Tensor(zeros: [n, 1, h, w])
        func table(_ n: Int, _ f: (Double) -> Double) -> [Float] {
            (0..<(n * n)).map { (k: Int) -> Float in
                let phase: Double = 2 * Double.pi * Double((k / n) * (k % n)) / Double(n)
                return Float(f(phase))
            }
        }
        let cosH = table(h, cos), sinH = table(h, sin), cosW = table(w, cos), sinW = table(w, sin)
        for k in 0..<n {
            for ch in 0..<c {
                let base = (k * c + ch) * h * w
                // Rows first: R[y][v] = Σ_x img[y][x] e^{−2πi v x / W}.
                var re = [Float](repeating: 0, count: h * w), im = re
                for y in 0..<h {
                    for v in 0..<w {
                        var a: Float = 0, b: Float = 0
                        for x in 0..<w {
                            let p = images.data[base + y * w + x]; a += p * cosW[v * w + x]; b -= p * sinW[v * w + x]
                        }
                        re[y * w + v] = a; im[y * w + v] = b
                    }
                }
                for u in 0..<h {
                    for v in 0..<w {
                        var a: Float = 0, b: Float = 0
                        for y in 0..<h {
                            let cr = cosH[u * h + y], sr = -sinH[u * h + y]
                            a += re[y * w + v] * cr - im[y * w + v] * sr
                            b += re[y * w + v] * sr + im[y * w + v] * cr
                        }
                        let cy = (u + h / 2) % h, cx = (v + w / 2) % w
                        out.data[k * h * w + cy * w + cx] += a * a + b * b
                    }
                }
            }
        }
        return out
    }
}
