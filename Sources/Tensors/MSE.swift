/// Mean squared error, mean((a − b)²) over all elements, as `F.mse_loss` with the default
/// `reduction="mean"` (the DSM loss). Accumulated in Float64.
public enum MSE {
    public static func forward(_ a: Tensor, _ b: Tensor) -> Float {
        precondition(a.shape == b.shape, "mse shapes \(a.shape) and \(b.shape)")
        var acc = 0.0
        for i in 0..<a.count {
            let d = Double(a.data[i]) - Double(b.data[i])
            acc += d * d
        }
        return Float(acc / Double(a.count))
    }

    /// ∂/∂a = 2(a − b)/n · dy; ∂/∂b is its negative.
    public static func backward(_ a: Tensor, _ b: Tensor, _ dy: Float) -> (Tensor, Tensor) {
        let c = 2 * dy / Float(a.count)
        let da = Tensor(shape: a.shape) { o in for i in 0..<o.count { o[i] = c * (a.data[i] - b.data[i]) } }
        return (da, Arithmetic.scale(da, -1))
    }
}

/// mean((a − b)²).
public func mse(_ a: Variable, _ b: Variable) -> Variable {
    Variable.record(Tensor(scalar: MSE.forward(a.value, b.value)), [a, b]) {
        let av = a.value, bv = b.value
        return { dy in
            let (da, db) = MSE.backward(av, bv, dy.scalarValue)
            return [da, db]
        }
    }
}
