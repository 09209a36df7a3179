/// A group of symmetries of the image grid under which a family of networks is equivariant in
/// distribution: for every element g, the network with g applied to every spatial kernel maps
/// g·x to g·ε̂(x), and that network is as likely at initialisation as the original.
///
/// The geometry then has the symmetry exactly, G_F = P_g G_F P_gᵀ, whenever the probe
/// distribution has it too (x = 0, x ~ N(0, σ²I)); averaging an estimate over the group keeps
/// its expectation and removes the part of its noise that the symmetry forbids (see
/// docs/GEOMETRY.md, "Spatial symmetry").
public enum SpatialSymmetry: String, Codable, CaseIterable, Sendable {
    /// {identity, transpose}: square images, any padding that treats rows and columns alike
    /// (the stride-2 "nearest" downsampling pads only the top and the left border, so it is
    /// symmetric under the transpose but not under flips).
    case transpose
    /// {identity, flip rows, flip columns, both}: borders padded alike on every side.
    case flips
    /// The 8 symmetries of the square (dihedral group D4): square images, borders alike.
    case dihedral

    /// The group's order.
    public var order: Int {
        switch self {
        case .transpose: return 2
        case .flips: return 4
        case .dihedral: return 8
        }
    }

    /// Whether the group acts on an h×w grid (transposes need a square one).
    public func acts(height h: Int, width w: Int) -> Bool { self == .flips || h == w }

    /// Element `e` (0 = identity) applied to the position (i, j) of an h×w grid.
    public func map(_ e: Int, row i: Int, column j: Int, height h: Int, width w: Int) -> (Int, Int) {
        let a = h - 1 - i, b = w - 1 - j
        switch self {
        case .transpose: return e == 0 ? (i, j) : (j, i)
        case .flips: return [(i, j), (a, j), (i, b), (a, b)][e]
        case .dihedral:
            // The orbit of (i, j) under D4 (as `InitScheme.symmetric`'s kernel average):
            // identity, transpose, two flips, the half turn, the anti-transpose, two quarter turns.
            return [(i, j), (j, i), (a, j), (i, b), (a, b), (b, a), (j, a), (b, i)][e]
        }
    }

    /// Every element as a permutation of the row-major positions of an h×w grid:
    /// `permutations[e][i·w + j]` is the position element e moves (i, j) to.
    public func permutations(height h: Int, width w: Int) -> [[Int]] {
        precondition(acts(height: h, width: w), "\(self) needs a square grid, got \(h)×\(w)")
        return (0..<order).map { e in
            (0..<(h * w)).map { p in
                let (y, x) = map(e, row: p / w, column: p % w, height: h, width: w)
                return y * w + x
            }
        }
    }
}

/// An architecture that knows which ``SpatialSymmetry`` its initial distribution has.
public protocol SpatiallySymmetric: ScoreArchitecture {
    /// The largest known group the family is equivariant under at init with `scheme`, or nil.
    func spatialSymmetry(scheme: InitScheme) -> SpatialSymmetry?
}

extension UNet: SpatiallySymmetric {
    /// Every layer of the U-Net is equivariant under a grid symmetry once its kernels are
    /// transformed alike: 3×3 and 1×1 convolutions with the same padding on both axes,
    /// GroupNorm (spatial statistics), pointwise activations, attention (a function of the set
    /// of positions), ×2 nearest upsampling, and the time embedding (no positions at all). The
    /// reference and symmetric inits draw kernel entries iid (or average them over D4), so a
    /// transformed network is exactly as likely. What breaks a symmetry is the downsampling:
    /// * "nearest" (stride-2 conv) reads rows 2i−1…2i+1: padding meets only the top and left
    ///   borders, the same for rows and columns — transpose only (square images);
    /// * "area" (stride-1 conv, 2×2 average) is symmetric under flips as long as every map it
    ///   halves has even sides (an odd side would drop its last row or column; configs
    ///   already require H and W divisible by 2 per halving, so this is a guard).
    public func spatialSymmetry(scheme: InitScheme) -> SpatialSymmetry? {
        guard scheme != .zeroInit else { return nil }
        let h = inputShape[1], w = inputShape[2]
        let halvings = config.levelMults.count - 1
        let even = h % (1 << halvings) == 0 && w % (1 << halvings) == 0
        switch config.interpolation {
        case .nearest: return h == w ? .transpose : nil
        case .area where even: return h == w ? .dihedral : .flips
        case .area: return h == w ? .transpose : nil
        }
    }
}
