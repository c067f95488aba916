/// Builds Prometheus' text exposition format (0.0.4): `# HELP` and `# TYPE` once per metric, then its samples.
public struct PrometheusText: Sendable {
    public private(set) var text = ""

    public init() {}

    /// A metric with one unlabelled sample.
    public mutating func metric(_ name: String, type: String, help: String, value: String) {
        header(name, type: type, help: help)
        text += "\(name) \(value)\n"
    }

    /// A metric's `# HELP` and `# TYPE` lines; its samples follow through ``sample(_:labels:_:)``.
    public mutating func header(_ name: String, type: String, help: String) {
        text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
    }

    public mutating func sample(_ name: String, labels: [(String, String)] = [], _ value: String) {
        text += name + Self.labels(labels) + " " + value + "\n"
    }

    /// A histogram metric, one series per label set.
    public mutating func histogram(
        _ name: String, help: String, series: [(labels: [(String, String)], PrometheusHistogram)]
    ) {
        header(name, type: "histogram", help: help)
        for (labels, histogram) in series {
            var cumulative = 0
            for (bound, count) in zip(histogram.bounds, histogram.counts) {
                cumulative += count
                sample(name + "_bucket", labels: labels + [("le", Self.number(bound))], "\(cumulative)")
            }
            sample(name + "_bucket", labels: labels + [("le", "+Inf")], "\(histogram.count)")
            sample(name + "_sum", labels: labels, Self.number(histogram.sum))
            sample(name + "_count", labels: labels, "\(histogram.count)")
        }
    }

    /// A number as Prometheus writes it: integers without a fraction.
    public static func number(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return "\(Int(value))" }
        return "\(value)"
    }

    private static func labels(_ labels: [(String, String)]) -> String {
        guard !labels.isEmpty else { return "" }
        let pairs = labels.map { name, value in
            let escaped = value.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"")
                .replacing("\n", with: "\\n")
            return "\(name)=\"\(escaped)\""
        }
        return "{" + pairs.joined(separator: ",") + "}"
    }
}

/// A histogram's observations counted into buckets (each count is of its bucket alone; the text is cumulative).
public struct PrometheusHistogram: Sendable {
    public let bounds: [Double]
    public private(set) var counts: [Int]
    public private(set) var sum = 0.0
    public private(set) var count = 0

    /// `bounds` are the buckets' upper bounds, ascending.
    public init(bounds: [Double]) {
        self.bounds = bounds
        counts = Array(repeating: 0, count: bounds.count)
    }

    public mutating func observe(_ value: Double) {
        if let index = bounds.firstIndex(where: { value <= $0 }) { counts[index] += 1 }
        sum += value
        count += 1
    }

    /// `count` bounds from `start`, each `factor` times the one before (Prometheus' `ExponentialBuckets`).
    public static func exponential(start: Double, factor: Double, count: Int) -> [Double] {
        (0..<count).map { start * pow(factor, $0) }
    }

    private static func pow(_ base: Double, _ exponent: Int) -> Double {
        (0..<exponent).reduce(1.0) { result, _ in result * base }
    }
}

extension Duration {
    /// The duration in seconds, as Prometheus writes durations.
    public var inSeconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
