/// A `weft probe` command line that makes no sense (exit 3).
public struct ProbeUsageError: Error, Equatable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) { self.description = description }

    /// The result the command reports for it.
    public var result: ProbeResult { .failed("UNKNOWN: \(description)") }
}
