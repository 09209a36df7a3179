import Foundation

/// One of the paper's claims as a recipe tests it; result.json carries them as `claims`.
///
/// `holds` is true when the measured numbers support the claim under the stated test, false
/// when they do not, and nil when this profile cannot test it (e.g. the `quick` profile's
/// three optimiser steps say nothing about which direction is easier to learn).
public struct Claim: Codable, Equatable, Sendable {
    /// Stable identifier ("fig6.iddpm-nearest.ordering").
    public var id: String
    /// The paper's claim in one sentence.
    public var statement: String
    public var holds: Bool?
    /// For a statistical test: whether the point estimate lies in the claimed direction, so
    /// that a `false` verdict can say "not significant" rather than "contradicted".
    public var directionAgrees: Bool?
    public var evidence: Evidence

    /// The numbers behind a verdict and the test that turned them into one.
    public struct Evidence: Codable, Equatable, Sendable {
        /// The numbers in words, e.g. "MSW₂ 46.8 ± 2.0 at SAD 0 vs 38.3 ± 0.7 at SAD 255".
        public var summary: String
        /// The test, e.g. "paired t-test over seeds (one-sided), α = 0.05".
        public var test: String
        public var pValue: Double?
        /// The key numbers by name (finite values only; JSON has no NaN).
        public var values: [String: Double]

        public init(summary: String, test: String, pValue: Double? = nil, values: [String: Double] = [:]) {
            self.summary = summary
            self.test = test
            self.pValue = pValue.flatMap { $0.isFinite ? $0 : nil }
            self.values = values.filter { $0.value.isFinite }
        }
    }

    public init(id: String, statement: String, holds: Bool?, directionAgrees: Bool? = nil, evidence: Evidence) {
        self.id = id
        self.statement = statement
        self.holds = holds
        self.directionAgrees = directionAgrees
        self.evidence = evidence
    }

    /// "held", "did NOT hold", "not significant (the direction agrees)" or "not testable at
    /// this profile".
    public var verdict: String {
        switch (holds, directionAgrees) {
        case (true?, _): return "held"
        case (false?, true?): return "not significant at α = \(Self.alpha) (the direction agrees)"
        case (false?, _): return "did NOT hold"
        case (nil, _): return "not testable at this profile"
        }
    }

    /// The significance level every claim test uses.
    public static let alpha = 0.05
}
