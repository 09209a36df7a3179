import Tensors

/// How one parameter tensor is drawn at initialisation.
public enum ParameterInitializer: Equatable, Sendable {
    /// U(−bound, bound): PyTorch's default for Conv and Linear weights and biases, with
    /// bound = 1/√fan_in (kaiming-uniform with a = √5 for weights).
    case uniform(bound: Float)
    /// Xavier/Glorot uniform: U(±√(6/(fan_in + fan_out))).
    case xavierUniform(fanIn: Int, fanOut: Int)
    /// N(0, std²).
    case normal(std: Float)
    case zeros
    case ones
    /// A fixed, data-independent table (the DiT's sin-cos positions).
    case fixed(Tensor)

    /// Draws the values from `stream` starting at element `offset`; returns the number of
    /// stream elements consumed (so parameters take consecutive, non-overlapping ranges).
    func draw(shape: [Int], stream: RandomStream, offset: Int) -> (Tensor, consumed: Int) {
        let n = Tensor.elementCount(shape)
        switch self {
        case let .uniform(bound):
            var u = stream.uniforms(n, offset: offset)
            for i in 0..<n { u[i] = (2 * u[i] - 1) * bound }
            return (Tensor(shape: shape, data: u), n)
        case let .xavierUniform(fanIn, fanOut):
            let bound = (6 / Float(fanIn + fanOut)).squareRoot()
            var u = stream.uniforms(n, offset: offset)
            for i in 0..<n { u[i] = (2 * u[i] - 1) * bound }
            return (Tensor(shape: shape, data: u), n)
        case let .normal(std):
            return (Tensor(shape: shape, data: stream.normals(n, offset: offset, std: std)), n)
        case .zeros:
            return (Tensor(zeros: shape), 0)
        case .ones:
            return (Tensor(repeating: 1, shape: shape), 0)
        case let .fixed(table):
            precondition(table.shape == shape, "fixed initializer shape \(table.shape) ≠ \(shape)")
            return (table, 0)
        }
    }
}

/// Which parameter a network declares: name (the reference's `state_dict` key), shape,
/// initial distribution, and whether training updates it.
public struct ParameterSpec: Equatable, Sendable {
    public let name: String
    public let shape: [Int]
    public var initializer: ParameterInitializer
    public let trainable: Bool
    /// The role a layer gives the tensor, used by init schemes that treat roles differently.
    public let role: Role

    public enum Role: Equatable, Sendable {
        /// A convolution kernel (O, C, kH, kW) or (O, C, 1).
        case convolutionKernel
        /// A Linear weight (O, I).
        case linearWeight
        case bias
        /// A normalisation scale or shift.
        case normalization
        /// A frozen table.
        case buffer
    }

    public init(_ name: String, _ shape: [Int], _ initializer: ParameterInitializer,
                role: Role, trainable: Bool = true) {
        self.name = name
        self.shape = shape
        self.initializer = initializer
        self.role = role
        self.trainable = trainable
    }

    public var count: Int { Tensor.elementCount(shape) }
}
