/// A NaN or infinity where a finite number must be: names the tensor, where it arose (a
/// training step, a sampling step, a geometry chunk …), the first offending index and value.
public struct NonFiniteError: Error, CustomStringConvertible, Equatable, Sendable {
    public let tensor: String
    public let context: String
    public let index: Int
    public let value: Double
    public let advice: String

    public init(tensor: String, context: String, index: Int, value: Double, advice: String = "") {
        self.tensor = tensor
        self.context = context
        self.index = index
        self.value = value
        self.advice = advice
    }

    public var description: String {
        "\(context): \(tensor): expected finite values, found \(value) at element \(index)"
            + (advice.isEmpty ? "" : " (\(advice))")
    }
}

/// The one finite-check helper: every boundary where values enter or leave a computation
/// (data, parameters after an update, restored optimiser moments, sampler outputs, geometry
/// chunk sums) calls it, so a NaN is caught where it arises rather than written to disk.
public enum FiniteCheck {
    /// Throws ``NonFiniteError`` for the first non-finite element.
    @inlinable
    public static func check<S: Collection>(_ values: S, tensor: String, context: String, advice: String = "") throws
    where S.Element: BinaryFloatingPoint {
        var i = 0
        for v in values {
            if !v.isFinite {
                throw NonFiniteError(tensor: tensor, context: context, index: i, value: Double(v), advice: advice)
            }
            i += 1
        }
    }

    /// The same for a tensor.
    public static func check(_ t: Tensor, tensor: String, context: String, advice: String = "") throws {
        try check(t.data, tensor: tensor, context: context, advice: advice)
    }
}
