/// The `nameserver` lines of a resolv.conf (resolv.conf(5)): the upstreams `weft dns` forwards to by default.
public enum ResolvConf {
    public static func nameservers(_ text: String) -> [Upstream] {
        text.split(whereSeparator: \.isNewline).compactMap { line in
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard words.count >= 2, words[0] == "nameserver" else { return nil }
            // A scoped IPv6 address (fe80::1%eth0) keeps its scope.
            return Upstream(host: String(words[1]), port: 53)
        }
    }
}
