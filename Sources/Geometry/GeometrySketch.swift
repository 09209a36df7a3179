import Diffusion
import Foundation
import Formats
import Networks
import Tensors

/// Top-k SADs of a factored geometry without forming K: for images whose M×M block does not
/// fit in memory (M = H·W > 16k), or where only the leading directions are wanted.
///
/// K̂ = (1/N) Σ_n K_n is only ever applied to a block of ℓ = k + oversampling vectors: by the
/// feature-Gram identity (``MarginalFactorization``) K_n X = σ_w² Σ_δ G_δ h_nᵀ h_n G_δᵀ X +
/// σ_b² c_T 1 1ᵀX, with G_δ the gather of kernel offset δ — two GEMMs of the network's
/// features per offset, O(channels·F·ℓ) instead of O(M²). Memory is O((F + M)·ℓ).
///
/// * Pass 1 sketches Y = K̂Ω for a Gaussian Ω (M×ℓ). With one pass the result is the
///   single-pass Nyström approximation K̂ ≈ Y_ν(ΩᵀY_ν)⁻¹Y_νᵀ (shift ν for stability; Tropp et
///   al. 2017), whose expected trace-norm error is at most (1 + k/(ℓ − k − 1)) times the tail
///   tr K̂ − Σ_{i≤k} λ_i (reported; tr K̂ is known exactly).
/// * Each further pass regenerates the same networks (seeded) and applies K̂ to an orthonormal
///   basis Q of the previous product (subspace iteration); the last is followed by
///   Rayleigh–Ritz. Because the last product K̂Q is exact, each Ritz pair (θ, u) has the
///   residual r = K̂u − θu in closed form: an eigenvalue of K̂ lies within ‖r‖ of θ, and
///   sin∠(u, eigenvector) ≤ ‖r‖/gap with gap the distance to the other Ritz values (both
///   reported per SAD).
///
/// The networks' products are reduced per chunk and added in chunk order, in both halves
/// (even and odd chunks, whose top-k subspaces are compared): the result is bitwise the same
/// for any thread count.
public struct GeometrySketch {
    public let spec: GeometrySpec
    public let architecture: any ScoreArchitecture
    /// k: SADs wanted; ℓ − k: extra columns; passes over the networks (1 = Nyström).
    public let k: Int
    public let oversampling: Int
    public let passes: Int
    public var progress: ((Int, Int) -> Void)?

    public init(spec: GeometrySpec, architecture: any ScoreArchitecture, k: Int, oversampling: Int, passes: Int) throws
    {
        guard let f = spec.factorization, spec.estimator == Estimator.marginal.rawValue else {
            throw SettingError(
                setting: "structure", expected: "a factored marginal estimate (the sketch applies K through h)",
                found: "\(spec.factorization == nil ? "full" : "factored") \(spec.estimator)")
        }
        guard (1...1024).contains(k), (2...1024).contains(oversampling), k + oversampling <= f.positions else {
            throw SettingError(
                setting: "k", expected: "1…1024 SADs and 2…1024 extra columns, together ≤ M = \(f.positions)",
                found: "k \(k), oversampling \(oversampling)")
        }
        guard (1...16).contains(passes) else {
            throw SettingError(setting: "passes", expected: "1…16", found: "\(passes)")
        }
        // With a grid symmetry each product carries its |G| moved copies side by side.
        let l = (k + oversampling) * (spec.symmetry?.order ?? 1)
        // Ω, Y, Q (M×ℓ) and the gathered blocks (offsets·F×ℓ) plus a chunk's rows per thread.
        let (offsets, _) = f.taps()
        try MemoryBudget.require(
            [8 * l * (6 * f.positions + 2 * offsets * f.featurePositions) + 8 * 4 * 1024 * f.featurePositions],
            for: "the sketch of k + oversampling = \(l) columns", setting: "k")
        self.spec = spec
        self.architecture = architecture
        self.k = k
        self.oversampling = oversampling
        self.passes = passes
    }

