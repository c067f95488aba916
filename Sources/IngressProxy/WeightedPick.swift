/// Picks among weighted choices from a number the caller draws, so a test can walk every draw.
public enum WeightedPick {
    /// The index `draw` falls on when the weights are laid end to end: with weights `[70, 30]`, draws `0..<70`
    /// pick 0 and `70..<100` pick 1. Entries of weight ≤ 0 are never picked; `nil` when no weight is positive.
    /// `draw` is reduced modulo the total, so any non-negative number will do.
    public static func index(weights: [Int], draw: UInt64) -> Int? {
        let total = weights.reduce(UInt64(0)) { $0 + UInt64(max($1, 0)) }
        guard total > 0 else { return nil }
        var point = draw % total
        for (index, weight) in weights.enumerated() where weight > 0 {
            if point < UInt64(weight) { return index }
            point -= UInt64(weight)
        }
        return nil
    }

    /// `index(weights:draw:)` with a draw from `generator`.
    public static func index(weights: [Int], using generator: inout some RandomNumberGenerator) -> Int? {
        index(weights: weights, draw: generator.next())
    }
}
