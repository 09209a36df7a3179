import Tensors

/// Pooling, resizing and reductions: AveragePool, MaxPool (2-D, any kernel, stride and
/// pads), Resize (nearest, every coordinate mode), ReduceMean, ReduceSum, ReduceMax.
enum PoolingOps {
    static func register(_ t: inout [String: ONNXOpDefinition]) {
        let poolAttributes: Set<String> = [
            "auto_pad", "ceil_mode", "count_include_pad", "dilations", "kernel_shape",
            "pads", "strides", "storage_order",
        ]
        t["AveragePool"] = ONNXOpDefinition(inputs: 1...1, outputs: 1...1, attributes: poolAttributes) { c in
            [.float(try pool(c, max: false))]
        }
        t["MaxPool"] = ONNXOpDefinition(inputs: 1...1, outputs: 1...1, attributes: poolAttributes) { c in
            [.float(try pool(c, max: true))]
        }
        t["Resize"] = ONNXOpDefinition(
            inputs: 1...4, outputs: 1...1,
            attributes: [
                "antialias", "axes", "coordinate_transformation_mode", "cubic_coeff_a", "exclude_outside",
                "extrapolation_value", "keep_aspect_ratio_policy", "mode", "nearest_mode",
            ]
        ) { c in [.float(try resize(c))] }
        for (name, kind) in [("ReduceMean", Reduce.mean), ("ReduceSum", .sum), ("ReduceMax", .max)] {
            t[name] = ONNXOpDefinition(
                inputs: 1...2, outputs: 1...1, attributes: ["axes", "keepdims", "noop_with_empty_axes"]
            ) {
                c in [.float(try reduce(c, kind))]
            }
        }
    }