    /// The products of one pass with the spec's grid symmetry: (1/|G|) Σ_g P_g K̂ P_gᵀ X, the
    /// operator whose dense form is the symmetry-averaged estimate (``SpatialSymmetry``): one
    /// pass over the networks with the |G| moved copies of X side by side, then folded back.
    func apply(_ x: [Double], columns l: Int) throws -> (halves: [[Double]], networks: [Int], trace: Double) {
        guard let group = spec.symmetry else { return try applyPlain(x, columns: l) }
        let m = spec.factorization!.positions, order = group.order, wide = order * l
        let perms = group.permutations(height: spec.shape[1], width: spec.shape[2])
        // Column block g of the wide input is P_gᵀ X: row p holds X's row π_g(p).
        var moved = [Double](repeating: 0, count: m * wide)
        for g in 0..<order {
            for p in 0..<m { for j in 0..<l { moved[p * wide + g * l + j] = x[perms[g][p] * l + j] } }
        }
        let product = try applyPlain(moved, columns: wide)
        // P_g (K̂ P_gᵀ X): row p of block g lands on row π_g(p); blocks added in order.
        let halves = product.halves.map { z in
            var y = [Double](repeating: 0, count: m * l)
            for g in 0..<order {
                for p in 0..<m { for j in 0..<l { y[perms[g][p] * l + j] += z[p * wide + g * l + j] } }
            }
            return y.map { $0 / Double(order) }
        }
        return (halves, product.networks, product.trace)
    }

    /// The products of one pass: Σ over each half's networks of K_n X (M×ℓ, column-major by
    /// rows: X[p·ℓ + j]), and the networks in each half.
    func applyPlain(_ x: [Double], columns l: Int) throws -> (halves: [[Double]], networks: [Int], trace: Double) {
        let f = spec.factorization!
        let m = f.positions, side = f.featurePositions
        let (offsets, inputOf) = f.taps()
        // X_δ = G_δᵀ X (F×ℓ): position P's row scattered to the input position it reads at δ.
        var gathered = [Double](repeating: 0, count: offsets * side * l)
        for o in 0..<offsets {
            for p in 0..<m {
                let a = inputOf[o * m + p]
                guard a >= 0 else { continue }
                let dst = (o * side + a) * l
                for j in 0..<l { gathered[dst + j] += x[p * l + j] }
            }
        }
        // 1ᵀX for the bias term.
        var columnSums = [Double](repeating: 0, count: l)
        for p in 0..<m { for j in 0..<l { columnSums[j] += x[p * l + j] } }
        let scheme = try InitScheme.parse(spec.initScheme)
        let schedule = spec.noiseSchedule
        let sampler = spec.timestepSampler(.marginal)
        let probe = try PreparedProbe(try Probe.parse(spec.probe), shape: spec.shape)
        let weights = f.traceWeights()
        guard let marginal = architecture as? OutputLayerMarginalizable else {
            throw MarginalUnavailable(reason: "no output-layer marginal")
        }
        var halves = [[Double](repeating: 0, count: m * l), [Double](repeating: 0, count: m * l)]
        var counts = [0, 0]
        var trace = 0.0
        let wave = 2 * Parallel.threadCount
        var start = 0
        while start < spec.chunks {
            let batch = Array(start..<min(spec.chunks, start + wave))
            var results = [Result<(sum: [Double], trace: Double), Error>?](repeating: nil, count: batch.count)
            results.withUnsafeMutableBufferPointer { out in
                let base = SharedPointer(out.baseAddress!)
                Parallel.forEach(batch.count) { b in
                    base.base[b] = Result {
                        try Self.chunkProduct(
                            batch[b], spec: spec, marginal: marginal, scheme: scheme, sampler: sampler, probe: probe,
                            schedule: schedule, gathered: gathered, columnSums: columnSums, columns: l,
                            weights: weights)
                    }
                }
            }
            // Added in chunk order: the same sum for any thread count.
            for (b, chunk) in batch.enumerated() {
                let r = try results[b]!.get()
                try FiniteCheck.check(r.sum, tensor: "K̂X", context: "sketch chunk \(chunk)")
                for i in 0..<(m * l) { halves[chunk % 2][i] += r.sum[i] }
                counts[chunk % 2] += spec.networks(inChunk: chunk)
                trace += r.trace
            }
            start += batch.count
            progress?(start, spec.chunks)
        }
        return (halves, counts, trace)
    }

