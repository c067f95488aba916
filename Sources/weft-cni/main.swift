import CNI
import Glibc

// weft-cni: a CNI 1.1 plugin. Installed as `weft-ipam` (a link to this binary) it is an IPAM plugin.
var environment: [String: String] = [:]
var envp = environ
while let entry = envp.pointee {
    let s = String(cString: entry)
    if let eq = s.firstIndex(of: "=") {
        environment[String(s[..<eq])] = String(s[s.index(after: eq)...])
    }
    envp += 1
}
var input: [UInt8] = []
var buffer = [UInt8](repeating: 0, count: 65536)
while true {
    let n = buffer.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
    if n < 0 && errno == EINTR { continue }
    if n <= 0 { break }
    input += buffer[0..<n]
}
/// The plugin; as `weft-cni` (not `weft-ipam`) with the secondary networks of `multiNetwork` in its config.
func runPlugin(_ environment: [String: String], _ input: [UInt8]) async -> Plugin.Output {
    let plugin = Plugin(role: Plugin.role(forExecutable: CommandLine.arguments.first ?? "weft-cni"))
    guard plugin.role == .network else { return plugin.run(environment: environment, stdin: input) }
    return await MultiNetworkPlugin(primary: { plugin.run(environment: $0, stdin: $1) })
        .run(environment: environment, stdin: input)
}
let output = await runPlugin(environment, input)
func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
    var off = 0
    while off < bytes.count {
        let n = bytes[off...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { return }
        off += n
    }
}
writeAll(1, output.stdout)
writeAll(2, output.stderr)
exit(output.exitCode)
