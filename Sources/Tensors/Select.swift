/// Element-wise choice y = c ? a : b for a boolean mask c and tensors a, b of one shape
/// (ONNX `Where`; the caller broadcasts). Unlike c·a + (1 − c)·b it never forms 0·∞.
/// VJP: ∂a = c·∂y, ∂b = (1 − c)·∂y.
public enum Select {
    public static func forward(_ mask: [Bool], _ a: Tensor, _ b: Tensor) -> Tensor {
        precondition(a.shape == b.shape && mask.count == a.count, "select: mask \(mask.count), \(a.shape), \(b.shape)")
        return Tensor(shape: a.shape) { o in
            for i in 0..<o.count { o[i] = mask[i] ? a.data[i] : b.data[i] }
        }
    }
}

/// `mask ? a : b` element-wise (a, b and mask of one shape), differentiable in a and b.
public func select(_ mask: [Bool], _ a: Variable, _ b: Variable) -> Variable {
    Variable.record(Select.forward(mask, a.value, b.value), [a, b]) {
        { dy in
            let zero = Tensor(zeros: dy.shape)
            return [Select.forward(mask, dy, zero), Select.forward(mask, zero, dy)]
        }
    }
}
