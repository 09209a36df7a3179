extension Variable {
    /// Reverse-mode sweep from this node.
    ///
    /// The graph recorded while running forward is linearised into a tape (reverse
    /// topological order, found by an iterative depth-first search so that deep networks
    /// cannot overflow the stack), then each node's pullback runs once with its complete
    /// upstream gradient. Gradients of leaves that require them are *added* to
    /// ``gradient``, like PyTorch's `.grad`.
    ///
    /// - Parameter seed: ∂loss/∂self; defaults to ones (so a scalar loss gets 1).
    public func backward(seed: Tensor? = nil) {
        let seedGradient = seed ?? Tensor(repeating: 1, shape: value.shape)
        precondition(seedGradient.shape == value.shape, "seed shape \(seedGradient.shape) ≠ value shape \(value.shape)")
        guard requiresGradient else { return }

        let tape = Variable.topologicalOrder(from: self)
        var upstream: [ObjectIdentifier: Tensor] = [ObjectIdentifier(self): seedGradient]
        for node in tape.reversed() {
            let id = ObjectIdentifier(node)
            guard let g = upstream.removeValue(forKey: id) else { continue }
            guard let pullback = node.pullback else {
                // A leaf.
                if node.gradient != nil { node.gradient!.add(g) } else { node.gradient = g }
                continue
            }
            let parentGradients = pullback(g)
            for (parent, pg) in zip(node.parents, parentGradients) {
                guard parent.requiresGradient, let pg else { continue }
                precondition(
                    pg.shape == parent.value.shape,
                    "pullback produced \(pg.shape) for a parent of shape \(parent.value.shape)")
                let pid = ObjectIdentifier(parent)
                // In place (the dictionary's buffer is the only reference): no copy per addition.
                if upstream[pid] != nil { upstream[pid]!.add(pg) } else { upstream[pid] = pg }
            }
        }
    }

    /// Nodes reachable from `root` that require gradients, parents before children.
    static func topologicalOrder(from root: Variable) -> [Variable] {
        var order: [Variable] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(Variable, Int)] = [(root, 0)]
        visited.insert(ObjectIdentifier(root))
        while let (node, nextIndex) = stack.popLast() {
            var next = nextIndex
            if next < node.parents.count {
                let parent = node.parents[next]
                next += 1
                stack.append((node, next))
                if parent.requiresGradient && visited.insert(ObjectIdentifier(parent)).inserted {
                    stack.append((parent, 0))
                }
            } else {
                order.append(node)
            }
        }
        return order
    }
}

extension Tensor {
    /// Elementwise sum of two tensors of the same shape (gradient accumulation).
    public func adding(_ other: Tensor) -> Tensor {
        var out = self
        out.add(other)
        return out
    }

    /// Adds `other` (same shape) element by element, in place when the storage is not shared.
    public mutating func add(_ other: Tensor) {
        precondition(shape == other.shape)
        data.withUnsafeMutableBufferPointer { o in
            other.data.withUnsafeBufferPointer { b in
                for i in 0..<o.count { o[i] += b[i] }
            }
        }
    }
}
