import CNI
import MultiNetwork
import Testing
import WeftNet

let pod = PodIdentity(namespace: "team", name: "p", uid: "u-1", sandboxID: "c0ffee")

func plan(_ annotation: String) throws -> AttachmentPlan {
    try AttachmentPlan(resolve(annotation), pod: pod)
}

func planError(_ annotation: String) -> String {
    do {
        _ = try plan(annotation)
        return "no error"
    } catch {
        return "\(error)"
    }
}

@Suite struct AttachmentPlanTests {
    @Test func interfacesArePositionalUnlessGiven() throws {
        let p = try plan("macvlan-conf@eth5,br,default/shared")
        #expect(p.attachments.map(\.ifname) == ["eth5", "net2", "net3"])
        #expect(p.addOrder.map(\.ifname) == ["eth0", "eth5", "net2", "net3"])
        #expect(p.deleteOrder.map(\.ifname) == ["net3", "net2", "eth5", "eth0"])
        #expect(p.attachments.map(\.attachment) == ["team/macvlan-conf", "team/br", "default/shared"])
    }

    @Test func rollbackIncludesTheFailedStepThenEarlierOnesInReverse() throws {
        let p = try plan("macvlan-conf,br,default/shared")
        #expect(p.rollbackOrder(afterFailureAt: 2).map(\.ifname) == ["net2", "net1", "eth0"])
        #expect(p.rollbackOrder(afterFailureAt: 0).map(\.ifname) == ["eth0"])
    }

