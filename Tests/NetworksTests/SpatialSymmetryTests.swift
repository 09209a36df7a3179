import Foundation
import XCTest
@testable import Networks
import Formats
import Tensors

/// The fact the geometry's symmetry averaging rests on: a U-Net at the reference init whose
/// every spatial kernel is moved by a grid symmetry g maps g·x to g·ε̂(x), for exactly the
/// group ``UNet/spatialSymmetry(scheme:)`` claims (and not for the elements it leaves out).
final class SpatialSymmetryTests: XCTestCase {
    /// g applied to the last two axes of a (…, h, w) tensor: out[g(i, j)] = t[i, j].
    func apply(_ g: SpatialSymmetry, _ e: Int, _ t: Tensor) -> Tensor {
        let h = t.shape[t.rank - 2], w = t.shape[t.rank - 1]
        var out = t
        for plane in 0..<(t.count / (h * w)) {
            let base = plane * h * w
            for i in 0..<h {
                for j in 0..<w {
                    let (y, x) = g.map(e, row: i, column: j, height: h, width: w)
                    out.data[base + y * w + x] = t.data[base + i * w + j]
                }
            }
        }
        return out
    }

    /// The network with g applied to every k×k kernel (k > 1); 1×1 kernels, biases, norms and
    /// linear layers do not move.
    func transformed(_ net: ScoreNetwork, _ g: SpatialSymmetry, _ e: Int) -> ScoreNetwork {
        var p = net.parameters
        for name in p.names {
            let t = p[name]!
            if t.rank == 4, t.shape[2] == t.shape[3], t.shape[2] > 1 { p.set(name, apply(g, e, t)) }
        }
        return ScoreNetwork(net.architecture, parameters: p)
    }

    /// max |ε̂_{gθ}(g·x) − g·ε̂_θ(x)| relative to the output's scale, for element e of g.
    func equivarianceError(_ config: NetworkConfig, _ g: SpatialSymmetry, _ e: Int, probe: Tensor) -> Float {
        let net = ScoreNetwork(makeArchitecture(config), seed: 7, networkIndex: 3)
        let y = net.epsilon(probe, timesteps: [40])
        let moved = transformed(net, g, e).epsilon(apply(g, e, probe), timesteps: [40])
        return moved.maxAbsDifference(apply(g, e, y)) / y.data.map(abs).max()!
    }

    func config(_ shape: [Int], _ interpolation: Interpolation, attention: Bool = true) throws -> NetworkConfig {
        let json = """
            {"shape": \(shape), "learning_rate": 1e-3, "grad_clip": 1.0, "diffuser": {"T": 1000, "linear": true,
             "model": {"base_channels": 32, "num_res_attn_blocks": 1, "channel_mults": [1, 2],
             "is_attn": [false, \(attention), false], "num_heads": 4, "dropout": 0.0,
             "use_scale_shift_norm": false}}}
            """
        return try NetworkConfig.parse(Array(json.utf8), file: "symmetry-test").with(interpolation: interpolation)
    }

    /// "area", square: all eight elements of D4 hold (x = 0 and a random x, attention included);
    /// "nearest", square: the transpose holds and the flips fail (top/left-only padding).
    func testUNetEquivarianceAtReferenceInit() throws {
        let x = RandomStream(seed: 4, purpose: .test).normalTensor([1, 2, 12, 12])
        let zero = Tensor(zeros: [1, 2, 12, 12])
        let area = try config([2, 12, 12], .area)
        XCTAssertEqual(makeArchitecture(area).spatialSymmetryIfAny, .dihedral)
        for e in 1..<8 {
            XCTAssertLessThan(equivarianceError(area, .dihedral, e, probe: x), 1e-5, "area, D4 element \(e)")
            XCTAssertLessThan(equivarianceError(area, .dihedral, e, probe: zero), 1e-5, "area, x = 0, element \(e)")
        }
        let nearest = try config([2, 12, 12], .nearest)
        XCTAssertEqual(makeArchitecture(nearest).spatialSymmetryIfAny, .transpose)
        XCTAssertLessThan(equivarianceError(nearest, .transpose, 1, probe: x), 1e-5)
        XCTAssertLessThan(equivarianceError(nearest, .transpose, 1, probe: zero), 1e-5)
        for e in 1..<4 {
            XCTAssertGreaterThan(
                equivarianceError(nearest, .flips, e, probe: zero), 1e-2, "nearest must fail flip element \(e)")
        }
    }

    /// Non-square "area": the flips hold; non-square "nearest": nothing.
    func testNonSquareAndOddSides() throws {
        let x = RandomStream(seed: 5, purpose: .test).normalTensor([1, 1, 8, 12])
        let flat = try config([1, 8, 12], .area, attention: false)
        XCTAssertEqual(makeArchitecture(flat).spatialSymmetryIfAny, .flips)
        for e in 1..<4 { XCTAssertLessThan(equivarianceError(flat, .flips, e, probe: x), 1e-5, "flip \(e)") }
        XCTAssertNil(makeArchitecture(try config([1, 8, 12], .nearest)).spatialSymmetryIfAny)
        let large = try config([1, 20, 20], .area)
        XCTAssertEqual(makeArchitecture(large).spatialSymmetryIfAny, .dihedral)
        XCTAssertNil(
            (makeArchitecture(large) as? SpatiallySymmetric)?.spatialSymmetry(scheme: .zeroInit),
            "zero-init has no geometry to average")
    }

    /// The permutations are a group: the identity first, each element a bijection, closed
    /// under composition.
    func testPermutationsFormAGroup() {
        for g in SpatialSymmetry.allCases {
            let (h, w) = g == .flips ? (3, 5) : (4, 4)
            let perms = g.permutations(height: h, width: w)
            XCTAssertEqual(perms.count, g.order)
            XCTAssertEqual(perms[0], Array(0..<(h * w)))
            let set = Set(perms)
            XCTAssertEqual(set.count, g.order, "\(g): distinct elements")
            for a in perms {
                XCTAssertEqual(Set(a).count, h * w)
                for b in perms { XCTAssertTrue(set.contains(a.map { b[$0] }), "\(g) closed") }
            }
        }
    }
}

extension ScoreArchitecture {
    var spatialSymmetryIfAny: SpatialSymmetry? {
        (self as? SpatiallySymmetric)?.spatialSymmetry(scheme: .reference)
    }
}
