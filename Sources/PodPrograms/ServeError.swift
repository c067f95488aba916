/// Why `weft serve` could not start.
public struct ServeError: Error, Equatable, CustomStringConvertible {
    public var description: String

    init(_ description: String) { self.description = description }
}
