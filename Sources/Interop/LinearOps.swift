import Tensors

/// Convolutions and matrix products: Conv, ConvTranspose, Gemm, MatMul, Einsum. Each maps
/// onto the engine's conv2d / linear / matmul kernels (with their VJPs); what those kernels
/// do not take directly (asymmetric pads, dilation, groups, 1-D convolutions, batch
/// broadcasting) is rewritten around them with differentiable reshapes and gathers.
enum LinearOps {
    static func register(_ t: inout [String: ONNXOpDefinition]) {
        t["Conv"] = ONNXOpDefinition(
            inputs: 2...3, outputs: 1...1,
            attributes: ["auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"]
        ) { c in [.float(try conv(c))] }
        t["ConvTranspose"] = ONNXOpDefinition(
            inputs: 2...3, outputs: 1...1,
            attributes: [
                "auto_pad", "dilations", "group", "kernel_shape", "output_padding", "output_shape", "pads",
                "strides",
            ]
        ) { c in [.float(try convTranspose(c))] }
        t["Gemm"] = ONNXOpDefinition(inputs: 2...3, outputs: 1...1, attributes: ["alpha", "beta", "transA", "transB"]) {
            c in [.float(try gemm(c))]
        }
        t["MatMul"] = ONNXOpDefinition(inputs: 2...2, outputs: 1...1, attributes: []) { c in
            [.float(try matMul(try c.float(0), try c.float(1)))]
        }
        t["Einsum"] = ONNXOpDefinition(inputs: 1...2, outputs: 1...1, attributes: ["equation"]) { c in
            [.float(try einsum(c))]
        }
    }

    /// Spatial settings of a 2-D convolution: (pads top, left, bottom, right), strides, dilations.
    struct Window {
        var kernel: [Int], strides: [Int], pads: [Int], dilations: [Int]
    }

    static func window(_ c: OpContext, kernel: [Int]) throws -> Window {
        let autoPad = try c.string("auto_pad", default: "NOTSET")
        try c.require(
            autoPad == "NOTSET" || autoPad == "VALID", attribute: "auto_pad", autoPad,
            supported: "NOTSET, VALID (give explicit pads)")
        if let k = try c.ints("kernel_shape")?.map({ Int($0) }), k != kernel {
            throw OpFailure("kernel_shape \(k) differs from the weight's \(kernel)")
        }
        let strides = try c.ints("strides")?.map { Int($0) } ?? [1, 1]
        let pads = autoPad == "VALID" ? [0, 0, 0, 0] : (try c.ints("pads")?.map { Int($0) } ?? [0, 0, 0, 0])
        let dilations = try c.ints("dilations")?.map { Int($0) } ?? [1, 1]
        guard strides.count == 2, strides.allSatisfy({ (1...64).contains($0) }) else {
            throw OpFailure("strides \(strides) (two values in 1…64 expected)")
        }
        guard pads.count == 4, pads.allSatisfy({ (0...1024).contains($0) }) else {
            throw OpFailure("pads \(pads) (four values in 0…1024 expected)")
        }
        guard dilations.count == 2, dilations.allSatisfy({ (1...64).contains($0) }) else {
            throw OpFailure("dilations \(dilations) (two values in 1…64 expected)")
        }
        return Window(kernel: kernel, strides: strides, pads: pads, dilations: dilations)
    }

