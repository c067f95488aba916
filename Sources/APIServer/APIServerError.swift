/// What can go wrong starting or running the API server (request errors are answered as `Status` instead).
public enum APIServerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A file in the data directory could not be written.
    case cannotWrite(path: String)
    /// `tokens.csv` has a malformed line.
    case malformedTokenFile(path: String, line: Int)
    /// The listen address is not `host:port`.
    case invalidListenAddress(String)
    /// `start()` was called twice, or `run()` after `start()`.
    case alreadyStarted
    /// The server stopped before it reported its address.
    case failedToStart(String)

    public var description: String {
        switch self {
        case .cannotWrite(let path): "cannot write \(path)"
        case .malformedTokenFile(let path, let line): "\(path):\(line): expected token,user,uid[,\"group1,group2\"]"
        case .invalidListenAddress(let text): "invalid listen address \"\(text)\" (want host:port)"
        case .alreadyStarted: "the API server is already started"
        case .failedToStart(let why): "the API server failed to start: \(why)"
        }
    }
}
