import Formats
import Tensors

/// A network's parameters by their reference `state_dict` names, in declaration order
/// (PyTorch module registration order), with their specs.
public struct ParameterSet: Sendable {
    public private(set) var specs: [ParameterSpec]
    /// name → value; every spec has one.
    public private(set) var values: [String: Tensor]

    /// Draws every parameter from the initialisation stream of network `networkIndex`:
    /// RandomStream(seed, .initialization, networkIndex), parameters taking consecutive
    /// ranges of it in declaration order. Network k is therefore the same whatever else is
    /// built, in whatever order or thread.
    public init(specs: [ParameterSpec], seed: UInt64, networkIndex: UInt64, scheme: InitScheme = .reference) {
        let stream = RandomStream(seed: seed, purpose: .initialization, index: networkIndex)
        var offset = 0
        var values: [String: Tensor] = [:]
        for spec in specs {
            var (value, consumed) = spec.initializer.draw(shape: spec.shape, stream: stream, offset: offset)
            offset += consumed
            if scheme == .symmetric {
                switch spec.role {
                case .bias: value = Tensor(zeros: spec.shape)
                case .convolutionKernel
                where spec.shape.count == 4 && spec.shape[2] == spec.shape[3] && spec.shape[2] > 1:
                    value = value.symmetrizedOverSquare()
                default: break
                }
            }
            values[spec.name] = value
        }
        self.specs = specs
        self.values = values
    }

    /// Explicit values (e.g. loaded from a checkpoint); shapes are checked against the specs.
    public init(specs: [ParameterSpec], values: [String: Tensor]) {
        for s in specs { precondition(values[s.name]?.shape == s.shape, "parameter \(s.name) missing or misshaped") }
        self.specs = specs
        self.values = values
    }

    public subscript(name: String) -> Tensor? { values[name] }

    /// Replaces one parameter's value (same shape).
    public mutating func set(_ name: String, _ value: Tensor) {
        guard let spec = specs.first(where: { $0.name == name }) else { preconditionFailure("no parameter \(name)") }
        precondition(spec.shape == value.shape, "\(name): shape \(value.shape) ≠ \(spec.shape)")
        values[name] = value
    }

    public var trainableCount: Int { specs.filter(\.trainable).reduce(0) { $0 + $1.count } }
    public var frozenCount: Int { specs.filter { !$0.trainable }.reduce(0) { $0 + $1.count } }
    public var totalCount: Int { trainableCount + frozenCount }
    public var names: [String] { specs.map(\.name) }

    // MARK: - Checkpoints

    /// Loads every parameter from a safetensors file with the reference's names (a PyTorch
    /// `Diffuser.state_dict()` saved with safetensors works as is; other keys are ignored).
    /// Missing keys, wrong shapes or dtypes are errors naming the key.
    public mutating func load(from file: SafeTensors.File) throws {
        var loaded: [String: Tensor] = [:]
        for spec in specs {
            guard let array = file[spec.name] else {
                throw FormatError(
                    file: file.path, field: spec.name, expected: "parameter '\(spec.name)' of shape \(spec.shape)",
                    found: "no such key (\(file.names.filter { $0.hasPrefix("model.") }.count) model.* keys present)")
            }
            guard array.shape == spec.shape else {
                throw FormatError(
                    file: file.path, field: spec.name, expected: "shape \(spec.shape)", found: "shape \(array.shape)")
            }
            let t = try array.tensor(file: file.path, field: spec.name)
            guard t.data.allSatisfy({ $0.isFinite }) else {
                throw FormatError(
                    file: file.path, field: spec.name, expected: "finite values", found: "NaN or infinity")
            }
            loaded[spec.name] = t
        }
        values = loaded
    }

    /// The parameters as named arrays in declaration order (for `SafeTensors.write`).
    public func namedArrays() -> [(String, NDArray)] { specs.map { ($0.name, NDArray(values[$0.name]!)) } }
}
