import CZlib

/// A decoded PNG image: interleaved samples (H, W, channels), each in 0…`maxValue`.
///
/// Channels follow PIL's mode-preserving `convert()`, which the reference's image folder
/// applies: grey stays 1 channel, grey+alpha 2, RGB 3, RGBA 4, and a palette image becomes
/// RGB (3 channels; a tRNS transparency table is ignored, as PIL's RGB conversion drops it).
public struct PNGImage: Equatable, Sendable {
    public let width: Int
    public let height: Int
    public let channels: Int
    /// 2^bitDepth − 1 of the stored samples (255 for 8-bit, 65535 for 16-bit; a palette
    /// image's samples are its 8-bit RGB entries).
    public let maxValue: Int
    public let samples: [UInt16]  // (H, W, channels)

    public init(width: Int, height: Int, channels: Int, maxValue: Int, samples: [UInt16]) {
        precondition(samples.count == width * height * channels)
        self.width = width
        self.height = height
        self.channels = channels
        self.maxValue = maxValue
        self.samples = samples
    }

    /// Planes (C, H, W) scaled to [0, 1] (PIL ToTensor's x/255 for 8-bit images).
    public func planes() -> [Float] {
        var out = [Float](repeating: 0, count: samples.count)
        let scale = Float(maxValue)  // divided, not multiplied by 1/255: ToTensor's x / 255
        for y in 0..<height {
            for x in 0..<width {
                for c in 0..<channels {
                    out[(c * height + y) * width + x] = Float(samples[(y * width + x) * channels + c]) / scale
                }
            }
        }
        return out
    }
}

/// A strict PNG (ISO/IEC 15948) reader and a minimal writer.
///
/// The reader handles every standard colour type and bit depth (grey 1/2/4/8/16, RGB 8/16,
/// palette 1/2/4/8, grey+alpha and RGBA 8/16), all five row filters, and checks every chunk's
/// CRC. Adam7-interlaced files are refused with an error (rare in datasets; re-save them
/// non-interlaced). The writer stores 8-bit grey or RGB with filter 0, enough for image grids.
public enum PNG {
    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    /// Images larger than this many pixels are refused before any allocation.
    public static let maxPixels = 1 << 26

    public static func read(_ path: String) throws -> PNGImage { try decode(try AtomicFile.read(path), file: path) }

    public static func decode(_ bytes: [UInt8], file: String) throws -> PNGImage {
        func fail(_ field: String, _ expected: String, _ found: String) -> FormatError {
            FormatError(file: file, field: field, expected: expected, found: found)
        }
        guard bytes.count >= 8, Array(bytes[0..<8]) == signature else {
            throw fail(
                "signature", "the PNG signature 89 50 4E 47 0D 0A 1A 0A",
                bytes.count < 8 ? "\(bytes.count) bytes" : "other bytes")
        }
        func u32(_ o: Int) -> Int {
            Int(bytes[o]) << 24 | Int(bytes[o + 1]) << 16 | Int(bytes[o + 2]) << 8 | Int(bytes[o + 3])
        }

        var offset = 8
        var header: (width: Int, height: Int, depth: Int, colour: Int)?
        var palette: [UInt8] = []
        var compressed: [UInt8] = []
        var ended = false
        while !ended {
            guard offset + 12 <= bytes.count else {
                throw fail("chunks", "an IEND chunk", "end of file at byte \(offset) (truncated)")
            }
            let length = u32(offset)
            let type = String(decoding: bytes[(offset + 4)..<(offset + 8)], as: UTF8.self)
            guard length <= bytes.count - offset - 12 else {
                throw fail("chunk \(type)", "\(length) data bytes", "\(bytes.count - offset - 12) left (truncated)")
            }
            let body = offset + 8
            let crc =
                bytes[(offset + 4)..<(body + length)].withContiguousStorageIfAvailable {
                    UInt32(crc32(0, $0.baseAddress, UInt32($0.count)))
                } ?? 0
            guard crc == UInt32(u32(body + length)) else {
                throw fail("chunk \(type)", "a matching CRC", "a corrupt chunk")
            }
            let data = bytes[body..<(body + length)]
            switch type {
            case "IHDR":
                guard length == 13, header == nil else { throw fail("IHDR", "one 13-byte header", "\(length) bytes") }
                let w = u32(body), h = u32(body + 4), depth = Int(data[body + 8]), colour = Int(data[body + 9])
                let allowed: [Int: [Int]] = [
                    0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16],
                ]
                guard let depths = allowed[colour], depths.contains(depth) else {
                    throw fail("IHDR", "a standard colour type / bit depth", "colour type \(colour), depth \(depth)")
                }
                guard w >= 1, h >= 1, w <= 1 << 20, h <= 1 << 20, w * h <= maxPixels else {
                    throw fail("IHDR", "1 ≤ width, height and at most \(maxPixels) pixels", "\(w) × \(h)")
                }
                guard data[body + 10] == 0, data[body + 11] == 0 else {
                    throw fail("IHDR", "compression 0 and filter method 0", "others")
                }
                guard data[body + 12] == 0 else {
                    throw fail("IHDR", "a non-interlaced image", "Adam7 interlacing (re-save it non-interlaced)")
                }
                header = (w, h, depth, colour)
            case "PLTE":
                guard length % 3 == 0, length >= 3, length <= 768 else {
                    throw fail("PLTE", "1…256 RGB entries", "\(length) bytes")
                }
                palette = Array(data)
            case "IDAT":
                guard header != nil else { throw fail("IDAT", "IHDR first", "IDAT before IHDR") }
                compressed.append(contentsOf: data)
            case "IEND":
                ended = true
            default:
                // Ancillary chunks (lower-case first letter) may be skipped; critical ones may not.
                guard let first = type.utf8.first, first >= 0x61 else {
                    throw fail("chunk \(type)", "a known critical chunk", type)
                }
            }
            offset = body + length + 4
        }
        guard let (width, height, depth, colour) = header else { throw fail("IHDR", "an IHDR chunk", "none") }
        if colour == 3 && palette.isEmpty { throw fail("PLTE", "a palette for colour type 3", "none") }
        guard !compressed.isEmpty else { throw fail("IDAT", "image data", "none") }

