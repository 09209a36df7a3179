import Dispatch

/// Wall-clock timing for benchmarks: best of several repetitions after a warm-up, which
/// is the figure least disturbed by other processes on a shared machine.
public enum Stopwatch {
    public static func seconds(_ body: () -> Void) -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
    }

    /// Best time over `repetitions` runs, after one untimed warm-up run.
    public static func best(repetitions: Int = 3, warmUp: Bool = true, _ body: () -> Void) -> Double {
        if warmUp { body() }
        var best = Double.infinity
        for _ in 0..<max(1, repetitions) { best = min(best, seconds(body)) }
        return best
    }
}