    /// Σ_n K_n X over one chunk's networks.
    static func chunkProduct(
        _ chunk: Int, spec: GeometrySpec, marginal: OutputLayerMarginalizable, scheme: InitScheme,
        sampler: TimestepSampler, probe: PreparedProbe, schedule: NoiseSchedule, gathered: [Double],
        columnSums: [Double], columns l: Int, weights: [Double]
    ) throws -> (sum: [Double], trace: Double) {
        let f = spec.factorization!
        let m = f.positions, side = f.featurePositions
        let (offsets, inputOf) = f.taps()
        var sum = [Double](repeating: 0, count: m * l)
        var trace = 0.0
        var stacked: [Double] = []  // (rows, F)
        var z = [Double](), w = [Double](repeating: 0, count: side * l)
        func flush() {
            let rows = stacked.count / side
            guard rows > 0 else { return }
            z = [Double](repeating: 0, count: rows * l)
            for o in 0..<offsets {
                stacked.withUnsafeBufferPointer { s in
                    gathered.withUnsafeBufferPointer { g in
                        z.withUnsafeMutableBufferPointer { zp in
                            // Z = S·X_δ (rows×ℓ), then W = Sᵀ·Z (F×ℓ).
                            BLAS.dgemm(
                                .none, .none, m: rows, n: l, k: side, a: s.baseAddress!, lda: side,
                                b: g.baseAddress! + o * side * l, ldb: l, c: zp.baseAddress!, ldc: l)
                        }
                        z.withUnsafeBufferPointer { zp in
                            w.withUnsafeMutableBufferPointer { wp in
                                BLAS.dgemm(
                                    .transpose, .none, m: side, n: l, k: rows, a: s.baseAddress!, lda: side,
                                    b: zp.baseAddress!, ldb: l, c: wp.baseAddress!, ldc: l)
                            }
                        }
                    }
                }
                // σ_w² G_δ W: output position P takes W's row at the input position it reads.
                for p in 0..<m {
                    let a = inputOf[o * m + p]
                    guard a >= 0 else { continue }
                    for j in 0..<l { sum[p * l + j] += f.weightVariance * w[a * l + j] }
                }
            }
            stacked.removeAll(keepingCapacity: true)
        }
        let first = chunk * spec.chunkSize, last = min(spec.networks, first + spec.chunkSize)
        for n in first..<last {
            let index = UInt64(n)
            let (t, factor, _) = sampler.draw(network: index, seed: spec.seed)
            let x = probe.input(network: index, timestep: t, seed: spec.seed, schedule: schedule)
            let net = ScoreNetwork(marginal, seed: spec.seed, networkIndex: index, scheme: scheme)
            let (rows, gram) = try GeometryRun.scaledFeatures(
                marginal, x: x, timestep: t, factor: factor, parameters: net.parameters, scheme: scheme, side: side,
                weights: weights)
            for r in stride(from: 0, to: rows.count, by: side) {
                stacked.append(contentsOf: rows[r..<(r + side)])
                if stacked.count >= GeometryRun.stackedRows * side { flush() }
            }
            let bias = f.biasVariance * factor * factor
            for p in 0..<m { for j in 0..<l { sum[p * l + j] += bias * columnSums[j] } }
            trace += f.weightVariance * gram + bias * Double(m)
        }
        flush()
        return (sum, trace)
    }

