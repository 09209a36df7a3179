import Tensors

/// Element types the file formats exchange.
public enum DType: String, CaseIterable, Sendable {
    case float32, float64, int32, int64, uint8

    /// Bytes per element.
    public var itemSize: Int {
        switch self {
        case .float32, .int32: return 4
        case .float64, .int64: return 8
        case .uint8: return 1
        }
    }
}

/// A typed, row-major host array as stored in `.npy` and `.safetensors` files.
///
/// Tensors are Float32; files also carry Float64 schedules, Int64 timesteps and UInt8
/// images, so the formats speak this richer type and convert explicitly.
public struct NDArray: Equatable, Sendable {
    public enum Storage: Equatable, Sendable {
        case float32([Float]), float64([Double]), int32([Int32]), int64([Int64]), uint8([UInt8])
    }

    public let shape: [Int]
    public let storage: Storage

    public init(shape: [Int], storage: Storage) {
        let n = shape.reduce(1, *)
        let count: Int
        switch storage {
        case .float32(let a): count = a.count
        case .float64(let a): count = a.count
        case .int32(let a): count = a.count
        case .int64(let a): count = a.count
        case .uint8(let a): count = a.count
        }
        precondition(n == count, "NDArray: shape \(shape) needs \(n) elements, storage has \(count)")
        self.shape = shape
        self.storage = storage
    }

    public init(_ tensor: Tensor) { self.init(shape: tensor.shape, storage: .float32(tensor.data)) }
    public init(shape: [Int], float32 values: [Float]) { self.init(shape: shape, storage: .float32(values)) }
    public init(shape: [Int], float64 values: [Double]) { self.init(shape: shape, storage: .float64(values)) }
    public init(shape: [Int], int64 values: [Int64]) { self.init(shape: shape, storage: .int64(values)) }
    public init(shape: [Int], int32 values: [Int32]) { self.init(shape: shape, storage: .int32(values)) }
    public init(shape: [Int], uint8 values: [UInt8]) { self.init(shape: shape, storage: .uint8(values)) }

    public var dtype: DType {
        switch storage {
        case .float32: return .float32
        case .float64: return .float64
        case .int32: return .int32
        case .int64: return .int64
        case .uint8: return .uint8
        }
    }

    public var count: Int { shape.reduce(1, *) }

    /// Values widened to Float64 (exact for every supported type except Int64 > 2⁵³).
    public var doubles: [Double] {
        switch storage {
        case .float32(let a): return a.map(Double.init)
        case .float64(let a): return a
        case .int32(let a): return a.map(Double.init)
        case .int64(let a): return a.map(Double.init)
        case .uint8(let a): return a.map(Double.init)
        }
    }

    /// Integer values (for timesteps, labels, indices); nil for floating types.
    public var integers: [Int]? {
        switch storage {
        case .int32(let a): return a.map(Int.init)
        case .int64(let a): return a.map(Int.init)
        case .uint8(let a): return a.map(Int.init)
        case .float32, .float64: return nil
        }
    }

    /// The array as a Float32 tensor. Float32 is taken as is; Float64 and integers are
    /// converted only when `converting` is true, so a file of the wrong type is an error by
    /// default rather than a silent cast.
    public func tensor(file: String = "<memory>", field: String = "array", converting: Bool = false) throws -> Tensor {
        if case .float32(let a) = storage { return Tensor(shape: shape, data: a) }
        guard converting else {
            throw FormatError(file: file, field: field, expected: "float32", found: dtype.rawValue)
        }
        return Tensor(shape: shape, data: doubles.map { Float($0) })
    }

    /// Raw little-endian bytes of the elements.
    func littleEndianBytes() -> [UInt8] {
        func bytes<T>(_ a: [T]) -> [UInt8] { a.withUnsafeBytes { Array($0) } }
        // Every platform we target is little-endian (x86-64, arm64).
        switch storage {
        case .float32(let a): return bytes(a)
        case .float64(let a): return bytes(a)
        case .int32(let a): return bytes(a)
        case .int64(let a): return bytes(a)
        case .uint8(let a): return a
        }
    }

    /// Decodes `count` elements of `dtype` from little-endian bytes (or big-endian when
    /// `bigEndian`). The caller has checked that `bytes` holds exactly count·itemSize.
    static func decode(_ bytes: ArraySlice<UInt8>, dtype: DType, shape: [Int], bigEndian: Bool = false) -> NDArray {
        func load<T>(_ type: T.Type) -> [T] {
            let n = bytes.count / MemoryLayout<T>.stride
            var out = [T](unsafeUninitializedCapacity: n) { buf, initialized in
                bytes.withUnsafeBytes { raw in
                    _ = memcpyBytes(UnsafeMutableRawPointer(buf.baseAddress!), raw.baseAddress!, bytes.count)
                }
                initialized = n
            }
            if bigEndian && MemoryLayout<T>.size > 1 {
                out.withUnsafeMutableBytes { raw in
                    let size = MemoryLayout<T>.size
                    for i in 0..<n {
                        var lo = i * size, hi = lo + size - 1
                        while lo < hi { raw.swapAt(lo, hi); lo += 1; hi -= 1 }
                    }
                }
            }
            return out
        }
        if bytes.isEmpty {
            switch dtype {
            case .float32: return NDArray(shape: shape, storage: .float32([]))
            case .float64: return NDArray(shape: shape, storage: .float64([]))
            case .int32: return NDArray(shape: shape, storage: .int32([]))
            case .int64: return NDArray(shape: shape, storage: .int64([]))
            case .uint8: return NDArray(shape: shape, storage: .uint8([]))
            }
        }
        switch dtype {
        case .float32: return NDArray(shape: shape, storage: .float32(load(Float.self)))
        case .float64: return NDArray(shape: shape, storage: .float64(load(Double.self)))
        case .int32: return NDArray(shape: shape, storage: .int32(load(Int32.self)))
        case .int64: return NDArray(shape: shape, storage: .int64(load(Int64.self)))
        case .uint8: return NDArray(shape: shape, storage: .uint8(Array(bytes)))
        }
    }
}

@inline(__always)
private func memcpyBytes(_ dst: UnsafeMutableRawPointer, _ src: UnsafeRawPointer, _ n: Int) -> UnsafeMutableRawPointer {
    dst.copyMemory(from: src, byteCount: n)
    return dst
}

/// Checked element count and byte size of a shape read from a file: never traps on
/// overflow, never trusts a shape that claims more bytes than the file holds.
func checkedByteCount(shape: [Int], itemSize: Int, file: String, field: String) throws -> Int {
    var count = 1
    for extent in shape {
        guard extent >= 0 else {
            throw FormatError(file: file, field: field, expected: "non-negative extents", found: "\(shape)")
        }
        let (product, overflow) = count.multipliedReportingOverflow(by: extent)
        guard !overflow else {
            throw FormatError(
                file: file, field: field, expected: "a shape whose size fits in memory", found: "\(shape)")
        }
        count = product
    }
    let (bytes, overflow) = count.multipliedReportingOverflow(by: itemSize)
    guard !overflow else {
        throw FormatError(file: file, field: field, expected: "a shape whose size fits in memory", found: "\(shape)")
    }
    return bytes
}
