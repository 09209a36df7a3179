extension Variable {
    /// The same elements with another shape (one extent may be −1). VJP: reshape back.
    public func reshaped(_ shape: [Int]) -> Variable {
        let original = value.shape
        return Variable.record(value.reshaped(shape), [self]) { { dy in [dy.reshaped(original)] } }
    }
}
