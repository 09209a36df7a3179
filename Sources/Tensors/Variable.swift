/// A node of the define-by-run autodiff graph: a tensor value plus, when it was produced
/// by a recorded op, its parents and the vector-Jacobian product (pullback) of that op.
///
/// Leaves created with `requiresGradient: true` (parameters, inputs being differentiated)
/// receive `.gradient` after ``Variable/backward(seed:)``. An op records a node only when
/// gradients are being recorded (``GradientMode``) and at least one input needs a
/// gradient; otherwise its result is a plain constant and nothing is kept alive, so the
/// inference path pays no tape cost.
public final class Variable {
    /// The forward value.
    public let value: Tensor
    /// Accumulated ∂loss/∂value after ``backward(seed:)`` (leaves that require gradients).
    public internal(set) var gradient: Tensor?
    /// Whether a gradient flows to this node.
    public let requiresGradient: Bool

    let parents: [Variable]
    /// Maps ∂loss/∂value to ∂loss/∂parent for each parent (nil where a parent needs none).
    let pullback: ((Tensor) -> [Tensor?])?

    /// A leaf.
    public init(_ value: Tensor, requiresGradient: Bool = false) {
        self.value = value
        self.requiresGradient = requiresGradient
        self.parents = []
        self.pullback = nil
    }

    init(value: Tensor, parents: [Variable], pullback: @escaping (Tensor) -> [Tensor?]) {
        self.value = value
        self.requiresGradient = true
        self.parents = parents
        self.pullback = pullback
    }

    /// Result of an op: records the node when needed, else returns a constant.
    /// `pullback` is only created (and its captures kept) when the node is recorded.
    static func record(
        _ value: Tensor, _ inputs: [Variable],
        _ pullback: () -> (Tensor) -> [Tensor?]
    ) -> Variable {
        if GradientMode.isRecording && inputs.contains(where: \.requiresGradient) {
            return Variable(value: value, parents: inputs, pullback: pullback())
        }
        return Variable(value)
    }

    /// Records an op whose inputs are `x`, a parameter `weight` and optional `bias`
    /// (linear, conv, normalisations with affine parameters). `backward` maps ∂y to
    /// (∂x, ∂weight, ∂bias); gradients of absent parameters are dropped.
    static func recordWithParameters(
        _ value: Tensor, x: Variable, weight: Variable?, bias: Variable?,
        _ backward: @escaping (Tensor) -> (Tensor, Tensor?, Tensor?)
    ) -> Variable {
        let inputs = [x] + [weight, bias].compactMap { $0 }
        return record(value, inputs) {
            let hasWeight = weight != nil, hasBias = bias != nil
            return { dy in
                let (dx, dw, db) = backward(dy)
                var grads: [Tensor?] = [dx]
                if hasWeight { grads.append(dw) }
                if hasBias { grads.append(db) }
                return grads
            }
        }
    }

    /// Shape of the value.
    public var shape: [Int] { value.shape }

    /// Clears an accumulated gradient (e.g. between optimiser steps).
    public func zeroGradient() { gradient = nil }

    /// The same value cut off from the graph.
    public func detached() -> Variable { Variable(value) }
}

/// Whether ops record the autodiff graph. Off inside ``withoutGradients(_:)``; scoped per
/// task/thread, so parallel inference and training cannot interfere.
public enum GradientMode {
    @TaskLocal public static var isRecording: Bool = true

    /// Runs `body` without recording any graph (inference, geometry probes, sampling).
    public static func withoutGradients<R>(_ body: () throws -> R) rethrows -> R {
        try $isRecording.withValue(false, operation: body)
    }
}
