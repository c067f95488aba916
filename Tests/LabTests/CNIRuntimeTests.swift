import Foundation
import Lab
import Testing
import WeftNet

/// `CNIRuntime` against fake plugins: shell scripts that log every call (command, environment, stdin) and print
/// canned results or errors, run as real processes.
@Suite struct CNIRuntimeTests {
    static let resultA = #"{"cniVersion":"1.1.0","ips":[{"address":"10.22.0.5/16","gateway":"10.22.0.1"}]}"#
    static let resultB = #"""
        {"cniVersion":"1.1.0","interfaces":[{"name":"eth0","sandbox":"/run/netns/c1"}],
         "ips":[{"address":"10.22.0.5/16","gateway":"10.22.0.1","interface":0}]}
        """#
    static let twoPlugins = #"""
        {"cniVersion":"1.1.0","name":"weft","plugins":[
          {"type":"a","name":"ignored","cniVersion":"0.3.1","bridge":"weft0","ipam":{"type":"host-local"}},
          {"type":"b","capabilities":{"portMappings":true,"bandwidth":false},"extra":{"keep":[1,2]}}]}
        """#

    static let pod = CNIAttachment(
        containerID: "c1", networkNamespace: "/run/netns/c1", ifname: "eth0",
        args: [("K8S_POD_NAMESPACE", "default"), ("K8S_POD_NAME", "web")],
        capabilityArgs: [
            "portMappings": .array([.object(["hostPort": .number(8080), "containerPort": .number(80)])]),
            "bandwidth": .object(["ingressRate": .number(1000)]),
            "ipRanges": .array([]),
        ])

    static func pod(_ id: String) -> CNIAttachment {
        CNIAttachment(containerID: id, networkNamespace: "/run/netns/\(id)", ifname: "eth0")
    }

    @Test func addRunsPluginsInOrderChainingPrevResultAndCaches() async throws {
        let lab = try FakeCNI()
        defer { lab.remove() }
        try lab.config("10-weft.conflist", Self.twoPlugins)

        let result = try await lab.runtime.add(Self.pod)

        #expect(lab.calls() == ["a ADD c1", "b ADD c1"])
        #expect(result == (try JSONValue(parsing: Self.resultB)))
        let first = try lab.stdin("a", "ADD")
        #expect(first["prevResult"] == nil)
        #expect(first["name"] == .string("weft") && first["cniVersion"] == .string("1.1.0"))
        #expect(first["bridge"] == .string("weft0") && first["ipam"]?["type"] == .string("host-local"))
        let second = try lab.stdin("b", "ADD")
        #expect(second["prevResult"] == (try JSONValue(parsing: Self.resultA)))
        #expect(second["extra"] == .object(["keep": .array([.number(1), .number(2)])]))

        let environment = try lab.environment("a", "ADD")
        #expect(environment["CNI_COMMAND"] == "ADD")
        #expect(environment["CNI_CONTAINERID"] == "c1")
        #expect(environment["CNI_NETNS"] == "/run/netns/c1")
        #expect(environment["CNI_IFNAME"] == "eth0")
        #expect(environment["CNI_ARGS"] == "K8S_POD_NAMESPACE=default;K8S_POD_NAME=web")
        #expect(environment["CNI_PATH"] == "\(lab.root)/no-plugins-here:\(lab.root)/bin")
        #expect(environment["PATH"]?.isEmpty == false)

        // libcni's cache entry, field for field.
        let cache = try lab.cacheFile("weft-c1-eth0")
        #expect(cache["kind"] == .string("cniCacheV1"))
        #expect(cache["containerId"] == .string("c1") && cache["ifName"] == .string("eth0"))
        #expect(cache["networkName"] == .string("weft") && cache["netns"] == .string("/run/netns/c1"))
        #expect(cache["config"]?.stringValue.flatMap { Data(base64Encoded: $0) } == Data(Self.twoPlugins.utf8))
        #expect(
            cache["cniArgs"]
                == .array([
                    .array([.string("K8S_POD_NAMESPACE"), .string("default")]),
                    .array([.string("K8S_POD_NAME"), .string("web")]),
                ]))
        #expect(cache["capabilityArgs"] == .object(Self.pod.capabilityArgs))
        #expect(cache["result"] == result)
        #expect(lab.runtime.cachedResult(containerID: "c1", ifname: "eth0") == result)
        #expect(lab.runtime.cachedResult(containerID: "c1", ifname: "eth1") == nil)
    }

    @Test func runtimeConfigHoldsOnlyDeclaredCapabilities() async throws {
        let lab = try FakeCNI()
        defer { lab.remove() }
        try lab.config("10-weft.conflist", Self.twoPlugins)

        _ = try await lab.runtime.add(Self.pod)

        // b declares portMappings (true) and bandwidth (false); ipRanges nobody declares.
        let second = try lab.stdin("b", "ADD")
        #expect(second["runtimeConfig"] == .object(["portMappings": Self.pod.capabilityArgs["portMappings"]!]))
        #expect(second["capabilities"] == nil)
        // a declares nothing: no runtimeConfig at all.
        #expect(try lab.stdin("a", "ADD")["runtimeConfig"] == nil)
    }

    @Test func deleteRunsTheCachedConfigurationInReverseWithPrevResult() async throws {
        let lab = try FakeCNI()
        defer { lab.remove() }
        try lab.config("10-weft.conflist", Self.twoPlugins)
        let result = try await lab.runtime.add(Self.pod)
        // The administrator edits the list: another plugin, other capabilities.
        try lab.config("10-weft.conflist", #"{"cniVersion":"1.1.0","name":"weft","plugins":[{"type":"c"}]}"#)
        lab.clearCalls()

        // DEL of the same pod, given no CNI_ARGS: the cached ones are used.
        var pod = Self.pod
        pod.args = []
        pod.capabilityArgs = [:]
        try await lab.runtime.delete(pod)

        #expect(lab.calls() == ["b DEL c1", "a DEL c1"])
        for plugin in ["a", "b"] {
            let stdin = try lab.stdin(plugin, "DEL")
            #expect(stdin["prevResult"] == result)
            #expect(stdin["cniVersion"] == .string("1.1.0"))
        }
        #expect(try lab.stdin("b", "DEL")["runtimeConfig"]?["portMappings"] != nil)
        #expect(try lab.environment("a", "DEL")["CNI_ARGS"] == "K8S_POD_NAMESPACE=default;K8S_POD_NAME=web")
        #expect(!lab.cacheExists("weft-c1-eth0"))
        #expect(lab.runtime.cachedResult(containerID: "c1", ifname: "eth0") == nil)
    }

    @Test func deleteWorksAfterTheConfigurationVanished() async throws {
        let lab = try FakeCNI()
        defer { lab.remove() }
        try lab.config("10-weft.conflist", Self.twoPlugins)
        let result = try await lab.runtime.add(Self.pod)
        try FileManager.default.removeItem(atPath: "\(lab.configDirectory)/10-weft.conflist")
        lab.clearCalls()

        #expect(lab.runtime.cachedResult(containerID: "c1", ifname: "eth0") == result)
        try await lab.runtime.delete(Self.pod)

        #expect(lab.calls() == ["b DEL c1", "a DEL c1"])
        #expect(try lab.stdin("a", "DEL")["prevResult"] == result)
        #expect(!lab.cacheExists("weft-c1-eth0"))
        // Nothing cached and nothing configured: DEL cannot know the plugins.
        await #expect(throws: CNIRuntimeError.self) { try await lab.runtime.delete(Self.pod) }
    }

    @Test func deleteWithoutCacheRunsEveryPluginWithoutPrevResult() async throws {
        let lab = try FakeCNI()
        defer { lab.remove() }
        try lab.config("10-weft.conflist", Self.twoPlugins)

        try await lab.runtime.delete(Self.pod)
        try await lab.runtime.delete(Self.pod)  // DEL is idempotent

        #expect(lab.calls() == ["b DEL c1", "a DEL c1", "b DEL c1", "a DEL c1"])
        #expect(try lab.stdin("b", "DEL")["prevResult"] == nil)

        // A failing DEL stops the chain and names the plugin.
        try lab.fail("b", "DEL", #"{"cniVersion":"1.1.0","code":11,"msg":"try again later"}"#)
        lab.clearCalls()
        let error = try await #require(throws: CNIRuntimeError.self) { try await lab.runtime.delete(Self.pod) }
        #expect(error.plugin == "b" && error.command == "DEL" && error.code == 11)
        #expect(error.description == #"CNI plugin "b" failed (DEL): try again later (code 11)"#)
        #expect(lab.calls() == ["b DEL c1"])
    }

    @Test func addFailureDeletesTheWholeListAndThrowsThePluginError() async throws {
        let lab = try FakeCNI()
        defer { lab.remove() }
        try lab.config("10-weft.conflist", Self.twoPlugins)
        try lab.fail(
            "b", "ADD", #"{"cniVersion":"1.1.0","code":7,"msg":"invalid config","details":"no subnet"}"#)
        try lab.fail("a", "DEL", #"{"cniVersion":"1.1.0","code":999,"msg":"rollback failure is ignored"}"#)

        let error = try await #require(throws: CNIRuntimeError.self) { try await lab.runtime.add(Self.pod) }

        #expect(error.plugin == "b" && error.command == "ADD")
        #expect(error.code == 7 && error.message == "invalid config" && error.details == "no subnet")
        #expect(lab.calls() == ["a ADD c1", "b ADD c1", "b DEL c1", "a DEL c1"])
        #expect(try lab.stdin("a", "DEL")["prevResult"] == nil)
        #expect(!lab.cacheExists("weft-c1-eth0"))
    }

    @Test func failureWithoutErrorJSONReportsStderr() async throws {
        let lab = try FakeCNI()
        defer { lab.remove() }
        try lab.config("10-weft.conflist", Self.twoPlugins)
        try lab.fail("a", "ADD", "")

        let error = try await #require(throws: CNIRuntimeError.self) { try await lab.runtime.add(Self.pod) }
        #expect(error.plugin == "a" && error.code == nil && error.message == "a: ADD failed")

        try lab.fail("a", "ADD", "not json")
        let garbled = try await #require(throws: CNIRuntimeError.self) { try await lab.runtime.add(Self.pod) }
        #expect(garbled.message.contains("not a CNI error: not json") && garbled.details == "a: ADD failed")
    }

    @Test func checkRunsInOrderWithTheCachedResult() async throws {
        let lab = try FakeCNI()
        defer { lab.remove() }
        try lab.config("10-weft.conflist", Self.twoPlugins)

        let missing = try await #require(throws: CNIRuntimeError.self) { try await lab.runtime.check(Self.pod) }
        #expect(missing.command == "CHECK" && missing.message.contains("no cached result"))

        let result = try await lab.runtime.add(Self.pod)
        lab.clearCalls()
        try await lab.runtime.check(Self.pod)
        #expect(lab.calls() == ["a CHECK c1", "b CHECK c1"])
        #expect(try lab.stdin("a", "CHECK")["prevResult"] == result)
        #expect(try lab.stdin("b", "CHECK")["prevResult"] == result)

        try lab.fail("b", "CHECK", #"{"cniVersion":"1.1.0","code":100,"msg":"eth0 is missing"}"#)
        let failed = try await #require(throws: CNIRuntimeError.self) { try await lab.runtime.check(Self.pod) }
        #expect(failed.plugin == "b" && failed.command == "CHECK" && failed.code == 100)

        try lab.config(
            "10-weft.conflist", #"{"cniVersion":"1.1.0","name":"weft","disableCheck":true,"plugins":[{"type":"a"}]}"#)
        lab.clearCalls()
        try await lab.runtime.check(Self.pod)
        #expect(lab.calls().isEmpty)
    }

    @Test func garbageCollectSendsValidAttachmentsAndPrunesTheCache() async throws {
        let lab = try FakeCNI()
        defer { lab.remove() }
        try lab.config("10-weft.conflist", Self.twoPlugins)
        _ = try await lab.runtime.add(Self.pod("keep"))
        _ = try await lab.runtime.add(Self.pod("stale"))
        lab.clearCalls()

        try await lab.runtime.garbageCollect(valid: [Self.pod("keep"), Self.pod("gone")])

        // The stale attachment is deleted (its cached ADD), then every plugin gets GC.
        #expect(lab.calls() == ["b DEL stale", "a DEL stale", "a GC", "b GC"])
        #expect(lab.cacheExists("weft-keep-eth0") && !lab.cacheExists("weft-stale-eth0"))
        let valid = JSONValue.array(
            ["keep", "gone"].map { .object(["containerID": .string($0), "ifname": .string("eth0")]) })
        for plugin in ["a", "b"] {
            let stdin = try lab.stdin(plugin, "GC", containerID: "none", ifname: "none")
            #expect(stdin["cni.dev/valid-attachments"] == valid)
            #expect(stdin["name"] == .string("weft") && stdin["prevResult"] == nil)
            let environment = try lab.environment(plugin, "GC", containerID: "none", ifname: "none")
            #expect(environment["CNI_COMMAND"] == "GC" && environment["CNI_PATH"] != nil)
            #expect(["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_ARGS"].allSatisfy { environment[$0] == nil })
        }

        // GC failures do not stop the other plugins.
        try lab.fail("a", "GC", #"{"cniVersion":"1.1.0","code":5,"msg":"i/o"}"#)
        lab.clearCalls()
        let error = try await #require(throws: CNIRuntimeError.self) {
            try await lab.runtime.garbageCollect(valid: [Self.pod("keep")])
        }
        #expect(error.plugin == "a" && error.command == "GC" && error.code == 5)
        #expect(lab.calls() == ["a GC", "b GC"])
    }

    @Test func garbageCollectHonoursVersionAndDisableGC() async throws {
        let lab = try FakeCNI()
        defer { lab.remove() }
        try lab.config("10-weft.conflist", #"{"cniVersion":"1.0.0","name":"weft","plugins":[{"type":"a"}]}"#)
        _ = try await lab.runtime.add(Self.pod("stale"))
        lab.clearCalls()

        // Before 1.1.0 there is no GC verb; the cache is still pruned through DEL.
        try await lab.runtime.garbageCollect(valid: [])
        #expect(lab.calls() == ["a DEL stale"])
        #expect(!lab.cacheExists("weft-stale-eth0"))

        try lab.config(
            "10-weft.conflist", #"{"cniVersion":"1.1.0","name":"weft","disableGC":"true","plugins":[{"type":"a"}]}"#)
        _ = try await lab.runtime.add(Self.pod("stale"))
        lab.clearCalls()
        try await lab.runtime.garbageCollect(valid: [])
        #expect(lab.calls().isEmpty)
        #expect(lab.cacheExists("weft-stale-eth0"))
    }

    @Test func statusAsksEveryPluginOf11Lists() async throws {
        let lab = try FakeCNI()
        defer { lab.remove() }
        try lab.config("10-weft.conflist", Self.twoPlugins)

        try await lab.runtime.status()
        #expect(lab.calls() == ["a STATUS", "b STATUS"])
        let environment = try lab.environment("a", "STATUS", containerID: "none", ifname: "none")
        #expect(environment["CNI_CONTAINERID"] == nil)
        #expect(try lab.stdin("b", "STATUS", containerID: "none", ifname: "none")["name"] == .string("weft"))

        try lab.fail("a", "STATUS", #"{"cniVersion":"1.1.0","code":50,"msg":"not ready"}"#)
        lab.clearCalls()
        let error = try await #require(throws: CNIRuntimeError.self) { try await lab.runtime.status() }
        #expect(error.code == 50 && error.plugin == "a" && error.command == "STATUS")
        #expect(lab.calls() == ["a STATUS"])

        try lab.config("10-weft.conflist", #"{"cniVersion":"1.0.0","name":"weft","plugins":[{"type":"a"}]}"#)
        lab.clearCalls()
        try await lab.runtime.status()
        #expect(lab.calls().isEmpty)
    }

    @Test func singleConfIsWrappedAsAList() async throws {
        let lab = try FakeCNI()
        defer { lab.remove() }
        let conf = #"{"cniVersion":"1.0.0","name":"single","type":"a","bridge":"br0"}"#
        try lab.config("10-single.conf", conf)

        let list = try lab.runtime.loadNetwork()
        #expect(list.name == "single" && list.cniVersion == "1.0.0" && !list.disableGC && !list.disableCheck)
        #expect(list.plugins == [try JSONValue(parsing: conf)])
        #expect(try JSONValue(parsing: list.bytes)["plugins"] == .array([try JSONValue(parsing: conf)]))

        _ = try await lab.runtime.add(Self.pod)
        #expect(lab.calls() == ["a ADD c1"])
        let cached = try lab.cacheFile("single-c1-eth0")
        #expect(cached["config"]?.stringValue.flatMap { Data(base64Encoded: $0) } == Data(list.bytes))
        try await lab.runtime.delete(Self.pod)
        #expect(lab.calls() == ["a ADD c1", "a DEL c1"])
        #expect(try lab.stdin("a", "DEL")["prevResult"] == (try JSONValue(parsing: Self.resultA)))
    }

    @Test func firstConfigurationFileByNameWins() throws {
        let lab = try FakeCNI()
        defer { lab.remove() }
        try lab.config("20-b.conflist", #"{"cniVersion":"1.1.0","name":"b","plugins":[{"type":"b"}]}"#)
        try lab.config("30-c.json", #"{"cniVersion":"1.1.0","name":"c","type":"c"}"#)
        try lab.config("10-a.conf", #"{"cniVersion":"1.1.0","name":"a","type":"a"}"#)
        try lab.config("00-notes.txt", "not a configuration")
        try FileManager.default.createDirectory(
            atPath: "\(lab.configDirectory)/05-directory.conflist", withIntermediateDirectories: true)

        #expect(try lab.runtime.loadNetwork().name == "a")
        try FileManager.default.removeItem(atPath: "\(lab.configDirectory)/10-a.conf")
        #expect(try lab.runtime.loadNetwork().name == "b")
    }

    @Test func versionSelectionAndFlags() throws {
        let list = try CNINetworkList(
            conflist: Array(
                #"{"cniVersion":"1.0.0","cniVersions":["0.4.0","1.1.0","2.0.0"],"name":"n","disableCheck":"TRUE","plugins":[{"type":"a"}]}"#
                    .utf8))
        #expect(list.cniVersion == "1.1.0" && list.disableCheck && !list.disableGC)
        #expect(throws: CNIRuntimeError.self) {
            try CNINetworkList(conflist: Array(#"{"name":"n","plugins":[{"type":"a"}]}"#.utf8))
        }
        #expect(throws: CNIRuntimeError.self) {
            try CNINetworkList(conflist: Array(#"{"cniVersion":"1.1.0","name":"../n","plugins":[{"type":"a"}]}"#.utf8))
        }
        #expect(throws: CNIRuntimeError.self) {
            try CNINetworkList(conflist: Array(#"{"cniVersion":"1.1.0","name":"n","plugins":[{"bridge":"x"}]}"#.utf8))
        }
    }

    @Test func configurationErrorsAreClear() async throws {
        let lab = try FakeCNI()
        defer { lab.remove() }

        let empty = try #require(throws: CNIRuntimeError.self) { try lab.runtime.loadNetwork() }
        #expect(
            empty.description == "CNI: no network configuration (*.conflist, *.conf, *.json) in \(lab.configDirectory)")

        try lab.config("10-weft.conflist", #"{"cniVersion":"1.1.0","name":"weft","plugins":[{"type":"a"},]}"#)
        let invalid = try #require(throws: CNIRuntimeError.self) { try lab.runtime.loadNetwork() }
        #expect(
            invalid.message.hasPrefix("network configuration \(lab.configDirectory)/10-weft.conflist: invalid JSON"))
        await #expect(throws: CNIRuntimeError.self) { try await lab.runtime.add(Self.pod) }
        #expect(lab.calls().isEmpty)

        let missing = CNIRuntime(
            configDirectory: "\(lab.root)/nowhere", pluginDirectories: [], cacheDirectory: lab.cacheDirectory,
            execute: FakeCNI.run)
        let noDirectory = try #require(throws: CNIRuntimeError.self) { try missing.loadNetwork() }
        #expect(noDirectory.message == "the CNI configuration directory \(lab.root)/nowhere does not exist")

        try lab.config("10-weft.conflist", #"{"cniVersion":"1.1.0","name":"weft","plugins":[{"type":"nope"}]}"#)
        let notFound = try await #require(throws: CNIRuntimeError.self) { try await lab.runtime.add(Self.pod) }
        #expect(notFound.plugin == "nope" && notFound.command == "ADD" && notFound.message.contains("not found"))

        try lab.config("10-weft.conflist", #"{"cniVersion":"1.1.0","name":"weft","plugins":[{"type":"../bin/a"}]}"#)
        let path = try await #require(throws: CNIRuntimeError.self) { try await lab.runtime.add(Self.pod) }
        #expect(path.message.contains("must be a file name"))
        #expect(lab.calls().isEmpty)

        let badID = CNIAttachment(containerID: "../etc", networkNamespace: "/run/netns/x", ifname: "eth0")
        await #expect(throws: CNIRuntimeError.self) { try await lab.runtime.add(badID) }
        let badInterface = CNIAttachment(containerID: "c1", networkNamespace: "/run/netns/x", ifname: "a/b")
        await #expect(throws: CNIRuntimeError.self) { try await lab.runtime.delete(badInterface) }
    }

    @Test func concurrentAttachmentsKeepTheirOwnCache() async throws {
        let lab = try FakeCNI()
        defer { lab.remove() }
        try lab.config("10-weft.conflist", Self.twoPlugins)
        let ids = (0..<12).map { "pod\($0)" }

        try await withThrowingTaskGroup(of: Void.self) { group in
            for id in ids { group.addTask { _ = try await lab.runtime.add(Self.pod(id)) } }
            try await group.waitForAll()
        }
        #expect(ids.allSatisfy { lab.runtime.cachedResult(containerID: $0, ifname: "eth0") != nil })
        #expect(lab.calls().count == 24)

        try await withThrowingTaskGroup(of: Void.self) { group in
            for id in ids { group.addTask { try await lab.runtime.delete(Self.pod(id)) } }
            try await group.waitForAll()
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(lab.cacheDirectory)/results").isEmpty)
        #expect(lab.calls().count == 48)
    }
}

/// A throwaway CNI setup in a temporary directory: configuration, plugins (`a`, `b`, `c`) and cache, and a log
/// where each plugin call leaves its stdin, its environment and a line `TYPE COMMAND [CONTAINERID]`.
private struct FakeCNI: Sendable {
    let root: String
    let runtime: CNIRuntime
    var configDirectory: String { "\(root)/net.d" }
    var cacheDirectory: String { "\(root)/cache" }
    var logDirectory: String { "\(root)/log" }

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("cni-runtime-\(UUID().uuidString)").path
        let manager = FileManager.default
        for directory in ["net.d", "bin", "log", "no-plugins-here"] {
            try manager.createDirectory(atPath: "\(root)/\(directory)", withIntermediateDirectories: true)
        }
        runtime = CNIRuntime(
            configDirectory: "\(root)/net.d", pluginDirectories: ["\(root)/no-plugins-here", "\(root)/bin"],
            cacheDirectory: "\(root)/cache", execute: Self.run)
        for (plugin, result) in [("a", CNIRuntimeTests.resultA), ("b", CNIRuntimeTests.resultB), ("c", "{}")] {
            try write("\(root)/log/result-\(plugin)", result)
            let script = """
                #!/bin/sh
                log='\(root)/log'
                key="\(plugin).$CNI_COMMAND.${CNI_CONTAINERID:-none}.${CNI_IFNAME:-none}"
                cat > "$log/$key.stdin"
                env > "$log/$key.env"
                echo "\(plugin) $CNI_COMMAND${CNI_CONTAINERID:+ $CNI_CONTAINERID}" >> "$log/calls"
                if [ -f "$log/fail-\(plugin)-$CNI_COMMAND" ]; then
                    cat "$log/fail-\(plugin)-$CNI_COMMAND"
                    echo "\(plugin): $CNI_COMMAND failed" >&2
                    exit 1
                fi
                if [ "$CNI_COMMAND" = ADD ]; then cat "$log/result-\(plugin)"; fi
                """
            try write("\(root)/bin/\(plugin)", script)
            try manager.setAttributes([.posixPermissions: 0o755], ofItemAtPath: "\(root)/bin/\(plugin)")
        }
    }

    func remove() { try? FileManager.default.removeItem(atPath: root) }

    func config(_ name: String, _ text: String) throws { try write("\(configDirectory)/\(name)", text) }

    /// Makes `plugin` print `stdout` (and a line on stderr) and exit 1 on `command`.
    func fail(_ plugin: String, _ command: String, _ stdout: String) throws {
        try write("\(logDirectory)/fail-\(plugin)-\(command)", stdout)
    }

    func calls() -> [String] {
        let text = (try? String(contentsOfFile: "\(logDirectory)/calls", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").map(String.init)
    }

    func clearCalls() { try? FileManager.default.removeItem(atPath: "\(logDirectory)/calls") }

    func stdin(_ plugin: String, _ command: String, containerID: String = "c1", ifname: String = "eth0") throws
        -> JSONValue
    {
        try JSONValue(parsing: read("\(logDirectory)/\(plugin).\(command).\(containerID).\(ifname).stdin"))
    }

    func environment(_ plugin: String, _ command: String, containerID: String = "c1", ifname: String = "eth0")
        throws -> [String: String]
    {
        let text = String(
            decoding: try read("\(logDirectory)/\(plugin).\(command).\(containerID).\(ifname).env"), as: UTF8.self)
        var environment: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            environment[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        return environment
    }

    func cacheFile(_ name: String) throws -> JSONValue {
        try JSONValue(parsing: read("\(cacheDirectory)/results/\(name)"))
    }

    func cacheExists(_ name: String) -> Bool {
        FileManager.default.fileExists(atPath: "\(cacheDirectory)/results/\(name)")
    }

    private func read(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else { throw CocoaError(.fileReadNoSuchFile) }
        return Array(data)
    }

    private func write(_ path: String, _ text: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    /// Runs a plugin as a real process with exactly the call's environment and stdin. Through `/bin/sh SCRIPT`
    /// rather than executing the script itself: a script written moments ago can still be open for writing in a
    /// child another test is forking, and executing it would then fail with ETXTBSY. The blocking waits run on
    /// threads of their own: on Dispatch's small global pool, a dozen concurrent plugins took seconds.
    @Sendable static func run(_ call: CNIPluginCall) async throws -> CNIPluginOutput {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread { continuation.resume(with: Result { try runBlocking(call) }) }
        }
    }

    private static func runBlocking(_ call: CNIPluginCall) throws -> CNIPluginOutput {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = [call.path]
        process.environment = call.environment
        let input = Pipe()
        let output = Pipe()
        let errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let stderr = Collected()
        let group = DispatchGroup()
        group.enter()
        Thread.detachNewThread {
            stderr.set(errors.fileHandleForReading.readDataToEndOfFile())
            group.leave()
        }
        try input.fileHandleForWriting.write(contentsOf: call.stdin)
        try input.fileHandleForWriting.close()
        let stdout = output.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return CNIPluginOutput(exitStatus: process.terminationStatus, stdout: Array(stdout), stderr: stderr.bytes)
    }
}

/// Bytes read on another thread (stderr, read while stdout is).
private final class Collected: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()

    func set(_ data: Data) { lock.withLock { self.data = data } }
    var bytes: [UInt8] { lock.withLock { Array(data) } }
}
