import Foundation
import Formats

/// A band of timesteps `first…last` (inclusive) that t is restricted to: the geometry, or a
/// score error, resolved by noise level. Small t is little noise (σ_t → 0), large t much.
public struct TimestepBand: Equatable, Sendable, CustomStringConvertible {
    public let first: Int
    public let last: Int

    public init(first: Int, last: Int) throws {
        guard first >= 0, first <= last, last <= 1_000_000 else {
            throw SettingError(
                setting: "timesteps", expected: "a:b with 0 ≤ a ≤ b ≤ 10⁶", found: "\(first):\(last)")
        }
        self.first = first
        self.last = last
    }

    public var range: ClosedRange<Int> { first...last }
    /// Timesteps in the band.
    public var count: Int { last - first + 1 }
    public var description: String { "\(first):\(last)" }

    /// Parses `a:b`.
    public static func parse(_ text: String) throws -> TimestepBand {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map { Int($0) }
        guard parts.count == 2, let a = parts[0], let b = parts[1] else {
            throw SettingError(setting: "timesteps", expected: "a:b (integers, 0 ≤ a ≤ b < T)", found: text)
        }
        return try TimestepBand(first: a, last: b)
    }

    /// `count` contiguous bands covering 0…T−1 with log-spaced edges b_k = ⌊T^{k/K}⌋ (b_0 = 0,
    /// each edge at least one above the last so that no band is empty): T = 1000, K = 4 gives
    /// 0:4, 5:30, 31:176, 177:999. Log spacing because the geometry is dominated by small t.
    public static func logSpaced(count: Int, timesteps: Int) throws -> [TimestepBand] {
        guard (2...100_000).contains(timesteps), (1...min(64, timesteps)).contains(count) else {
            throw SettingError(
                setting: "bands", expected: "1…min(64, T) bands of T = 2…100000 timesteps",
                found: "\(count) bands of T = \(timesteps)")
        }
        var edges = [0]
        for k in 1...count {
            // The relative nudge keeps exact powers (1000^{1/3} = 10) from rounding down.
            let e = k == count ? timesteps : Int(pow(Double(timesteps), Double(k) / Double(count)) * (1 + 1e-12))
            edges.append(min(timesteps - (count - k), max(edges.last! + 1, e)))
        }
        return try (0..<count).map { try TimestepBand(first: edges[$0], last: edges[$0 + 1] - 1) }
    }
}

extension GeometrySpec {
    /// This spec with t restricted to `band` (unchanged for nil).
    public func restricted(to band: TimestepBand?) throws -> GeometrySpec {
        guard let band else { return self }
        var spec = self
        try spec.restrict(to: band)
        return spec
    }
}