    @Test func duplicateInterfaceNamesAreRejected() {
        #expect(
            planError("macvlan-conf@eth0")
                == "interface name \"eth0\" is requested twice: by the cluster network and by network 1 "
                + "(team/macvlan-conf)")
        #expect(planError("macvlan-conf@data,br@data").contains("\"data\" is requested twice: by network 1"))
        // Positional names collide with an explicit one.
        #expect(planError("macvlan-conf@net2,br").contains("\"net2\" is requested twice"))
        // The same NAD twice on distinct interfaces is fine.
        #expect(throws: Never.self) { try plan("macvlan-conf,macvlan-conf") }
    }

    @Test func oneDefaultRoutePerFamily() {
        let a =
            #"[{"name": "macvlan-conf", "default-route": ["10.0.0.1"]}, {"name": "br", "default-route": ["10.1.0.1"]}]"#
        #expect(
            planError(a).contains("more than one network asks for the IPv4 default route (team/macvlan-conf, team/br)"))
        let b =
            #"[{"name": "macvlan-conf", "default-route": ["10.0.0.1"]}, {"name": "br", "default-route": ["fd00::1"]}]"#
        #expect(planError(b) == "no error")
    }

    @Test func cniArgsGoIntoEveryPluginsArgsCni() throws {
        let p = try plan(#"[{"name": "br", "cni-args": {"foo": "bar", "keep": 2}}]"#)
        let plugins = p.attachments[0].plugins
        #expect(plugins.count == 4)
        for plugin in plugins { #expect(plugin["args"]?["cni"]?["foo"] == .string("bar")) }
        // Merged over the configuration's own args.cni; the annotation wins.
        #expect(plugins[1]["args"]?["cni"] == .object(["foo": .string("bar"), "keep": .number(2)]))
        #expect(
            p.attachments[0].cniArgsString
                == "IgnoreUnknown=true;K8S_POD_NAMESPACE=team;K8S_POD_NAME=p;K8S_POD_INFRA_CONTAINER_ID=c0ffee;K8S_POD_UID=u-1"
        )
        // The bytes are a conflist a runtime can run and cache.
        let reparsed = try JSONValue(parsing: p.attachments[0].conflistBytes)
        #expect(reparsed["name"] == .string("br-net"))
    }

    @Test func runtimeConfigOnlyForDeclaredCapabilities() throws {
        let p = try plan(
            #"""
            [{"name": "br", "ips": ["10.10.0.7/24"], "mac": "C2:B0:57:49:47:F1",
              "portMappings": [{"hostPort": 8080, "containerPort": 80}], "bandwidth": {"ingressRate": 100}}]
            """#)
        let step = p.attachments[0]
        #expect(Set(step.capabilityArgs.keys) == ["ips", "mac", "portMappings", "bandwidth"])
        // bridge declares nothing: no runtimeConfig at all, and the list's name and version are set.
        let bridge = step.requestConfig(plugin: 0)
        #expect(bridge["runtimeConfig"] == nil)
        #expect(bridge["name"] == .string("br-net") && bridge["cniVersion"] == .string("1.0.0"))
        // tuning asks for mac only; capabilities itself is not passed.
        let tuning = step.requestConfig(plugin: 1, prevResult: .object(["cniVersion": .string("1.0.0")]))
        #expect(tuning["runtimeConfig"] == .object(["mac": .string(MACAddress("c2:b0:57:49:47:f1")!.description)]))
        #expect(tuning["capabilities"] == nil)
        #expect(tuning["prevResult"] != nil)
        #expect(
            step.requestConfig(plugin: 2)["runtimeConfig"]?["portMappings"]
                == .array([
                    .object(["hostPort": .number(8080), "containerPort": .number(80), "protocol": .string("tcp")])
                ]))
        #expect(
            step.requestConfig(plugin: 3)["runtimeConfig"]
                == .object(["bandwidth": .object(["ingressRate": .number(100)])]))
        // ips requested but no plugin declares "ips": nobody gets them.
        #expect((0..<4).allSatisfy { step.requestConfig(plugin: $0)["runtimeConfig"]?["ips"] == nil })
    }

    @Test func nothingRequestedNoCapabilityArgs() throws {
        #expect(try plan("br").attachments[0].capabilityArgs.isEmpty)
    }
}

@Suite struct AttachmentExecutorTests {
    struct Boom: Error, CustomStringConvertible {
        var description: String
    }

    /// Records calls; fails the ADDs and DELs of the interfaces named.
    final class Recorder: @unchecked Sendable {
        var calls: [String] = []
        var failAdd: Set<String> = []
        var failDel: Set<String> = []
        func add(_ s: PlanStep) throws -> String {
            calls.append("ADD \(s.ifname)")
            if failAdd.contains(s.ifname) { throw Boom(description: "no \(s.ifname)") }
            return s.ifname
        }
        func del(_ s: PlanStep) throws {
            calls.append("DEL \(s.ifname)")
            if failDel.contains(s.ifname) { throw Boom(description: "stuck \(s.ifname)") }
        }
    }

    @Test func addsInOrder() async throws {
        let p = try plan("macvlan-conf,br")
        let r = Recorder()
        let results = try await AttachmentExecutor.add(p, add: { try r.add($0) }, delete: { try r.del($0) })
        #expect(results.map(\.result) == ["eth0", "net1", "net2"])
        #expect(r.calls == ["ADD eth0", "ADD net1", "ADD net2"])
    }

    @Test func failedAddRollsBackEverythingMade() async throws {
        let p = try plan("macvlan-conf,br,default/shared")
        let r = Recorder()
        r.failAdd = ["net2"]
        r.failDel = ["net1"]
        do {
            _ = try await AttachmentExecutor.add(p, add: { try r.add($0) }, delete: { try r.del($0) })
            Issue.record("expected a failure")
        } catch {
            #expect(
                error.description
                    == "attaching team/br (net2) failed: no net2; rolling back also failed for "
                    + "team/macvlan-conf (net1): stuck net1")
        }
        #expect(r.calls == ["ADD eth0", "ADD net1", "ADD net2", "DEL net2", "DEL net1", "DEL eth0"])
    }

    @Test func deleteAttemptsAllAndReportsEveryError() async throws {
        let p = try plan("macvlan-conf,br")
        let r = Recorder()
        r.failDel = ["net2", "eth0"]
        do {
            try await AttachmentExecutor.delete(p) { try r.del($0) }
            Issue.record("expected a failure")
        } catch {
            #expect(error.failures.map(\.step) == ["team/br (net2)", "the cluster network (eth0)"])
        }
        #expect(r.calls == ["DEL net2", "DEL net1", "DEL eth0"])
    }
}
