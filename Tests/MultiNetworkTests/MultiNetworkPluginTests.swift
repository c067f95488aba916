import CNI
import Foundation
import Synchronization
import Testing
import WeftNet

/// Fake plugins for `MultiNetworkPlugin`: one shell script under several names in a bin directory. Each call is
/// logged (`TYPE COMMAND IFNAME CONTAINERID`) with its stdin and environment; a `fail-TYPE-COMMAND` file makes
/// that call print a CNI error. ADD prints a result naming the plugin in `dns.nameservers`, so chaining shows.
final class FakePlugins: Sendable {
    let root: String
    var bin: String { root + "/bin" }

    static let script = #"""
        #!/bin/sh
        d="$(dirname "$0")/.."
        t="$(basename "$0")"
        in="$(cat)"
        echo "$t $CNI_COMMAND $CNI_IFNAME $CNI_CONTAINERID" >> "$d/calls"
        printf '%s' "$in" > "$d/stdin-$t-$CNI_COMMAND-$CNI_IFNAME"
        env > "$d/env-$t-$CNI_COMMAND-$CNI_IFNAME"
        if [ -e "$d/fail-$t-$CNI_COMMAND" ]; then
          echo "{\"cniVersion\":\"1.0.0\",\"code\":11,\"msg\":\"$t refuses $CNI_COMMAND\"}"
          exit 1
        fi
        if [ "$CNI_COMMAND" = ADD ]; then
          echo "{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"$CNI_IFNAME\",\"sandbox\":\"$CNI_NETNS\",\"mac\":\"02:00:00:00:00:0$(printf %s "$t" | wc -c)\"}],\"ips\":[{\"address\":\"10.9.0.$(printf %s "$t" | wc -c)/24\",\"interface\":0}],\"dns\":{\"nameservers\":[\"$t\"]}}"
        fi
        """#

    init(types: [String] = ["a", "bb", "ccc"]) throws {
        root = NSTemporaryDirectory() + "wf-mn-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: root + "/bin", withIntermediateDirectories: true)
        let script = root + "/fake"
        try Self.script.write(toFile: script, atomically: true, encoding: .utf8)
        chmod(script, 0o755)
        for t in types {
            try FileManager.default.createSymbolicLink(atPath: bin + "/" + t, withDestinationPath: script)
        }
        FileManager.default.createFile(atPath: root + "/calls", contents: Data())
    }

    func remove() { try? FileManager.default.removeItem(atPath: root) }

    func calls() -> [String] {
        ((try? String(contentsOfFile: root + "/calls", encoding: .utf8)) ?? "").split(separator: "\n").map {
            $0.trimmingCharacters(in: .whitespaces)
        }
    }

    func clearCalls() { FileManager.default.createFile(atPath: root + "/calls", contents: Data()) }

    /// The in-process cluster network logs into the same file, so the order across both shows.
    func log(_ line: String) {
        let handle = FileHandle(forWritingAtPath: root + "/calls")!
        handle.seekToEndOfFile()
        handle.write(Data((line + "\n").utf8))
        handle.closeFile()
    }

    func fail(_ type: String, _ command: String, _ on: Bool = true) {
        let path = root + "/fail-\(type)-\(command)"
        if on { FileManager.default.createFile(atPath: path, contents: Data()) } else { unlink(path) }
    }

    func stdin(_ type: String, _ command: String, _ ifname: String) throws -> JSONValue {
        try JSONValue(
            parsing: try String(contentsOfFile: root + "/stdin-\(type)-\(command)-\(ifname)", encoding: .utf8))
    }

    func environment(_ type: String, _ command: String, _ ifname: String) throws -> [String: String] {
        var out: [String: String] = [:]
        for line in try String(contentsOfFile: root + "/env-\(type)-\(command)-\(ifname)", encoding: .utf8)
            .split(separator: "\n")
        {
            let kv = line.split(separator: "=", maxSplits: 1)
            if kv.count == 2 { out[String(kv[0])] = String(kv[1]) }
        }
        return out
    }
}

/// The agent, faked: a canned answer to `resolve`, the reports kept.
final class FakeAgent: MultiNetworkAgentLink, Sendable {
    let answer: Mutex<Result<ResolveResponse, MultiNetworkProtocolError>>
    let reportFails: Bool
    let reports = Mutex<[(results: [AttachmentOutcome], error: String?)]>([])
    let resolved = Mutex<[PodReference]>([])

    init(_ answer: ResolveResponse, reportFails: Bool = false) {
        self.answer = Mutex(.success(answer))
        self.reportFails = reportFails
    }

    init(unreachable: String) {
        answer = Mutex(.failure(MultiNetworkProtocolError(unreachable)))
        reportFails = true
    }

    func resolve(_ pod: PodReference, clusterInterface: String) throws(MultiNetworkProtocolError) -> ResolveResponse {
        resolved.withLock { $0.append(pod) }
        return try answer.withLock { $0 }.get()
    }

    func report(_ pod: PodReference, clusterNetwork: String, results: [AttachmentOutcome], error: String?)
        throws(MultiNetworkProtocolError)
    {
        if reportFails { throw MultiNetworkProtocolError("agent socket: connect: No such file or directory") }
        reports.withLock { $0.append((results, error)) }
    }
}

@Suite struct MultiNetworkPluginTests {
    static let primaryResult =
        #"{"cniVersion":"1.1.0","interfaces":[{"name":"eth0","sandbox":"/run/netns/p"}],"ips":[{"address":"10.244.1.5/24","interface":0}]}"#

    static func step(_ index: Int, _ ifname: String, plugins: [String], name: String) -> AttachmentStep {
        let list: JSONValue = .object([
            "cniVersion": .string("1.0.0"), "name": .string(name),
            "plugins": .array(plugins.map { .object(["type": .string($0), "flag": .string($0)]) }),
        ])
        return AttachmentStep(
            index: index, attachment: "team/\(name)", networkName: name, cniVersion: "1.0.0", ifname: ifname,
            conflist: list,
            cniArgs: [
                CNIArg("IgnoreUnknown", "true"), CNIArg("K8S_POD_NAMESPACE", "team"), CNIArg("K8S_POD_NAME", "web"),
            ],
            capabilityArgs: ["mac": .string("02:00:00:00:00:99")])
    }

    /// net1 = a then bb (a chained list), net2 = ccc.
    static let plan = AttachmentPlan(
        attachments: [
            step(1, "net1", plugins: ["a", "bb"], name: "one"), step(2, "net2", plugins: ["ccc"], name: "two"),
        ])

    static func config(_ fake: FakePlugins, section: Bool = true) -> [UInt8] {
        var o: [String: JSONValue] = [
            "cniVersion": .string("1.1.0"), "name": .string("weft"), "type": .string("weft-cni"),
        ]
        if section {
            o["multiNetwork"] = .object([
                "socket": .string(fake.root + "/no.sock"), "slotDirectory": .string(fake.root + "/slots"),
                "stateDir": .string(fake.root + "/state"), "maxConcurrent": .number(2),
                "connectWaitSeconds": .number(1),
            ])
        }
        return JSONValue.object(o).serialized()
    }

    static func environment(_ fake: FakePlugins, _ command: String, id: String = "c1") -> [String: String] {
        [
            "CNI_COMMAND": command, "CNI_CONTAINERID": id, "CNI_NETNS": "/run/netns/p", "CNI_IFNAME": "eth0",
            "CNI_PATH": fake.bin, "PATH": "/usr/bin:/bin",
            "CNI_ARGS": "IgnoreUnknown=1;K8S_POD_NAMESPACE=team;K8S_POD_NAME=web;K8S_POD_UID=u1",
        ]
    }

    static func plugin(_ fake: FakePlugins, _ agent: FakeAgent, primaryFails: Set<String> = []) -> MultiNetworkPlugin {
        MultiNetworkPlugin(
            primary: { env, _ in
                let command = env["CNI_COMMAND"] ?? ""
                fake.log("primary \(command) \(env["CNI_IFNAME"] ?? "") \(env["CNI_CONTAINERID"] ?? "")")
                if primaryFails.contains(command) {
                    return Plugin.Output(status: 1, stdout: Array(#"{"code":101,"msg":"primary refuses"}"#.utf8))
                }
                return Plugin.Output(status: 0, stdout: command == "ADD" ? Array(Self.primaryResult.utf8) : [])
            }, agent: { _ in agent }, log: { _ in })
    }

    static func message(_ out: Plugin.Output) -> String {
        (try? JSONValue(parsing: out.stdout))?["msg"]?.stringValue ?? ""
    }

    @Test func addRunsTheClusterNetworkThenEachListInOrder() async throws {
        let fake = try FakePlugins()
        defer { fake.remove() }
        let agent = FakeAgent(.plan(Self.plan))
        let out = await Self.plugin(fake, agent).run(
            environment: Self.environment(fake, "ADD"), stdin: Self.config(fake))

        #expect(out.exitCode == 0)
        #expect(out.stdout == Array(Self.primaryResult.utf8))
        #expect(fake.calls() == ["primary ADD eth0 c1", "a ADD net1 c1", "bb ADD net1 c1", "ccc ADD net2 c1"])
        #expect(
            agent.resolved.withLock { $0 } == [
                PodReference(namespace: "team", name: "web", uid: "u1", containerID: "c1")
            ])

        // Within a list, prevResult chains; across lists it does not.
        let first = try fake.stdin("a", "ADD", "net1")
        #expect(first["prevResult"] == nil && first["name"] == .string("one") && first["flag"] == .string("a"))
        #expect(try fake.stdin("bb", "ADD", "net1")["prevResult"]?["dns"]?["nameservers"] == .array([.string("a")]))
        #expect(try fake.stdin("ccc", "ADD", "net2")["prevResult"] == nil)
        // The attachment's interface and arguments; no capability declared, so no runtimeConfig.
        let env = try fake.environment("ccc", "ADD", "net2")
        #expect(env["CNI_IFNAME"] == "net2" && env["CNI_NETNS"] == "/run/netns/p" && env["CNI_CONTAINERID"] == "c1")
        #expect(env["CNI_ARGS"] == "IgnoreUnknown=true;K8S_POD_NAMESPACE=team;K8S_POD_NAME=web")
        #expect(first["runtimeConfig"] == nil)

        // Saved for DEL; reported for the annotation, cluster network first.
        let saved = try #require(
            try SavedPlanStore(directory: fake.root + "/state").load(containerID: "c1", ifname: "eth0"))
        #expect(saved.plan == Self.plan)
        #expect(saved.results["net1"]?["dns"]?["nameservers"] == .array([.string("bb")]))
        let report = try #require(agent.reports.withLock { $0.first })
        #expect(report.error == nil)
        #expect(report.results.map(\.ifname) == ["eth0", "net1", "net2"])
        #expect(report.results.map(\.attachment) == ["weft", "team/one", "team/two"])
        #expect(report.results.map(\.isDefault) == [true, false, false])

        // DEL: the reverse, each list's plugins in reverse with the ADD's result, then the plan is gone.
        fake.clearCalls()
        let del = await Self.plugin(fake, agent).run(
            environment: Self.environment(fake, "DEL"), stdin: Self.config(fake))
        #expect(del.exitCode == 0)
        #expect(fake.calls() == ["ccc DEL net2 c1", "bb DEL net1 c1", "a DEL net1 c1", "primary DEL eth0 c1"])
        #expect(try fake.stdin("a", "DEL", "net1")["prevResult"]?["dns"]?["nameservers"] == .array([.string("bb")]))
        #expect(try SavedPlanStore(directory: fake.root + "/state").load(containerID: "c1", ifname: "eth0") == nil)
        // A repeated DEL (no plan any more) is the cluster network's alone.
        fake.clearCalls()
        _ = await Self.plugin(fake, agent).run(environment: Self.environment(fake, "DEL"), stdin: Self.config(fake))
        #expect(fake.calls() == ["primary DEL eth0 c1"])
    }

    @Test func aFailingAttachmentRollsBackEverythingAndFailsTheAdd() async throws {
        let fake = try FakePlugins()
        defer { fake.remove() }
        fake.fail("ccc", "ADD")
        let agent = FakeAgent(.plan(Self.plan))
        let out = await Self.plugin(fake, agent).run(
            environment: Self.environment(fake, "ADD"), stdin: Self.config(fake))

        #expect(out.exitCode == 1)
        #expect(Self.message(out).contains("team/two (net2)") && Self.message(out).contains("ccc refuses ADD"))
        #expect(
            fake.calls() == [
                "primary ADD eth0 c1", "a ADD net1 c1", "bb ADD net1 c1", "ccc ADD net2 c1",
                "ccc DEL net2 c1", "bb DEL net1 c1", "a DEL net1 c1", "primary DEL eth0 c1",
            ])
        #expect(try SavedPlanStore(directory: fake.root + "/state").load(containerID: "c1", ifname: "eth0") == nil)
        #expect(agent.reports.withLock { $0.first?.error }?.contains("ccc refuses ADD") == true)
    }

    @Test func aRollbackThatFailsKeepsThePlanForTheRuntimesDel() async throws {
        let fake = try FakePlugins()
        defer { fake.remove() }
        fake.fail("bb", "ADD")
        fake.fail("a", "DEL")
        let agent = FakeAgent(.plan(Self.plan))
        let out = await Self.plugin(fake, agent).run(
            environment: Self.environment(fake, "ADD"), stdin: Self.config(fake))
        #expect(out.exitCode == 1)
        #expect(Self.message(out).contains("rolling back also failed") && Self.message(out).contains("a refuses DEL"))
        #expect(try SavedPlanStore(directory: fake.root + "/state").load(containerID: "c1", ifname: "eth0") != nil)
    }

    @Test func delReportsEveryErrorAndKeepsThePlanUntilItSucceeds() async throws {
        let fake = try FakePlugins()
        defer { fake.remove() }
        let agent = FakeAgent(.plan(Self.plan))
        _ = await Self.plugin(fake, agent).run(environment: Self.environment(fake, "ADD"), stdin: Self.config(fake))
        fake.fail("a", "DEL")
        fake.fail("ccc", "DEL")
        fake.clearCalls()
        let del = await Self.plugin(fake, agent).run(
            environment: Self.environment(fake, "DEL"), stdin: Self.config(fake))
        #expect(del.exitCode == 1)
        #expect(fake.calls() == ["ccc DEL net2 c1", "bb DEL net1 c1", "a DEL net1 c1", "primary DEL eth0 c1"])
        #expect(Self.message(del).contains("a refuses DEL") && Self.message(del).contains("ccc refuses DEL"))
        #expect(try SavedPlanStore(directory: fake.root + "/state").load(containerID: "c1", ifname: "eth0") != nil)

        fake.fail("a", "DEL", false)
        fake.fail("ccc", "DEL", false)
        let again = await Self.plugin(fake, agent).run(
            environment: Self.environment(fake, "DEL"), stdin: Self.config(fake))
        #expect(again.exitCode == 0)
        #expect(try SavedPlanStore(directory: fake.root + "/state").load(containerID: "c1", ifname: "eth0") == nil)
    }

    @Test func aResolveFailureUndoesTheClusterNetwork() async throws {
        let fake = try FakePlugins()
        defer { fake.remove() }
        let agent = FakeAgent(.failure("NetworkAttachmentDefinition team/nope not found"))
        let out = await Self.plugin(fake, agent).run(
            environment: Self.environment(fake, "ADD"), stdin: Self.config(fake))
        #expect(out.exitCode == 1)
        #expect(Self.message(out) == "NetworkAttachmentDefinition team/nope not found")
        #expect((try JSONValue(parsing: out.stdout))["code"] == .number(7))
        #expect(fake.calls() == ["primary ADD eth0 c1", "primary DEL eth0 c1"])

        // The agent could not ask the API server: try again later (11), the cluster network undone.
        fake.clearCalls()
        let busy = await Self.plugin(fake, FakeAgent(.unavailable("cannot read pod team/web: timed out"))).run(
            environment: Self.environment(fake, "ADD"), stdin: Self.config(fake))
        #expect(busy.exitCode == 1)
        #expect((try JSONValue(parsing: busy.stdout))["code"] == .number(11))
        #expect(fake.calls() == ["primary ADD eth0 c1", "primary DEL eth0 c1"])

        // The agent not answering at all: try again later, the cluster network undone too.
        fake.clearCalls()
        let real = MultiNetworkPlugin(
            primary: { env, _ in
                fake.log("primary \(env["CNI_COMMAND"] ?? "")")
                return Plugin.Output(status: 0, stdout: Array(Self.primaryResult.utf8))
            }, log: { _ in })
        let down = await real.run(environment: Self.environment(fake, "ADD"), stdin: Self.config(fake))
        #expect(down.exitCode == 1)
        #expect((try JSONValue(parsing: down.stdout))["code"] == .number(11))
        #expect(Self.message(down).contains("no.sock") && Self.message(down).contains("connect"))
        #expect(fake.calls() == ["primary ADD", "primary DEL"])
    }

    @Test func withoutAttachmentsOrSectionItIsTheClusterNetworkAlone() async throws {
        let fake = try FakePlugins()
        defer { fake.remove() }
        let agent = FakeAgent(.noAttachments)
        let out = await Self.plugin(fake, agent).run(
            environment: Self.environment(fake, "ADD"), stdin: Self.config(fake))
        #expect(out.exitCode == 0 && out.stdout == Array(Self.primaryResult.utf8))
        #expect(fake.calls() == ["primary ADD eth0 c1"])
        #expect(agent.reports.withLock { $0.isEmpty })

        fake.clearCalls()
        let off = await Self.plugin(fake, FakeAgent(.plan(Self.plan))).run(
            environment: Self.environment(fake, "ADD"), stdin: Self.config(fake, section: false))
        #expect(off.exitCode == 0)
        #expect(fake.calls() == ["primary ADD eth0 c1"])
    }

    @Test func anUnreachableAgentForTheStatusDoesNotFailTheAdd() async throws {
        let fake = try FakePlugins()
        defer { fake.remove() }
        let logged = Mutex<[String]>([])
        let agent = FakeAgent(.plan(Self.plan), reportFails: true)
        let plugin = MultiNetworkPlugin(
            primary: { _, _ in Plugin.Output(status: 0, stdout: Array(Self.primaryResult.utf8)) },
            agent: { _ in agent }, log: { line in logged.withLock { $0.append(line) } })
        let out = await plugin.run(environment: Self.environment(fake, "ADD"), stdin: Self.config(fake))
        #expect(out.exitCode == 0)
        #expect(logged.withLock { $0 }.first?.contains("cannot report the network status of team/web") == true)
    }

    @Test func gcTearsDownThePlansOfAttachmentsNoLongerValid() async throws {
        let fake = try FakePlugins()
        defer { fake.remove() }
        let agent = FakeAgent(.plan(Self.plan))
        for id in ["c1", "c2"] {
            _ = await Self.plugin(fake, agent).run(
                environment: Self.environment(fake, "ADD", id: id), stdin: Self.config(fake))
        }
        fake.clearCalls()
        var config = try JSONValue(parsing: Self.config(fake)).objectValue ?? [:]
        config["cni.dev/valid-attachments"] = .array([
            .object(["containerID": .string("c2"), "ifname": .string("eth0")])
        ])
        let out = await Self.plugin(fake, agent).run(
            environment: ["CNI_COMMAND": "GC", "CNI_PATH": fake.bin], stdin: JSONValue.object(config).serialized())
        #expect(out.exitCode == 0)
        #expect(fake.calls() == ["ccc DEL net2 c1", "bb DEL net1 c1", "a DEL net1 c1", "primary GC"])
        let store = SavedPlanStore(directory: fake.root + "/state")
        #expect(try store.load(containerID: "c1", ifname: "eth0") == nil)
        #expect(try store.load(containerID: "c2", ifname: "eth0") != nil)
    }

    /// GC and STATUS are delegated to the attachment networks in use whose version has them (1.1.0 on): GC with
    /// the attachments of that network still valid, STATUS failing when one of them is not ready.
    @Test func gcAndStatusAreDelegatedToTheAttachmentNetworks() async throws {
        let fake = try FakePlugins()
        defer { fake.remove() }
        var plan = Self.plan
        for i in plan.attachments.indices { plan.attachments[i].cniVersion = "1.1.0" }
        let agent = FakeAgent(.plan(plan))
        for id in ["c1", "c2"] {
            let out = await Self.plugin(fake, agent).run(
                environment: Self.environment(fake, "ADD", id: id), stdin: Self.config(fake))
            #expect(out.exitCode == 0, "\(Self.message(out))")
        }
        fake.clearCalls()
        var config = try JSONValue(parsing: Self.config(fake)).objectValue ?? [:]
        config["cni.dev/valid-attachments"] = .array([
            .object(["containerID": .string("c2"), "ifname": .string("eth0")])
        ])
        let gc = await Self.plugin(fake, agent).run(
            environment: ["CNI_COMMAND": "GC", "CNI_PATH": fake.bin], stdin: JSONValue.object(config).serialized())
        #expect(gc.exitCode == 0, "\(Self.message(gc))")
        #expect(
            fake.calls() == [
                "ccc DEL net2 c1", "bb DEL net1 c1", "a DEL net1 c1", "a GC", "bb GC", "ccc GC", "primary GC",
            ])
        let valid = try fake.stdin("bb", "GC", "")["cni.dev/valid-attachments"]
        #expect(valid == .array([.object(["containerID": .string("c2"), "ifname": .string("net1")])]))
        #expect(try fake.stdin("ccc", "GC", "")["name"]?.stringValue == "two")

        fake.clearCalls()
        let status = ["CNI_COMMAND": "STATUS", "CNI_PATH": fake.bin]
        let ready = await Self.plugin(fake, agent).run(environment: status, stdin: Self.config(fake))
        #expect(ready.exitCode == 0)
        #expect(fake.calls() == ["primary STATUS", "a STATUS", "bb STATUS", "ccc STATUS"])
        fake.fail("bb", "STATUS")
        let notReady = await Self.plugin(fake, agent).run(environment: status, stdin: Self.config(fake))
        #expect(notReady.exitCode == 1)
        let error = try JSONValue(parsing: notReady.stdout)
        #expect(error["code"] == .number(50))
        #expect(Self.message(notReady).hasPrefix("secondary network not available: team/one bb:"), "\(error)")
    }
}

@Suite struct MultiNetworkProtocolTests {
    @Test func requestsAndAnswersRoundTrip() throws {
        let pod = PodReference(namespace: "a", name: "web", uid: "u", containerID: "c")
        let plan = MultiNetworkPluginTests.plan
        let requests: [MultiNetworkRequest] = [
            .resolve(pod, clusterInterface: "eth0"),
            .status(
                pod, clusterNetwork: "weft",
                results: [AttachmentOutcome(attachment: "a/x", ifname: "net1", isDefault: false, result: .object([:]))],
                error: nil),
            .status(pod, clusterNetwork: "weft", results: [], error: "boom"),
        ]
        for request in requests {
            let line = request.json.serialized()
            #expect(!line.contains(UInt8(ascii: "\n")))
            #expect(try MultiNetworkRequest(json: try JSONValue(parsing: line)) == request)
        }
        #expect(
            MultiNetworkRequest.resolve(pod, clusterInterface: "eth0").json
                == .object([
                    "op": .string("resolve"), "namespace": .string("a"), "name": .string("web"), "uid": .string("u"),
                    "containerID": .string("c"), "ifname": .string("eth0"),
                ]))
        for answer in [
            ResolveResponse.noAttachments, .plan(plan), .failure("NetworkAttachmentDefinition a/x not found"),
            .unavailable("cannot read pod a/p: connection refused"),
        ] {
            #expect(try ResolveResponse(json: try JSONValue(parsing: answer.json.serialized())) == answer)
        }
        var withRoute = plan
        withRoute.attachments[0].defaultRoute = [IPAddress("10.1.0.1")!]
        #expect(try AttachmentPlan(json: withRoute.json) == withRoute)
        #expect(throws: MultiNetworkProtocolError.self) { try MultiNetworkRequest(json: .object(["op": .string("x")])) }
        #expect(throws: MultiNetworkProtocolError.self) {
            try MultiNetworkRequest(
                json: .object(["op": .string("frobnicate"), "namespace": .string("a"), "name": .string("b")]))
        }
    }

    @Test func configSection() throws {
        let c = try #require(
            try MultiNetworkConfig.parse(
                try JSONValue(parsing: #"{"stateDir":"/s","multiNetwork":{"socket":"/run/x.sock","maxConcurrent":3}}"#))
        )
        #expect(c.socket == "/run/x.sock" && c.maxConcurrent == 3 && c.stateDir == "/s/multinet")
        #expect(c.slotDirectory == MultiNetworkConfig.defaultSlotDirectory)
        #expect(try MultiNetworkConfig.parse(try JSONValue(parsing: #"{"name":"x"}"#)) == nil)
        #expect(throws: CNIError.self) { try MultiNetworkConfig.parse(try JSONValue(parsing: #"{"multiNetwork":{}}"#)) }
        #expect(throws: CNIError.self) {
            try MultiNetworkConfig.parse(try JSONValue(parsing: #"{"multiNetwork":{"socket":"/x","maxConcurrent":0}}"#))
        }
    }
}

@Suite struct ConcurrencySlotsTests {
    @Test func atMostCountHoldersAndTheRestWait() async throws {
        let directory = NSTemporaryDirectory() + "wf-slots-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let slots = ConcurrencySlots(directory: directory, count: 2)
        let first = try slots.acquire(key: "a")
        let second = try slots.acquire(key: "a")
        #expect(first.index != second.index)

        // A third holder waits until one lets go.
        let got = Box<ContinuousClock.Instant?>(nil)
        let waiter = Thread {
            let third = try? slots.acquire(key: "b")
            got.value.withLock { $0 = .now }
            third?.release()
        }
        waiter.start()
        try await Task.sleep(for: .milliseconds(300))
        #expect(got.value.withLock { $0 } == nil)
        let released = ContinuousClock.now
        first.release()
        let deadline = ContinuousClock.now + .seconds(5)
        while got.value.withLock({ $0 }) == nil && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        let when = try #require(got.value.withLock { $0 })
        #expect(when >= released)
        second.release()

        // Many concurrent holders never exceed the count (each slot file is held by one at a time).
        let active = Box((now: 0, peak: 0))
        await withTaskGroup(of: Void.self) { group in
            for n in 0..<12 {
                group.addTask {
                    try? slots.withSlot(key: "k\(n)") {
                        active.value.withLock {
                            $0.now += 1
                            $0.peak = max($0.peak, $0.now)
                        }
                        usleep(20_000)
                        active.value.withLock { $0.now -= 1 }
                    }
                }
            }
        }
        #expect(active.value.withLock { $0.peak } <= 2)
        #expect(active.value.withLock { $0.peak } >= 1)
    }
}

/// A mutex shared by reference with other threads and tasks.
final class Box<T: Sendable>: Sendable {
    let value: Mutex<T>
    init(_ initial: T) { value = Mutex(initial) }
}
