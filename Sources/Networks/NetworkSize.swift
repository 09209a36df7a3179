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
            throw ConfigError(
                file: file, field: "diffuser.model", expected: "a network with at most 2³¹ parameters",
                found: "more (the sizes overflow)")
        }
        try MemoryBudget.require(
            [n, 16], for: "the parameters, gradients and Adam moments (\(n) parameters)",
            file: file, field: "diffuser.model")
    }
}

extension NetworkConfig {
    /// A conservative estimate of the Float32 values one sample's forward and backward pass
    /// keeps alive (activations, their gradients, attention matrices), calibrated on the
    /// reference configs' measured peak resident memory of one training step (per sample:
    /// U-Net 1×16×16 2.4 MB, 1×28×28 11 MB, 3×32×32 14 MB, DiT/2 1×16×16 3.7 MB); the estimate
    /// is 1.05–1.2× above them. Used to refuse batches that cannot fit before the first step
    /// allocates them.
    public var activationValuesPerSample: Int {
        let h = shape[1], w = shape[2], d = dimension
        switch model {
        case let .unet(u):
            var perLevel = 0
            for (l, m) in u.levelMults.enumerated() {
                perLevel += u.baseChannels * m * max(1, h >> l) * max(1, w >> l)
            }
            // Attention levels (none in the reference configs) keep heads × S² weights, and their
            // gradients, per block: 2k + 1 blocks per level.
            var attention = 0
            for l in u.levelMults.indices where u.attends(level: l) {
                let tokens = max(1, h >> l) * max(1, w >> l)
                attention += (2 * u.resBlocksPerLevel + 1) * u.numHeads * tokens * tokens * 4
            }
            return perLevel * (u.resBlocksPerLevel + 1) * 32 + attention + d * 8
        case let .dit(c):
            let tokens = (h / max(1, c.patchSize)) * (w / max(1, c.patchSize))
            let perBlock =
                tokens * c.hiddenSize * 24 + tokens * max(c.mlpHidden, 1) * 4 + c.numHeads * tokens * tokens * 4
            return max(1, c.depth) * perBlock + tokens * c.hiddenSize * 8 + d * 8
        case let .mlp(m):
            return m.hidden.reduce(0, +) * 8 + m.timeEmbeddingDim * 4 + d * 8
        case let .linear(l):
            return l.features * 8 + d * 8
        }
    }

    /// Refuses a batch whose activations (``activationValuesPerSample`` × 4 bytes × batch, ×2
    /// when training keeps the graph for the backward pass) exceed the memory budget.
    public func checkBatch(_ batch: Int, training: Bool, setting: String) throws {
        try MemoryBudget.require(
            [activationValuesPerSample, batch, training ? 4 : 2],
            for: "the activations of a batch of \(batch) (\(summary))", setting: setting)
    }
}
