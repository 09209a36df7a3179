/// Elementwise add, subtract, multiply and divide with NumPy broadcasting, and scaling by a
/// constant. The VJP of broadcasting sums the upstream gradient over stretched axes.
public enum Arithmetic {
    public enum Operation: Sendable { case add, subtract, multiply, divide }

    /// Forward kernel: `a ∘ b` broadcast.
    public static func forward(_ a: Tensor, _ b: Tensor, _ op: Operation) -> Tensor {
        guard let shape = Broadcasting.shape(a.shape, b.shape) else {
            preconditionFailure("cannot broadcast \(a.shape) with \(b.shape)")
        }
        let (loopShape, sa, sb) = Broadcasting.coalesced(
            shape, Broadcasting.strides(of: a.shape, broadcastTo: shape),
            Broadcasting.strides(of: b.shape, broadcastTo: shape))
        return Tensor(shape: shape) { o in
            a.data.withUnsafeBufferPointer { pa in
                b.data.withUnsafeBufferPointer { pb in
                    let o = SharedPointer(o.baseAddress!)
                    Broadcasting.forEachParallel(loopShape, sa, sb) { out, ia, ib, n, ka, kb in
                        let y = o.base + out, x = pa.baseAddress! + ia, z = pb.baseAddress! + ib
                        switch op {
                        case .add: combine(y, x, ka, z, kb, n) { $0 + $1 }
                        case .subtract: combine(y, x, ka, z, kb, n) { $0 - $1 }
                        case .multiply: combine(y, x, ka, z, kb, n) { $0 * $1 }
                        case .divide: combine(y, x, ka, z, kb, n) { $0 / $1 }
                        }
                    }
                }
            }
        }
    }

    /// y[j] = f(a[j·ka], b[j·kb]) for j < n. The unit-stride and broadcast-scalar cases (the
    /// residual adds, per-channel shifts and scales) get loops of their own so that they
    /// vectorise; the generic strided loop does not. Every case computes the same f on the
    /// same operands, so the results are bitwise those of the generic loop.
    @inline(__always)
    static func combine(
        _ y: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ ka: Int, _ b: UnsafePointer<Float>,
        _ kb: Int, _ n: Int, _ f: (Float, Float) -> Float
    ) {
        if ka == 1 && kb == 1 {
            for j in 0..<n { y[j] = f(a[j], b[j]) }
        } else if ka == 1 && kb == 0 {
            let s = b[0]
            for j in 0..<n { y[j] = f(a[j], s) }
        } else if ka == 0 && kb == 1 {
            let s = a[0]
            for j in 0..<n { y[j] = f(s, b[j]) }
        } else {
            for j in 0..<n { y[j] = f(a[j * ka], b[j * kb]) }
        }
    }

    /// VJP: (∂a, ∂b) given ∂out.
    public static func backward(_ a: Tensor, _ b: Tensor, _ op: Operation, _ dy: Tensor) -> (Tensor, Tensor) {
        switch op {
        case .add:
            return (Broadcasting.reduce(dy, to: a.shape), Broadcasting.reduce(dy, to: b.shape))
        case .subtract:
            return (Broadcasting.reduce(dy, to: a.shape), Broadcasting.reduce(scale(dy, -1), to: b.shape))
        case .multiply:
            return (
                Broadcasting.reduce(forward(dy, b, .multiply), to: a.shape),
                Broadcasting.reduce(forward(dy, a, .multiply), to: b.shape)
            )
        case .divide:
            // ∂a = ∂y/b, ∂b = −∂y·a/b² = −(∂y/b)·(a/b).
            let dyOverB = forward(dy, b, .divide)
            return (
                Broadcasting.reduce(dyOverB, to: a.shape),
                Broadcasting.reduce(scale(forward(dyOverB, forward(a, b, .divide), .multiply), -1), to: b.shape)
            )
        }
    }

    /// `x · c` for a constant c.
    public static func scale(_ x: Tensor, _ c: Float) -> Tensor {
        Tensor(shape: x.shape) { o in
            x.data.withUnsafeBufferPointer { p in for i in 0..<p.count { o[i] = p[i] * c } }
        }
    }
}

/// `a + b` with broadcasting.
public func + (a: Variable, b: Variable) -> Variable { binary(a, b, .add) }
/// `a − b` with broadcasting.
public func - (a: Variable, b: Variable) -> Variable { binary(a, b, .subtract) }
/// `a ⊙ b` with broadcasting.
public func * (a: Variable, b: Variable) -> Variable { binary(a, b, .multiply) }
/// `a ⊘ b` with broadcasting.
public func / (a: Variable, b: Variable) -> Variable { binary(a, b, .divide) }
/// `a · c` for a constant c.
public func * (a: Variable, c: Float) -> Variable {
    Variable.record(Arithmetic.scale(a.value, c), [a]) { { dy in [Arithmetic.scale(dy, c)] } }
}

private func binary(_ a: Variable, _ b: Variable, _ op: Arithmetic.Operation) -> Variable {
    let y = Arithmetic.forward(a.value, b.value, op)
    return Variable.record(y, [a, b]) {
        let av = a.value, bv = b.value
        return { dy in
            let (da, db) = Arithmetic.backward(av, bv, op, dy)
            return [da, db]
        }
    }
}