    static func conv(_ c: OpContext) throws -> Variable {
        var x = try c.float(0)
        var w = try c.float(1)
        let b =
            c.optionalInput(2).map { v -> Variable? in if case let .float(f) = v { return f } else { return nil } }
            ?? nil
        // 1-D convolution: (N, C, L) as (N, C, 1, L).
        let oneD = x.shape.count == 3 && w.shape.count == 3
        if oneD {
            x = x.reshaped([x.shape[0], x.shape[1], 1, x.shape[2]])
            w = w.reshaped([w.shape[0], w.shape[1], 1, w.shape[2]])
        }
        guard x.shape.count == 4, w.shape.count == 4 else {
            throw OpFailure("1-D or 2-D convolutions only (input \(x.shape), weight \(w.shape))")
        }
        var settings = c
        if oneD { settings = settings.expanding1D() }
        let win = try window(settings, kernel: [w.shape[2], w.shape[3]])
        let groups = Int(try c.int("group", default: 1))
        let channels = x.shape[1], out = w.shape[0]
        guard groups >= 1, channels % groups == 0, out % groups == 0, w.shape[1] == channels / groups else {
            throw OpFailure("group \(groups) with input channels \(channels), weight \(w.shape)")
        }
        if let b { guard b.shape == [out] else { throw OpFailure("bias \(b.shape) for \(out) output channels") } }
        guard win.strides[0] == win.strides[1] else {
            throw OpFailure("unequal strides \(win.strides) are not supported")
        }
        if win.dilations != [1, 1] { w = dilateKernel(w, win.dilations, c) }
        let kh = w.shape[2], kw = w.shape[3]
        let p = win.pads
        let symmetric = p[0] == p[1] && p[1] == p[2] && p[2] == p[3]
        if !symmetric { x = pad(x, top: p[0], left: p[1], bottom: p[2], right: p[3], c) }
        let padding = symmetric ? p[0] : 0
        guard x.shape[2] + 2 * padding >= kh, x.shape[3] + 2 * padding >= kw else {
            throw OpFailure("kernel \(kh)×\(kw) larger than the padded input \(x.shape)")
        }
        var y: Variable
        if groups == 1 {
            y = conv2d(x, weight: w, bias: b, stride: win.strides[0], padding: padding)
        } else {
            let cin = channels / groups, cout = out / groups
            let xs = x.split([Int](repeating: cin, count: groups), axis: 1)
            let ws = w.split([Int](repeating: cout, count: groups), axis: 0)
            let bs = b?.split([Int](repeating: cout, count: groups), axis: 0)
            y = Tensors.concat(
                (0..<groups).map {
                    conv2d(xs[$0], weight: ws[$0], bias: bs?[$0], stride: win.strides[0], padding: padding)
                }, axis: 1)
        }
        if oneD { y = y.reshaped([y.shape[0], y.shape[1], y.shape[3]]) }
        return y
    }

    /// Zero padding of (N, C, H, W) by a gather map.
    static func pad(_ x: Variable, top: Int, left: Int, bottom: Int, right: Int, _ context: OpContext) -> Variable {
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let ho = h + top + bottom, wo = w + left + right
        let map = context.memo("pad") {
            var map = [Int32](repeating: -1, count: n * c * ho * wo)
            for p in 0..<(n * c) {
                for i in 0..<h {
                    for j in 0..<w { map[(p * ho + i + top) * wo + j + left] = Int32((p * h + i) * w + j) }
                }
            }
            return map
        }
        return x.gathered(map, shape: [n, c, ho, wo])
    }

