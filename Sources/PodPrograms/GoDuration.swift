/// Durations written the way Go's `time.ParseDuration` reads them (`500ms`, `1s`, `1.5s`, `2m`, `1h30m`), so that
/// command lines copied from Kubernetes e2e tests (agnhost's `--timeout`) work unchanged.
///
/// A duration is an optional sign followed by one or more decimal numbers, each with an optional fraction and a
/// unit: `ns`, `us` (or `µs`/`μs`), `ms`, `s`, `m`, `h`. `0` alone needs no unit.
public enum GoDuration {
    /// The reason a text is not a duration.
    public struct ParseError: Error, Equatable, CustomStringConvertible {
        /// The text that failed to parse.
        public var text: String
        /// What is wrong with it.
        public var reason: String

        public var description: String { "invalid duration \"\(text)\": \(reason)" }
    }

    private static let nanosecondsPerUnit: [String: Int64] = [
        "ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000,
        "s": 1_000_000_000, "m": 60_000_000_000, "h": 3_600_000_000_000,
    ]

    /// Parses `text` into a `Duration`, to the nanosecond, rejecting anything Go would reject (and values beyond
    /// Go's ±292 years).
    public static func parse(_ text: String) throws(ParseError) -> Duration {
        func fail(_ reason: String) -> ParseError { ParseError(text: text, reason: reason) }
        var rest = Substring(text)
        var negative = false
        if let sign = rest.first, sign == "-" || sign == "+" {
            negative = sign == "-"
            rest = rest.dropFirst()
        }
        if rest == "0" { return .zero }
        guard !rest.isEmpty else { throw fail("empty") }
        var total: Int64 = 0
        while !rest.isEmpty {
            let whole = rest.prefix(while: \.isASCIIDigit)
            rest = rest.dropFirst(whole.count)
            var fraction = Substring()
            if rest.first == "." {
                rest = rest.dropFirst()
                fraction = rest.prefix(while: \.isASCIIDigit)
                rest = rest.dropFirst(fraction.count)
            }
            guard !whole.isEmpty || !fraction.isEmpty else { throw fail("expected a number") }
            let unitText = rest.prefix { !$0.isASCIIDigit && $0 != "." }
            rest = rest.dropFirst(unitText.count)
            guard !unitText.isEmpty else { throw fail("missing unit") }
            guard let unit = nanosecondsPerUnit[String(unitText)] else { throw fail("unknown unit \"\(unitText)\"") }
            guard let value = scaled(whole: whole, fraction: fraction, unit: unit) else { throw fail("out of range") }
            let (sum, overflow) = total.addingReportingOverflow(value)
            guard !overflow else { throw fail("out of range") }
            total = sum
        }
        return .nanoseconds(negative ? -total : total)
    }

    /// `whole.fraction × unit` in nanoseconds, truncated as Go does; nil on overflow.
    private static func scaled(whole: Substring, fraction: Substring, unit: Int64) -> Int64? {
        var value: Int64 = 0
        for digit in whole {
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (next, o2) = times10.addingReportingOverflow(Int64(digit.asciiValue! - 48))
            guard !o1, !o2 else { return nil }
            value = next
        }
        let (product, overflow) = value.multipliedReportingOverflow(by: unit)
        guard !overflow else { return nil }
        var fractional: Int64 = 0
        var scale = unit
        for digit in fraction where scale > 1 {
            scale /= 10
            fractional += Int64(digit.asciiValue! - 48) * scale
        }
        let (sum, o3) = product.addingReportingOverflow(fractional)
        return o3 ? nil : sum
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