    /// Runs every pass and returns the top-k SADs of K̂ with their error estimates.
    public func run() throws -> SketchResult {
        let f = spec.factorization!
        let m = f.positions, l = k + oversampling
        let omega = RandomStream(seed: spec.seed, purpose: .sketch).normals(m * l).map(Double.init)  // (M, ℓ)
        if passes == 1 {
            let product = try apply(omega, columns: l)
            let n = product.networks.reduce(0, +)
            let halfMeans = (0..<2).map { h in product.halves[h].map { $0 / Double(product.networks[h]) } }
            let traceK = product.trace / Double(n)
            let top = try Self.nystrom(
                y: Self.mean(product.halves, product.networks), omega: omega, rows: m, columns: l, k: k)
            let a = try Self.nystrom(y: halfMeans[0], omega: omega, rows: m, columns: l, k: k)
            let b = try Self.nystrom(y: halfMeans[1], omega: omega, rows: m, columns: l, k: k)
            let tail = max(0, traceK - top.values.reduce(0, +))
            return SketchResult(
                spec: spec, k: k, oversampling: oversampling, passes: passes, values: top.values,
                vectors: top.vectors, residuals: nil, kernelTrace: traceK,
                nystromBound: (1 + Double(k) / Double(l - k - 1)) * tail,
                halfOverlap: Self.subspaceOverlap(a.vectors, b.vectors, rows: m, k: k), networks: product.networks)
        }
        // Block Krylov: V_0 = orth(Ω), V_{i+1} = orth(K̂V_i ⟂ V_0…V_i); after p passes the basis
        // V = [V_0 … V_{p−1}] spans Ω, K̂Ω, …, K̂^{p−1}Ω and K̂V = [Y_1 … Y_p] is known exactly.
        var blocks = [try Self.orthonormal(omega, rows: m, columns: l, against: [], context: "Ω")]
        var products: [[Double]] = [], halfProducts: [[[Double]]] = [[], []]
        var networks = [0, 0]
        var traceK = 0.0
        for pass in 1...passes {
            let product = try apply(blocks.last!, columns: l)
            networks = product.networks
            traceK = product.trace / Double(networks.reduce(0, +))
            products.append(Self.mean(product.halves, product.networks))
            for h in 0..<2 { halfProducts[h].append(product.halves[h].map { $0 / Double(product.networks[h]) }) }
            if pass < passes {
                blocks.append(
                    try Self.orthonormal(products.last!, rows: m, columns: l, against: blocks, context: "pass \(pass)"))
            }
        }
        let width = passes * l
        func joined(_ parts: [[Double]]) -> [Double] {
            var out = [Double](repeating: 0, count: m * width)
            for (b, part) in parts.enumerated() {
                for p in 0..<m { for j in 0..<l { out[p * width + b * l + j] = part[p * l + j] } }
            }
            return out
        }
        let basis = joined(blocks), image = joined(products)
        let ritz = try Self.rayleighRitz(q: basis, y: image, rows: m, columns: width)
        func ritzVectors(_ c: [Double]) -> [Double] {
            (0..<k).flatMap { i in
                (0..<m).map { p in (0..<width).reduce(0.0) { $0 + basis[p * width + $1] * c[$1 * width + i] } }
            }
        }
        var residuals = [Double](repeating: 0, count: k)
        for i in 0..<k {
            var r2 = 0.0
            for p in 0..<m {
                var ku = 0.0, u = 0.0
                for j in 0..<width {
                    ku += image[p * width + j] * ritz.coefficients[j * width + i]
                    u += basis[p * width + j] * ritz.coefficients[j * width + i]
                }
                let r = ku - ritz.values[i] * u
                r2 += r * r
            }
            residuals[i] = r2.squareRoot()
        }
        let halfVectors = try (0..<2).map { h in
            ritzVectors(
                try Self.rayleighRitz(q: basis, y: joined(halfProducts[h]), rows: m, columns: width).coefficients)
        }
        return SketchResult(
            spec: spec, k: k, oversampling: oversampling, passes: passes, values: Array(ritz.values.prefix(k)),
            vectors: ritzVectors(ritz.coefficients), residuals: residuals, kernelTrace: traceK, nystromBound: nil,
            halfOverlap: Self.subspaceOverlap(halfVectors[0], halfVectors[1], rows: m, k: k),
            networks: networks, ritzValues: ritz.values)
    }

    static func mean(_ halves: [[Double]], _ counts: [Int]) -> [Double] {
        let n = Double(counts.reduce(0, +))
        return zip(halves[0], halves[1]).map { ($0 + $1) / n }
    }

    /// Orthonormal columns spanning Y (M×ℓ) orthogonal to the earlier blocks: block and then
    /// modified Gram–Schmidt, each twice ("twice is enough" for Float64).
    static func orthonormal(
        _ y: [Double], rows m: Int, columns l: Int, against earlier: [[Double]], context: String
    ) throws -> [Double] {
        var q = y
        let scale = y.reduce(0) { max($0, abs($1)) }
        for _ in 0..<2 {
            for b in earlier {
                for i in 0..<l {
                    for j in 0..<l {
                        var dot = 0.0
                        for p in 0..<m { dot += b[p * l + i] * q[p * l + j] }
                        for p in 0..<m { q[p * l + j] -= dot * b[p * l + i] }
                    }
                }
            }
            for j in 0..<l {
                for i in 0..<j {
                    var dot = 0.0
                    for p in 0..<m { dot += q[p * l + i] * q[p * l + j] }
                    for p in 0..<m { q[p * l + j] -= dot * q[p * l + i] }
                }
                var norm = 0.0
                for p in 0..<m { norm += q[p * l + j] * q[p * l + j] }
                norm = norm.squareRoot()
                guard norm > 1e-12 * max(scale, .leastNormalMagnitude), norm.isFinite else {
                    throw SettingError(
                        setting: "passes",
                        expected: "a Krylov basis of full rank (fewer passes or columns for this network)",
                        found: "rank-deficient at \(context)")
                }
                for p in 0..<m { q[p * l + j] /= norm }
            }
        }
        return q
    }