    static func pool(_ c: OpContext, max: Bool) throws -> Variable {
        let x = try c.float(0)
        guard x.shape.count == 4 else { throw OpFailure("2-D pooling of (N, C, H, W) only, got \(x.shape)") }
        guard let k = try c.ints("kernel_shape")?.map({ Int($0) }), k.count == 2,
            k.allSatisfy({ (1...256).contains($0) })
        else { throw OpFailure("kernel_shape of two values in 1…256 required") }
        let win = try LinearOps.window(c, kernel: k)
        try c.require(win.dilations == [1, 1], attribute: "dilations", win.dilations, supported: "[1, 1]")
        try c.require(try c.int("storage_order", default: 0) == 0, attribute: "storage_order", 1, supported: "0")
        let ceilMode = try c.int("ceil_mode", default: 0) != 0
        let includePad = try c.int("count_include_pad", default: 0) != 0
        let (n, ch, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let p = win.pads, s = win.strides
        func outExtent(_ len: Int, _ k: Int, _ s: Int, _ lo: Int, _ hi: Int) -> Int {
            let span = len + lo + hi - k
            var o = (ceilMode ? (span + s - 1) / s : span / s) + 1
            // A last window that would start in the padding is dropped (PyTorch, onnxruntime).
            if ceilMode && (o - 1) * s >= len + lo { o -= 1 }
            return o
        }
        let ho = outExtent(h, k[0], s[0], p[0], p[2]), wo = outExtent(w, k[1], s[1], p[1], p[3])
        guard ho >= 1, wo >= 1 else { throw OpFailure("kernel \(k) larger than the padded input \(x.shape)") }
        // The common 2×2 stride-2 average without padding: the engine's kernel.
        if !max, k == [2, 2], s == [2, 2], p == [0, 0, 0, 0], h % 2 == 0, w % 2 == 0 { return x.avgPool2x2() }
        let kk = k[0] * k[1]
        try Indexing.checkSize([n, ch, ho, wo, kk])
        var divisor = [Float](repeating: 0, count: ho * wo)
        for i in 0..<ho {
            for j in 0..<wo {
                var valid = 0, inPadded = 0
                for a in 0..<k[0] {
                    for b in 0..<k[1] {
                        let y = i * s[0] - p[0] + a, xx = j * s[1] - p[1] + b
                        if y < h + p[2] && xx < w + p[3] { inPadded += 1 }
                        if y >= 0 && y < h && xx >= 0 && xx < w { valid += 1 }
                    }
                }
                divisor[i * wo + j] = Float(includePad ? inPadded : valid)
            }
        }
        let map = c.memo("pool") {
            var map = [Int32](repeating: -1, count: n * ch * ho * wo * kk)
            for i in 0..<ho {
                for j in 0..<wo {
                    for a in 0..<k[0] {
                        for b in 0..<k[1] {
                            let y = i * s[0] - p[0] + a, xx = j * s[1] - p[1] + b
                            guard y >= 0 && y < h && xx >= 0 && xx < w else { continue }
                            for plane in 0..<(n * ch) {
                                map[(((plane * ho + i) * wo + j) * kk) + a * k[1] + b] = Int32((plane * h + y) * w + xx)
                            }
                        }
                    }
                }
            }
            return map
        }
        let windows = x.gathered(map, shape: [n, ch, ho, wo, kk])
        if max {
            // Padding must never win: −FLT_MAX where the map points outside (no −∞, no NaN).
            var floor = [Float](repeating: 0, count: map.count)
            for i in 0..<map.count where map[i] < 0 { floor[i] = -Float.greatestFiniteMagnitude }
            return (windows + Variable(Tensor(shape: windows.shape, data: floor))).maxOverLastAxis()
        }
        let sums = windows.sum(axis: 4).reshaped([n, ch, ho, wo])
        return sums * Variable(Tensor(shape: [ho, wo], data: divisor.map { 1 / $0 }))
    }

    /// Resize, nearest mode: output index → source index by the coordinate transformation and
    /// rounding rule. Linear and cubic modes are refused.
    static func resize(_ c: OpContext) throws -> Variable {
        let x = try c.float(0)
        let mode = try c.string("mode", default: "nearest")
        try c.require(mode == "nearest", attribute: "mode", mode, supported: "nearest")
        try c.require(c.attribute("axes") == nil, attribute: "axes", "given", supported: "all axes (no axes attribute)")
        try c.require(try c.int("antialias", default: 0) == 0, attribute: "antialias", 1, supported: "0")
        let policy = try c.string("keep_aspect_ratio_policy", default: "stretch")
        try c.require(policy == "stretch", attribute: "keep_aspect_ratio_policy", policy, supported: "stretch")
        let coordinate = try c.string("coordinate_transformation_mode", default: "half_pixel")
        let coordinates = ["asymmetric", "half_pixel", "pytorch_half_pixel", "align_corners", "tf_half_pixel_for_nn"]
        try c.require(
            coordinates.contains(coordinate), attribute: "coordinate_transformation_mode", coordinate,
            supported: coordinates.joined(separator: ", "))
        let nearest = try c.string("nearest_mode", default: "round_prefer_floor")
        let roundings = ["floor", "ceil", "round_prefer_floor", "round_prefer_ceil"]
        try c.require(
            roundings.contains(nearest), attribute: "nearest_mode", nearest,
            supported: roundings.joined(separator: ", "))
        let r = x.shape.count
        var scales = [Float](repeating: 1, count: r)
        var outShape = x.shape
        if case let .float(s)? = c.optionalInput(2), s.value.count > 0 {
            guard s.value.count == r, s.value.data.allSatisfy({ $0 > 0 && $0 <= 1024 }) else {
                throw OpFailure("scales \(s.value.data) for rank \(r)")
            }
            scales = s.value.data
            outShape = (0..<r).map { Int((Float(x.shape[$0]) * scales[$0]).rounded(.down)) }
        } else if let sizes = try c.optionalInt(3) {
            guard sizes.values.count == r, sizes.values.allSatisfy({ $0 >= 1 && $0 <= 1 << 20 }) else {
                throw OpFailure("sizes \(sizes.values) for rank \(r)")
            }
            outShape = sizes.values.map { Int($0) }
            scales = (0..<r).map { Float(outShape[$0]) / Float(x.shape[$0]) }
        } else {
            throw OpFailure("scales or sizes required")
        }
        try Indexing.checkSize(outShape)
        // Exactly ×2 on the last two axes, asymmetric floor: the engine's upsampling kernel.
        if r == 4, scales == [1, 1, 2, 2], outShape[2] == 2 * x.shape[2], outShape[3] == 2 * x.shape[3],
            coordinate == "asymmetric", nearest == "floor"
        {
            return x.upsampleNearest2x()
        }
        let sources: [[Int]] = (0..<r).map { a in
            let inLen = x.shape[a], outLen = outShape[a], scale = Double(scales[a])
            return (0..<outLen).map { o in
                let oo = Double(o)
                var v: Double
                switch coordinate {
                case "asymmetric": v = oo / scale
                case "align_corners": v = outLen == 1 ? 0 : oo * Double(inLen - 1) / Double(outLen - 1)
                case "pytorch_half_pixel": v = outLen > 1 ? (oo + 0.5) / scale - 0.5 : 0
                case "tf_half_pixel_for_nn": v = (oo + 0.5) / scale
                default: v = (oo + 0.5) / scale - 0.5
                }
                let i: Double
                switch nearest {
                case "floor": i = v.rounded(.down)
                case "ceil": i = v.rounded(.up)
                case "round_prefer_ceil": i = (v + 0.5).rounded(.down)
                default: i = v == v.rounded(.down) + 0.5 ? v.rounded(.down) : v.rounded()
                }
                return max(0, min(inLen - 1, Int(i)))
            }
        }
        let st = Indexing.strides(x.shape)
        let map = c.memo("resize") {
            var map = [Int32](repeating: 0, count: outShape.reduce(1, *))
            Indexing.forEach(outShape) { flat, idx in
                var src = 0
                for a in 0..<r { src += sources[a][idx[a]] * st[a] }
                map[flat] = Int32(src)
            }
            return map
        }
        return x.gathered(map, shape: outShape)
    }

    enum Reduce { case mean, sum, max }

    static func reduce(_ c: OpContext, _ kind: Reduce) throws -> Variable {
        let x = try c.float(0)
        let r = x.shape.count
        // Axes: the second input (ReduceSum ≥ 13, ReduceMean/Max ≥ 18) or the attribute (older).
        var axes: [Int64]? = try c.optionalInt(1)?.values ?? (try c.ints("axes"))
        if axes?.isEmpty == true { axes = nil }
        let keep = try c.int("keepdims", default: 1) != 0
        let noop = try c.int("noop_with_empty_axes", default: 0) != 0
        if axes == nil && noop { return x }
        let list = try Set((axes ?? (0..<Int64(r)).map { $0 }).map { try Indexing.axis($0, rank: r) }).sorted()
        var y = x
        var count = 1
        switch kind {
        case .mean, .sum:
            for a in list.reversed() {
                count *= x.shape[a]
                y = y.sum(axis: a)
            }
            if kind == .mean { y = y * (1 / Float(max(count, 1))) }
        case .max:
            guard list.allSatisfy({ x.shape[$0] > 0 }) else { throw OpFailure("ReduceMax over an empty axis") }
            // Move the reduced axes last, flatten them, take the maximum.
            let kept = (0..<r).filter { !list.contains($0) }
            let moved = y.permuted(kept + list)
            let keptShape = kept.map { x.shape[$0] }
            y = moved.reshaped(keptShape + [list.map { x.shape[$0] }.reduce(1, *)]).maxOverLastAxis()
        }
        let shape =
            keep
            ? (0..<r).map { list.contains($0) ? 1 : x.shape[$0] }
            : (0..<r).filter { !list.contains($0) }.map { x.shape[$0] }
        return y.reshaped(shape)
    }
}
