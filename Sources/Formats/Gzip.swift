import CZlib

/// gzip (RFC 1952) decompression and compression through zlib, with an output bound so that
/// a corrupt or hostile file cannot make us allocate more than the caller allows.
public enum Gzip {
    /// Whether the bytes start with the gzip magic 1f 8b.
    public static func isGzip(_ bytes: [UInt8]) -> Bool { bytes.count >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b }

    public static func decompress(_ input: [UInt8], file: String, maxOutput: Int) throws -> [UInt8] {
        // 16 + MAX_WBITS: expect a gzip header.
        try inflate(input, windowBits: 16 + MAX_WBITS, file: file, field: "gzip", maxOutput: maxOutput)
    }

    /// The first `count` decompressed bytes only (a header that says how large the rest is),
    /// without inflating the rest.
    public static func decompressPrefix(_ input: [UInt8], count: Int, file: String) throws -> [UInt8] {
        try inflate(input, windowBits: 16 + MAX_WBITS, file: file, field: "gzip", maxOutput: count, prefixOnly: true)
    }

    /// Inflates a gzip (`windowBits` 16 + 15) or zlib (RFC 1950, `windowBits` 15) stream,
    /// refusing more than `maxOutput` bytes; errors name `field`.
    static func inflate(
        _ input: [UInt8], windowBits: Int32, file: String, field: String, maxOutput: Int,
        prefixOnly: Bool = false
    ) throws -> [UInt8] {
        var stream = z_stream()
        guard inflateInit2_(&stream, windowBits, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw FormatError(file: file, field: field, expected: "a usable zlib", found: "inflateInit2 failed")
        }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: prefixOnly ? max(1, maxOutput) : 1 << 20)
        var status: Int32 = Z_OK
        try input.withUnsafeBufferPointer { inBuf in
            stream.next_in = UnsafeMutablePointer(mutating: inBuf.baseAddress)
            stream.avail_in = UInt32(inBuf.count)
            repeat {
                try chunk.withUnsafeMutableBufferPointer { out in
                    stream.next_out = out.baseAddress
                    stream.avail_out = UInt32(out.count)
                    status = CZlib.inflate(&stream, Z_NO_FLUSH)
                    guard status == Z_OK || status == Z_STREAM_END else {
                        throw FormatError(
                            file: file, field: field, expected: "a valid compressed stream",
                            found: status == Z_BUF_ERROR ? "truncated data" : "corrupt data (zlib status \(status))")
                    }
                    let produced = out.count - Int(stream.avail_out)
                    if prefixOnly && output.count + produced >= maxOutput {
                        output.append(contentsOf: out[0..<(maxOutput - output.count)])
                        status = Z_STREAM_END
                        return
                    }
                    guard output.count + produced <= maxOutput else {
                        throw FormatError(
                            file: file, field: field, expected: "at most \(maxOutput) decompressed bytes", found: "more"
                        )
                    }
                    output.append(contentsOf: out[0..<produced])
                }
                if status != Z_STREAM_END && stream.avail_in == 0 && stream.avail_out != 0 {
                    throw FormatError(
                        file: file, field: field, expected: "a complete compressed stream", found: "truncated data")
                }
            } while status != Z_STREAM_END
        }
        return output
    }

    /// Compresses to gzip format (used by tests and by writers of small samples).
    public static func compress(_ input: [UInt8]) -> [UInt8] { deflate(input, windowBits: 16 + MAX_WBITS) }

    /// Deflates into a gzip (`windowBits` 16 + 15) or zlib (15) stream.
    static func deflate(_ input: [UInt8], windowBits: Int32) -> [UInt8] {
        var stream = z_stream()
        precondition(
            deflateInit2_(
                &stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, windowBits, 8, Z_DEFAULT_STRATEGY,
                ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK)
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(input.count))) + 32)
        var input = input
        input.withUnsafeMutableBufferPointer { inBuf in
            output.withUnsafeMutableBufferPointer { out in
                stream.next_in = inBuf.baseAddress
                stream.avail_in = UInt32(inBuf.count)
                stream.next_out = out.baseAddress
                stream.avail_out = UInt32(out.count)
                let status = CZlib.deflate(&stream, Z_FINISH)
                precondition(status == Z_STREAM_END)
            }
        }
        return Array(output[0..<Int(stream.total_out)])
    }
}
