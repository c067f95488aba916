/// Exponential backoff between reconnection attempts: `initial · multiplier^attempt`, capped at `maximum`, with
/// up to `jitter` (a fraction) added at random.
public struct Backoff: Sendable, Hashable {
    public var initial: Duration
    public var maximum: Duration
    public var multiplier: Double
    public var jitter: Double

    public init(
        initial: Duration = .milliseconds(500), maximum: Duration = .seconds(30), multiplier: Double = 2,
        jitter: Double = 0.1
    ) {
        self.initial = initial
        self.maximum = maximum
        self.multiplier = multiplier
        self.jitter = jitter
    }

    /// The delay before attempt `attempt` (0 for the first retry).
    public func delay(attempt: Int) -> Duration {
        let base = initial * Self.power(multiplier, attempt)
        let capped = base > maximum ? maximum : base
        guard jitter > 0 else { return capped }
        return capped * (1 + Double.random(in: 0...jitter))
    }

    private static func power(_ x: Double, _ n: Int) -> Double {
        var r = 1.0
        for _ in 0..<min(max(n, 0), 64) {
            r *= x
            if r > 1e9 { break }
        }
        return r
    }
}