    /// A dilated kernel as an ordinary one with zeros between the taps.
    static func dilateKernel(_ w: Variable, _ d: [Int], _ context: OpContext) -> Variable {
        let (o, c, kh, kw) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3])
        let eh = (kh - 1) * d[0] + 1, ew = (kw - 1) * d[1] + 1
        let map = context.memo("dilate") {
            var map = [Int32](repeating: -1, count: o * c * eh * ew)
            for p in 0..<(o * c) {
                for i in 0..<kh {
                    for j in 0..<kw { map[(p * eh + i * d[0]) * ew + j * d[1]] = Int32((p * kh + i) * kw + j) }
                }
            }
            return map
        }
        return w.gathered(map, shape: [o, c, eh, ew])
    }

    /// ConvTranspose (the VJP of a convolution as a layer): the input is spread out by the
    /// stride with zeros between, padded by k − 1 − pad (cropped where that is negative), and
    /// convolved with the flipped kernel, its in/out axes swapped. Group 1, dilation 1.
    static func convTranspose(_ c: OpContext) throws -> Variable {
        let x = try c.float(0), w = try c.float(1)
        let b =
            c.optionalInput(2).map { v -> Variable? in if case let .float(f) = v { return f } else { return nil } }
            ?? nil
        guard x.shape.count == 4, w.shape.count == 4, w.shape[0] == x.shape[1] else {
            throw OpFailure("2-D ConvTranspose with weight (C_in, C_out, kH, kW); input \(x.shape), weight \(w.shape)")
        }
        try c.require(
            try c.int("group", default: 1) == 1, attribute: "group", try c.int("group", default: 1),
            supported: "1")
        try c.require(
            c.attribute("output_shape") == nil, attribute: "output_shape", "given",
            supported: "pads and output_padding")
        let win = try window(c, kernel: [w.shape[2], w.shape[3]])
        try c.require(win.dilations == [1, 1], attribute: "dilations", win.dilations, supported: "[1, 1]")
        let outPad = try c.ints("output_padding")?.map { Int($0) } ?? [0, 0]
        guard outPad.count == 2, outPad.allSatisfy({ $0 >= 0 }), outPad[0] < win.strides[0], outPad[1] < win.strides[1]
        else {
            throw OpFailure("output_padding \(outPad) (each below its stride)")
        }
        let (n, cin, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let cout = w.shape[1], kh = w.shape[2], kw = w.shape[3]
        let (sh, sw) = (win.strides[0], win.strides[1])
        let ho = (h - 1) * sh - win.pads[0] - win.pads[2] + kh + outPad[0]
        let wo = (wd - 1) * sw - win.pads[1] - win.pads[3] + kw + outPad[1]
        guard ho >= 1, wo >= 1 else { throw OpFailure("output size \(ho)×\(wo)") }
        // Spread input of extent out + k − 1 on each axis.
        let eh = ho + kh - 1, ew = wo + kw - 1
        try Indexing.checkSize([n, cin, eh, ew])
        let offH = kh - 1 - win.pads[0], offW = kw - 1 - win.pads[1]
        let map = c.memo("spread") {
            var map = [Int32](repeating: -1, count: n * cin * eh * ew)
            for p in 0..<(n * cin) {
                for i in 0..<eh {
                    let u = i - offH
                    guard u >= 0, u % sh == 0, u / sh < h else { continue }
                    for j in 0..<ew {
                        let v = j - offW
                        guard v >= 0, v % sw == 0, v / sw < wd else { continue }
                        map[(p * eh + i) * ew + j] = Int32((p * h + u / sh) * wd + v / sw)
                    }
                }
            }
            return map
        }
        let spread = x.gathered(map, shape: [n, cin, eh, ew])
        // W'[o, c, a, b] = W[c, o, kh − 1 − a, kw − 1 − b].
        let wmap = c.memo("flip") {
            var wmap = [Int32](repeating: 0, count: cout * cin * kh * kw)
            for o in 0..<cout {
                for ci in 0..<cin {
                    for a in 0..<kh {
                        for bb in 0..<kw {
                            wmap[((o * cin + ci) * kh + a) * kw + bb] = Int32(
                                ((ci * cout + o) * kh + kh - 1 - a) * kw + kw - 1 - bb)
                        }
                    }
                }
            }
            return wmap
        }
        let flipped = w.gathered(wmap, shape: [cout, cin, kh, kw])
        if let b { guard b.shape == [cout] else { throw OpFailure("bias \(b.shape) for \(cout) channels") } }
        return conv2d(spread, weight: flipped, bias: b, stride: 1, padding: 0)
    }

    static func gemm(_ c: OpContext) throws -> Variable {
        let a = try c.float(0), b = try c.float(1)
        let cIn =
            c.optionalInput(2).map { v -> Variable? in if case let .float(f) = v { return f } else { return nil } }
            ?? nil
        let alpha = try c.float("alpha", default: 1), beta = try c.float("beta", default: 1)
        let transA = try c.int("transA", default: 0) != 0, transB = try c.int("transB", default: 0) != 0
        guard a.shape.count == 2, b.shape.count == 2 else {
            throw OpFailure("2-D A and B expected, got \(a.shape), \(b.shape)")
        }
        let k = transA ? a.shape[0] : a.shape[1], kb = transB ? b.shape[1] : b.shape[0]
        let n = transB ? b.shape[0] : b.shape[1], m = transA ? a.shape[1] : a.shape[0]
        guard k == kb else { throw OpFailure("inner extents differ: A \(a.shape), B \(b.shape)") }
        if let cIn { _ = try Indexing.broadcast([cIn.shape, [m, n]]) }
        // nn.Linear as exported (transB = 1, α = β = 1, bias (N)): the engine's linear kernel.
        if !transA, transB, alpha == 1, beta == 1, cIn == nil || cIn!.shape == [n] {
            return linear(a, weight: b, bias: cIn)
        }
        var y = matmul(transA ? a.permuted([1, 0]) : a, transB ? b.permuted([1, 0]) : b)
        if alpha != 1 { y = y * alpha }
        if let cIn, beta != 0 { y = y + (beta == 1 ? cIn : cIn * beta) }
        return y
    }

    /// NumPy matmul: 1-D operands promoted, batch axes broadcast.
    static func matMul(_ a0: Variable, _ b0: Variable) throws -> Variable {
        guard a0.shape.count >= 1, b0.shape.count >= 1 else { throw OpFailure("scalar operands") }
        var a = a0, b = b0
        let aVector = a.shape.count == 1, bVector = b.shape.count == 1
        if aVector { a = a.reshaped([1, a.shape[0]]) }
        if bVector { b = b.reshaped([b.shape[0], 1]) }
        let m = a.shape[a.shape.count - 2], k = a.shape.last!, kb = b.shape[b.shape.count - 2], n = b.shape.last!
        guard k == kb else { throw OpFailure("inner extents differ: \(a0.shape) · \(b0.shape)") }
        let batchA = Array(a.shape.dropLast(2)), batchB = Array(b.shape.dropLast(2))
        let batch = try Indexing.broadcast([batchA, batchB])
        var y: Variable
        if batchB.isEmpty || batchB.allSatisfy({ $0 == 1 }) {
            // B shared by every batch element: one matrix (B's batch axes are all 1, so A's
            // batch has as many elements as the broadcast batch).
            y = matmul(a.reshaped([batch.reduce(1, *) * m, k]), b.reshaped([k, n]))
        } else {
            let ea = Indexing.expand(
                a.reshaped(Array(repeating: 1, count: batch.count - batchA.count) + a.shape),
                to: batch + [m, k])
            let eb = Indexing.expand(
                b.reshaped(Array(repeating: 1, count: batch.count - batchB.count) + b.shape),
                to: batch + [k, n])
            let count = batch.reduce(1, *)
            y = matmul(ea.reshaped([count, m, k]), eb.reshaped([count, k, n]))
        }
        var shape = batch + [m, n]
        if bVector { shape.removeLast() }
        if aVector { shape.remove(at: shape.count - (bVector ? 1 : 2)) }
        return y.reshaped(shape)
    }

    /// Einsum of one or two operands without ellipses or repeated indices in one operand:
    /// letters summed away first, then one batched matrix product over (batch, free, contracted).
    static func einsum(_ c: OpContext) throws -> Variable {
        let equation = try c.string("equation", default: "").filter { !$0.isWhitespace }
        guard let arrow = equation.range(of: "->") else {
            throw OpFailure("equation '\(equation)' without '->' is not supported (give the output explicitly)")
        }
        let lhs = equation[..<arrow.lowerBound].split(separator: ",", omittingEmptySubsequences: false).map {
            Array($0)
        }
        let out = Array(equation[arrow.upperBound...])
        guard !equation.contains("."), lhs.count == c.inputs.count, lhs.count <= 2,
            (lhs + [out]).allSatisfy({ Set($0).count == $0.count && $0.allSatisfy(\.isLetter) })
        else {
            throw OpFailure(
                "equation '\(equation)' is not supported (one or two operands, letters only, no ellipsis, "
                    + "no repeated index within an operand)")
        }
        var operands = try (0..<lhs.count).map { try c.float($0) }
        var letters = lhs
        for (i, x) in operands.enumerated() where x.shape.count != letters[i].count {
            throw OpFailure("operand \(i) has shape \(x.shape) for subscripts '\(String(letters[i]))'")
        }
        var extent: [Character: Int] = [:]
        for (i, x) in operands.enumerated() {
            for (l, e) in zip(letters[i], x.shape) {
                if let prior = extent[l], prior != e { throw OpFailure("index \(l) has extents \(prior) and \(e)") }
                extent[l] = e
            }
        }
        guard out.allSatisfy({ extent[$0] != nil }) else { throw OpFailure("output index not in any operand") }
        // Sum letters that appear in one operand only and not in the output.
        for i in 0..<operands.count {
            let others = Set(letters.enumerated().filter { $0.offset != i }.flatMap(\.element) + out)
            for (axis, l) in letters[i].enumerated().reversed() where !others.contains(l) {
                operands[i] = operands[i].sum(axis: axis)
                var s = operands[i].shape
                s.remove(at: axis)
                operands[i] = operands[i].reshaped(s)
                letters[i].remove(at: axis)
            }
        }
        if operands.count == 1 {
            let perm = out.map { letters[0].firstIndex(of: $0)! }
            return operands[0].permuted(perm)
        }
        let (la, lb) = (letters[0], letters[1])
        let batch = out.filter { la.contains($0) && lb.contains($0) }
        let freeA = out.filter { la.contains($0) && !lb.contains($0) }
        let freeB = out.filter { lb.contains($0) && !la.contains($0) }
        let contracted = la.filter { lb.contains($0) && !out.contains($0) }
        func arrange(_ x: Variable, _ ls: [Character], _ order: [Character], _ groups: [[Character]]) -> Variable {
            let p = x.permuted(order.map { ls.firstIndex(of: $0)! })
            return p.reshaped(groups.map { $0.map { extent[$0]! }.reduce(1, *) })
        }
        let a = arrange(operands[0], la, batch + freeA + contracted, [batch, freeA, contracted])
        let b = arrange(operands[1], lb, batch + contracted + freeB, [batch, contracted, freeB])
        let product = matmul(a, b)  // (batch, freeA, freeB)
        let order = batch + freeA + freeB
        let full = product.reshaped(order.map { extent[$0]! })
        return full.permuted(out.map { order.firstIndex(of: $0)! })
    }
}

extension OpContext {
    /// The same node with 1-D window attributes read as 2-D (a unit first axis).
    func expanding1D() -> OpContext {
        var attrs = attributes
        func widen(_ name: String, _ f: ([Int64]) -> [Int64]) {
            if case let .ints(v) = attrs[name] ?? .ints([]), attrs[name] != nil { attrs[name] = .ints(f(v)) }
        }
        widen("kernel_shape") { [1] + $0 }
        widen("strides") { [1] + $0 }
        widen("dilations") { [1] + $0 }
        widen("pads") { $0.count == 2 ? [0, $0[0], 0, $0[1]] : $0 }
        var c = OpContext(node: node, attributes: attrs, inputs: inputs, outputCount: outputCount)
        c.cache = cache
        c.nodeIndex = nodeIndex
        return c
    }
}
