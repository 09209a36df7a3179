import Foundation
import Formats
import Networks

/// Networks with given weights (trained checkpoints, or an imported file's own weights) that a
/// geometry averages over in place of fresh initialisations: G = (1/K) Σ_k E_{t, x}[F_k Fₖᵀ],
/// draw n using instance n mod K with its own timestep and probe draws.
public struct TrainedInstances: Sendable {
    /// One network and what identifies it in the run (the file name and its content hash).
    public struct Instance: Sendable {
        public var name: String
        public var sha256: String
        public var network: ScoreNetwork

        public init(name: String, sha256: String, network: ScoreNetwork) {
            self.name = name
            self.sha256 = sha256
            self.network = network
        }
    }

    public let instances: [Instance]

    public init(_ instances: [Instance]) throws {
        try Self.checkCount(instances.count)
        self.instances = instances
    }

    /// 1…`GeometrySpec.maxTrainedInstances` networks (each is held in memory).
    static func checkCount(_ count: Int) throws {
        guard (1...GeometrySpec.maxTrainedInstances).contains(count) else {
            throw SettingError(
                setting: "checkpoint", expected: "1…\(GeometrySpec.maxTrainedInstances) trained networks",
                found: "\(count)")
        }
    }

    /// Networks that are not files of their own (an imported file's own weights): each is
    /// identified by the SHA-256 of its parameter values (Float32, declaration order).
    public init(named networks: [(name: String, network: ScoreNetwork)]) throws {
        try self.init(
            networks.map { named in
                var bytes: [UInt8] = []
                for spec in named.network.parameters.specs {
                    bytes += (spec.name + "\u{0}").utf8
                    for v in named.network.parameters.values[spec.name]!.data {
                        withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes += $0 }
                    }
                }
                return Instance(name: named.name, sha256: SHA256.hex(bytes), network: named.network)
            })
    }

    /// Loads `sad train` checkpoints (reference parameter names; optimiser state is ignored)
    /// for `architecture`: every parameter must be present, of its shape and finite.
    public static func load(
        checkpoints paths: [String], architecture: any ScoreArchitecture
    ) throws
        -> TrainedInstances
    {
        try checkCount(paths.count)  // before any file is read
        return try TrainedInstances(
            paths.map { path in
                let bytes = try AtomicFile.read(path)
                let network = try ScoreNetwork(architecture, checkpoint: try SafeTensors.read(path))
                return Instance(
                    name: URL(fileURLWithPath: path).lastPathComponent, sha256: SHA256.hex(bytes), network: network)
            })
    }

    /// The identity lines of `GeometrySpec.trained`.
    public var identity: [String] { instances.map { "\($0.name)=\($0.sha256)" } }

    public var networks: [ScoreNetwork] { instances.map(\.network) }
}

extension GeometryJob {
    /// The geometry of given networks: `spec` (made for their architecture by one of the
    /// `GeometryRun.makeSpec` forms) turned into a trained-instance estimate, refusing what
    /// only holds at initialisation (``GeometrySpec/useTrained(_:structure:)``).
    public static func trained(
        spec: GeometrySpec, architecture: any ScoreArchitecture, instances: TrainedInstances,
        structure: GeometryStructure
    ) throws -> GeometryJob {
        for instance in instances.instances where instance.network.architecture.inputShape != architecture.inputShape {
            throw SettingError(
                setting: "checkpoint", expected: "networks on \(architecture.inputShape)",
                found: "\(instance.name) on \(instance.network.architecture.inputShape)")
        }
        var spec = spec
        try spec.useTrained(instances.identity, structure: structure)
        return GeometryJob(spec: spec, source: .trained(architecture, instances.networks))
    }
}