    /// Eigenpairs of T = QᵀY (ℓ×ℓ, symmetrised): values descending, coefficients (ℓ, ℓ) with
    /// column i (coefficients[j·ℓ + i]) the i-th Ritz vector in Q's basis.
    static func rayleighRitz(
        q: [Double], y: [Double], rows m: Int, columns l: Int
    ) throws
        -> (values: [Double], coefficients: [Double])
    {
        var t = [Double](repeating: 0, count: l * l)
        for p in 0..<m {
            for i in 0..<l {
                let qi = q[p * l + i]
                for j in 0..<l { t[i * l + j] += qi * y[p * l + j] }
            }
        }
        for i in 0..<l {
            for j in (i + 1)..<l { let s = (t[i * l + j] + t[j * l + i]) / 2; t[i * l + j] = s; t[j * l + i] = s }
        }
        let e = try SymmetricEigen<Double>(symmetric: t, n: l)
        var c = [Double](repeating: 0, count: l * l)
        for i in 0..<l { for j in 0..<l { c[j * l + i] = e.vectors[i * l + j] } }
        return (e.values, c)
    }

    /// Single-pass Nyström from Y = K̂Ω: ν = √M·ε·‖Y‖_F, Y_ν = Y + νΩ, B = ΩᵀY_ν = VΛVᵀ,
    /// F = Y_ν B^{−1/2}; the eigenpairs of FFᵀ from FᵀF; λ = max(0, σ² − ν).
    static func nystrom(
        y: [Double], omega: [Double], rows m: Int, columns l: Int, k: Int
    ) throws
        -> (values: [Double], vectors: [Double])
    {
        let norm = y.reduce(0) { $0 + $1 * $1 }.squareRoot()
        let nu = Double(m).squareRoot() * Double.ulpOfOne * norm
        let yn = zip(y, omega).map { $0 + nu * $1 }
        let b = try rayleighRitz(q: omega, y: yn, rows: m, columns: l)
        // B^{−1/2} = V Λ^{−1/2} Vᵀ (eigenvalues below the shift's level dropped).
        let floor = nu * 1e-3
        var inverseRoot = [Double](repeating: 0, count: l * l)
        for r in 0..<l where b.values[r] > floor {
            let s = 1 / b.values[r].squareRoot()
            for i in 0..<l {
                for j in 0..<l { inverseRoot[i * l + j] += b.coefficients[i * l + r] * s * b.coefficients[j * l + r] }
            }
        }
        var fm = [Double](repeating: 0, count: m * l)
        for p in 0..<m {
            for j in 0..<l {
                var s = 0.0; for i in 0..<l { s += yn[p * l + i] * inverseRoot[i * l + j] }; fm[p * l + j] = s
            }
        }
        var gram = [Double](repeating: 0, count: l * l)
        for p in 0..<m { for i in 0..<l { for j in 0..<l { gram[i * l + j] += fm[p * l + i] * fm[p * l + j] } } }
        let e = try SymmetricEigen<Double>(symmetric: gram, n: l)
        var values: [Double] = [], vectors: [Double] = []
        for i in 0..<k {
            let sigma2 = max(e.values[i], 0)
            values.append(max(0, sigma2 - nu))
            let s = sigma2 > 0 ? 1 / sigma2.squareRoot() : 0
            for p in 0..<m {
                var u = 0.0
                for j in 0..<l { u += fm[p * l + j] * e.vectors[i * l + j] }
                vectors.append(u * s)
            }
        }
        return (values, vectors)
    }

    /// Mean squared cosine of the principal angles between two k-dimensional subspaces given
    /// by orthonormal rows (k, M).
    static func subspaceOverlap(_ a: [Double], _ b: [Double], rows m: Int, k: Int) -> Double {
        var s = 0.0
        for i in 0..<k {
            for j in 0..<k {
                var dot = 0.0
                for p in 0..<m { dot += a[i * m + p] * b[j * m + p] }
                s += dot * dot
            }
        }
        return s / Double(k)
    }
}
