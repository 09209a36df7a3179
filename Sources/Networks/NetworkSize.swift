import Formats

/// Sizes a network's memory before anything is allocated: the parameter count (with its
/// gradients and two Adam moments when trained) must fit the ``MemoryBudget``. Run from
/// ``NetworkConfig/parse(_:file:)`` so that no config, however large its numbers, reaches an
/// allocation that cannot succeed.
extension NetworkConfig {
    /// Float32 parameters, overflow-checked; nil when the count overflows.
    public var parameterCount: Int? {
        if case let .dit(d) = model {
            // The DiT's fixed positional table (tokens × hidden) is built with its specs.
            let tokens = (shape[1] / max(1, d.patchSize)) * (shape[2] / max(1, d.patchSize))
            guard let table = MemoryBudget.product([tokens, d.hiddenSize]), table <= 1 << 28 else { return nil }
        }
        var total = 0
        for spec in makeArchitecture(self).parameterSpecs(scheme: .reference) {
            guard let n = MemoryBudget.product(spec.shape) else { return nil }
            let (sum, overflow) = total.addingReportingOverflow(n)
            if overflow { return nil }
            total = sum
        }
        return total
    }

    /// Refuses a config whose parameters, gradients and Adam moments (4 × 4 bytes each) exceed
    /// the memory budget.
    func checkSize(file: String) throws {
        guard let n = parameterCount, n <= 1 << 31 else {
            throw ConfigError(file: file, field: "diffuser.model", expected: "a network with at most 2³¹ parameters",
                              found: "more (the sizes overflow)")
        }
        try MemoryBudget.require([n, 16], for: "the parameters, gradients and Adam moments (\(n) parameters)",
                                 file: file, field: "diffuser.model")
    }
}
