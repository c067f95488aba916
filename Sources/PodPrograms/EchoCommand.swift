import NIOCore

/// The message protocol of agnhost netexec's UDP and SCTP servers, shared by `weft serve`'s.
///
/// A message is trimmed of surrounding white space (agnhost's `connect` sends `hostname\n`) and its command word is
/// matched without regard to case: `hostname` answers the pod's name, `echo X` answers `X` (unlike agnhost, which
/// lower-cases it, `X` keeps its case), `clientip` answers the sender's `ip:port`. Anything else gets no answer.
enum EchoCommand {
    static func reply(to message: String, podName: String, client: SocketAddress?) -> String? {
        var text = Substring(message)
        while text.first?.isWhitespace == true { text.removeFirst() }
        while text.last?.isWhitespace == true { text.removeLast() }
        let command = text.lowercased()
        if command == "hostname" { return podName }
        if command == "clientip" { return client?.clientText ?? "" }
        if command.hasPrefix("echo ") { return String(text.dropFirst(5)) }
        return nil
    }
}
