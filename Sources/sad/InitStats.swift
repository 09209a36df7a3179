import ArgumentParser
import Networks

struct InitStats: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init-stats",
        abstract: "Parameter counts and E‖ε̂(0, t)‖² over fresh networks at initialisation.")

    @OptionGroup var network: NetworkOptions
    @OptionGroup var threadOptions: ThreadOptions

    @Option(help: "Number of fresh networks.")
    var networks = 2000

    @Option(help: "Timestep of the probe ε̂(0, t).")
    var timestep = 0

    @Option(help: "Seed of the initialisation streams.")
    var seed: UInt64 = 0

    func validate() throws {
        try Check.range(networks, 2...Check.maxCount, "--networks")
        try Check.range(timestep, 0...100_000, "--timestep")
    }

    func run() throws {
        try threadOptions.apply()
        let config = try network.load()
        let stats = try InitStatistics.measure(
            config: config, networks: networks, seed: seed, timestep: timestep,
            scheme: network.initScheme)
        print("\(config.summary), init \(network.initScheme)")
        print(stats)
    }
}