        let stored = [0: 1, 2: 3, 3: 1, 4: 2, 6: 4][colour]!
        let bitsPerPixel = stored * depth
        let rowBytes = (width * bitsPerPixel + 7) / 8
        let pixelBytes = max(1, bitsPerPixel / 8)  // the filters' "bpp"
        let expected = height * (rowBytes + 1)
        let raw = try Gzip.inflate(compressed, windowBits: MAX_WBITS, file: file, field: "IDAT", maxOutput: expected)
        guard raw.count == expected else { throw fail("IDAT", "\(expected) decompressed bytes", "\(raw.count)") }

        // Undo the row filters (§9): each row is predicted from the reconstructed row above.
        var image = [UInt8](repeating: 0, count: height * rowBytes)
        for y in 0..<height {
            let filter = raw[y * (rowBytes + 1)]
            let src = y * (rowBytes + 1) + 1, dst = y * rowBytes
            for i in 0..<rowBytes {
                let a = i >= pixelBytes ? Int(image[dst + i - pixelBytes]) : 0
                let b = y > 0 ? Int(image[dst - rowBytes + i]) : 0
                let c = (i >= pixelBytes && y > 0) ? Int(image[dst - rowBytes + i - pixelBytes]) : 0
                let predictor: Int
                switch filter {
                case 0: predictor = 0
                case 1: predictor = a
                case 2: predictor = b
                case 3: predictor = (a + b) / 2
                case 4:
                    let p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c)
                    predictor = (pa <= pb && pa <= pc) ? a : (pb <= pc ? b : c)
                default: throw fail("row \(y) filter", "0…4", "\(filter)")
                }
                image[dst + i] = UInt8(truncatingIfNeeded: Int(raw[src + i]) + predictor)
            }
        }

        // Unpack samples, expanding a palette to RGB.
        let channels = colour == 3 ? 3 : stored
        var samples = [UInt16](repeating: 0, count: width * height * channels)
        for y in 0..<height {
            let row = y * rowBytes
            for x in 0..<width {
                for s in 0..<stored {
                    let value: Int
                    switch depth {
                    case 16:
                        value = Int(image[row + (x * stored + s) * 2]) << 8 | Int(image[row + (x * stored + s) * 2 + 1])
                    case 8: value = Int(image[row + x * stored + s])
                    default:
                        let bit = x * depth
                        value = Int(image[row + bit / 8] >> (8 - depth - bit % 8)) & ((1 << depth) - 1)
                    }
                    if colour == 3 {
                        guard value * 3 + 2 < palette.count else {
                            throw fail("pixel (\(x), \(y))", "a palette index < \(palette.count / 3)", "\(value)")
                        }
                        for k in 0..<3 { samples[(y * width + x) * 3 + k] = UInt16(palette[value * 3 + k]) }
                    } else {
                        samples[(y * width + x) * channels + s] = UInt16(value)
                    }
                }
            }
        }
        let maxValue = colour == 3 ? 255 : (1 << depth) - 1
        return PNGImage(width: width, height: height, channels: channels, maxValue: maxValue, samples: samples)
    }

    /// Encodes 8-bit grey (1 channel) or RGB (3 channels) samples (H, W, channels).
    public static func encode(width: Int, height: Int, channels: Int, samples: [UInt8]) -> [UInt8] {
        precondition(channels == 1 || channels == 3, "PNG writer: 1 or 3 channels")
        precondition(samples.count == width * height * channels)
        var raw: [UInt8] = []
        raw.reserveCapacity(height * (width * channels + 1))
        for y in 0..<height {
            raw.append(0)
            raw.append(contentsOf: samples[(y * width * channels)..<((y + 1) * width * channels)])
        }
        var out = signature
        func chunk(_ type: String, _ data: [UInt8]) {
            let n = UInt32(data.count)
            out += [UInt8(n >> 24), UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff)]
            let typed = Array(type.utf8) + data
            out += typed
            let crc = UInt32(typed.withUnsafeBufferPointer { crc32(0, $0.baseAddress, UInt32($0.count)) })
            out += [UInt8(crc >> 24), UInt8(crc >> 16 & 0xff), UInt8(crc >> 8 & 0xff), UInt8(crc & 0xff)]
        }
        func be(_ v: Int) -> [UInt8] {
            [UInt8(v >> 24 & 0xff), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)]
        }
        chunk("IHDR", be(width) + be(height) + [8, channels == 1 ? 0 : 2, 0, 0, 0])
        chunk("IDAT", Gzip.deflate(raw, windowBits: MAX_WBITS))
        chunk("IEND", [])
        return out
    }

    /// Writes an 8-bit PNG atomically.
    public static func write(_ path: String, width: Int, height: Int, channels: Int, samples: [UInt8]) throws {
        try AtomicFile.write(encode(width: width, height: height, channels: channels, samples: samples), to: path)
    }
}
