import Foundation
import KubeModel
import Testing
import WeftNet

@testable import Lab

/// The lab kubelet's pure parts: launch (argv, environment, resolv.conf, hosts), probes, restart backoff, hostPort
/// claims, the status it writes and the CNI network it configures.
struct KubeletLogicTests {
    static func pod(_ yaml: String) throws -> Pod {
        try Manifest.decode(try #require(try Manifest.decodeDocuments(yaml).first))
    }

    static let basic = """
        apiVersion: v1
        kind: Pod
        metadata: {name: web, namespace: shop, uid: u-1, labels: {app: web}}
        spec:
          nodeName: node-2
          containers:
          - name: c
            image: agnhost
            command: [weft, serve]
            args: ["--http-port", "$(PORT)", "$$(literal)", "$(UNDEFINED)"]
            env:
            - {name: PORT, value: "8080"}
            - {name: URL, value: "http://$(MY_IP):$(PORT)/"}
            - {name: MY_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
            - {name: NODE, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}
            - {name: APP, valueFrom: {fieldRef: {fieldPath: "metadata.labels['app']"}}}
            ports: [{name: http, containerPort: 8080, hostPort: 80}, {containerPort: 53, protocol: UDP}]
        """

    @Test func launchExpandsVariablesAndResolvesWeft() throws {
        let pod = try Self.pod(Self.basic)
        let facts = ContainerLaunch.PodFacts(
            podIPs: ["10.244.1.5", "fd00::5"], hostIPs: ["198.18.0.11"], apiServer: ("198.18.0.1", 6443))
        let launch = try ContainerLaunch.make(
            pod: pod, container: pod.spec!.containers[0], facts: facts, weftBinary: "/opt/weft/bin/weft"
        ).get()
        #expect(launch.executable == "/opt/weft/bin/weft")
        #expect(launch.arguments == ["serve", "--http-port", "8080", "$(literal)", "$(UNDEFINED)"])
        // A variable refers only to those defined before it (MY_IP comes after URL).
        #expect(launch.environment["URL"] == "http://$(MY_IP):8080/")
        #expect(launch.environment["MY_IP"] == "10.244.1.5")
        #expect(launch.environment["NODE"] == "node-2")
        #expect(launch.environment["APP"] == "web")
        #expect(launch.environment["HOSTNAME"] == "web")
        var host = pod
        host.spec?.hostNetwork = true
        let onNode = try ContainerLaunch.make(
            pod: host, container: host.spec!.containers[0], facts: facts, weftBinary: "w"
        ).get()
        #expect(onNode.environment["HOSTNAME"] == "node-2")
        #expect(launch.environment["KUBERNETES_SERVICE_HOST"] == "198.18.0.1")
        #expect(launch.environment["PATH"] == ContainerLaunch.defaultPath)
    }

    @Test func launchRefusesWhatTheLabCannotRun() throws {
        let noCommand = try Self.pod(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: nginx}]}")
        let facts = ContainerLaunch.PodFacts(podIPs: [], hostIPs: [])
        let error = try #require(
            ContainerLaunch.make(
                pod: noCommand, container: noCommand.spec!.containers[0], facts: facts, weftBinary: "w"
            )
            .failureValue)
        #expect(error.description.contains("has no command") && error.description.contains("nginx"))

        let secretRef = try Self.pod(
            """
            apiVersion: v1
            kind: Pod
            metadata: {name: p}
            spec: {containers: [{name: c, command: [x], env: [{name: S, valueFrom: {secretKeyRef: {name: s, key: k}}}]}]}
            """)
        let unsupported = try #require(
            ContainerLaunch.make(
                pod: secretRef, container: secretRef.spec!.containers[0], facts: facts, weftBinary: "w"
            )
            .failureValue)
        #expect(unsupported.description.contains("env S"))
    }

    @Test func resolvConfAndHostsFollowDNSPolicy() throws {
        let pod = try Self.pod(Self.basic)
        let dns = ["10.96.0.10", "fd00:10:96::a"]
        #expect(
            ContainerLaunch.resolvConf(pod: pod, clusterDNS: dns, nodeResolvConf: "nameserver 1.1.1.1\n") == """
                nameserver 10.96.0.10
                nameserver fd00:10:96::a
                search shop.svc.cluster.local svc.cluster.local cluster.local
                options ndots:5

                """)
        var host = pod
        host.spec?.hostNetwork = true
        #expect(ContainerLaunch.resolvConf(pod: host, clusterDNS: dns, nodeResolvConf: "node\n") == "node\n")
        host.spec?.dnsPolicy = "ClusterFirstWithHostNet"
        #expect(
            ContainerLaunch.resolvConf(pod: host, clusterDNS: dns, nodeResolvConf: "node\n").hasPrefix(
                "nameserver 10.96"))
        var plain = pod
        plain.spec?.dnsPolicy = "Default"
        #expect(ContainerLaunch.resolvConf(pod: plain, clusterDNS: dns, nodeResolvConf: "node\n") == "node\n")

        var named = pod
        named.spec?.hostname = "h"
        named.spec?.subdomain = "sub"
        let hosts = ContainerLaunch.hostsFile(pod: named, podIPs: ["10.244.1.5"])
        #expect(hosts.contains("127.0.0.1\tlocalhost\n"))
        #expect(hosts.hasSuffix("10.244.1.5\th.sub.shop.svc.cluster.local h\n"))
    }

    @Test func expansion() {
        let env = ["A": "1", "B": "two"]
        #expect(ContainerLaunch.expand("$(A)-$(B)", env) == "1-two")
        #expect(ContainerLaunch.expand("$$(A) $(C) $ end$", env) == "$(A) $(C) $ end$")
        #expect(ContainerLaunch.expand("$(A", env) == "$(A")
        #expect(ContainerLaunch.expand("no dollars", env) == "no dollars")
    }

    @Test func probesParseWithDefaultsAndNamedPorts() throws {
        let pod = try Self.pod(Self.basic)
        let container = pod.spec!.containers[0]
        func parse(_ json: String) -> Result<ReadinessProbe?, ProbeError> {
            ReadinessProbe.parse(try? JSONValue(parsing: Array(json.utf8)), container: container)
        }
        let http = try #require(try parse(#"{"httpGet":{"path":"/healthz","port":"http"}}"#).get())
        #expect(http.action == .http(port: 8080, path: "/healthz"))
        #expect(http.period == .seconds(10) && http.timeout == .seconds(1) && http.failureThreshold == 3)
        #expect(
            http.probeArguments(address: "fd00::5") == [
                "probe", "--protocol", "http", "--timeout", "1s", "--path", "/healthz", "[fd00::5]:8080",
            ])
        let tcp = try #require(try parse(#"{"tcpSocket":{"port":53},"periodSeconds":2,"timeoutSeconds":3}"#).get())
        #expect(
            tcp.probeArguments(address: "10.0.0.1") == ["probe", "--protocol", "tcp", "--timeout", "3s", "10.0.0.1:53"])
        let exec = try #require(try parse(#"{"exec":{"command":["cat","/tmp/ready"]}}"#).get())
        #expect(exec.action == .exec(command: ["cat", "/tmp/ready"]) && exec.probeArguments(address: "x") == nil)
        #expect(try parse("null").get() == nil)
        #expect(parse(#"{"tcpSocket":{"port":"nope"}}"#).failureValue?.description.contains("nope") == true)
        #expect(parse(#"{"httpGet":{"port":80,"scheme":"HTTPS"}}"#).failureValue != nil)
        #expect(parse(#"{"grpc":{"port":80}}"#).failureValue != nil)
    }

    @Test func readinessNeedsThresholdsInARow() {
        var tracker = ReadinessTracker(successThreshold: 2, failureThreshold: 2)
        var changes: [Bool] = []
        var readiness: [Bool] = []
        for success in [true, true, false, true, false, false] {
            changes.append(tracker.record(success: success))
            readiness.append(tracker.ready)
        }
        #expect(changes == [false, true, false, false, false, true])
        #expect(readiness == [false, true, true, true, true, false])
    }

    @Test func backoffDoublesCapsAndResets() {
        var backoff = RestartBackoff()
        let delays = (0..<8).map { _ in backoff.delay(afterRunning: .seconds(1)) }
        #expect(delays == [1, 2, 4, 8, 16, 32, 60, 60].map { Duration.seconds($0) })
        #expect(backoff.delay(afterRunning: .seconds(601)) == .seconds(1))
        #expect(RestartPolicy(nil) == .always && RestartPolicy("Never") == .never)
        #expect(RestartPolicy.onFailure.restarts(exitCode: 1) && !RestartPolicy.onFailure.restarts(exitCode: 0))
    }

    @Test func hostPortClaimsAndConflicts() throws {
        let pod = try Self.pod(Self.basic)
        #expect(HostPortClaim.claims(of: pod) == [HostPortClaim(port: 80, protocol: "TCP", hostIP: "")])
        var host = pod
        host.spec?.hostNetwork = true
        #expect(HostPortClaim.claims(of: host).map(\.port) == [80, 53])  // the second: its container port
        let any = HostPortClaim(port: 80, protocol: "TCP", hostIP: "")
        #expect(any.conflicts(with: HostPortClaim(port: 80, protocol: "TCP", hostIP: "10.0.0.1")))
        #expect(!any.conflicts(with: HostPortClaim(port: 80, protocol: "UDP", hostIP: "")))
        #expect(
            !HostPortClaim(port: 80, protocol: "TCP", hostIP: "10.0.0.1").conflicts(
                with: HostPortClaim(port: 80, protocol: "TCP", hostIP: "10.0.0.2")))
    }

    @Test func statusPhasesAndConditions() throws {
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        var web = ContainerRecord(name: "web", image: "agnhost")
        var side = ContainerRecord(name: "side", image: "busybox")
        var builder = PodStatusBuilder(
            podIPs: ["10.244.1.5", "fd00::5"], hostIPs: ["198.18.0.11"], startTime: start, sandboxReady: false,
            containers: [web, side], restartPolicy: .always)
        #expect(builder.phase == "Pending")
        builder.sandboxReady = true
        web.state = .running(startedAt: start)
        web.ready = true
        web.pid = 42
        builder.containers = [web, side]
        #expect(builder.phase == "Pending")
        side.state = .running(startedAt: start)
        builder.containers = [web, side]
        #expect(builder.phase == "Running" && !builder.allReady)

        let previous: JSONValue = .object([
            "conditions": .array([.object(["type": .string("PodScheduled"), "status": .string("True")])])
        ])
        let status = builder.status(previous: previous, now: start)
        #expect(status["podIP"] == .string("10.244.1.5"))
        #expect(status["podIPs"]?.arrayValue?.count == 2)
        #expect(status["hostIP"] == .string("198.18.0.11"))
        let conditions = status["conditions"]?.arrayValue ?? []
        #expect(
            conditions.compactMap { $0["type"]?.stringValue } == [
                "PodScheduled", "PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady",
            ])
        let ready = try #require(conditions.first { $0["type"] == .string("Ready") })
        #expect(
            ready["status"] == .string("False") && ready["message"] == .string("containers with unready status: [side]")
        )
        let first = status["containerStatuses"]?.arrayValue?.first
        #expect(first?["containerID"] == .string("weft://42") && first?["ready"] == .bool(true))

        // Finished for good: Succeeded only when every container exited 0.
        web.state = .terminated(exitCode: 0, reason: "Completed", message: nil, startedAt: start, finishedAt: start)
        web.finished = true
        side.state = .terminated(exitCode: 2, reason: "Error", message: nil, startedAt: start, finishedAt: start)
        side.finished = true
        builder.containers = [web, side]
        #expect(builder.phase == "Failed")
        builder.containers = [web]
        #expect(builder.phase == "Succeeded")
        builder.rejection = ("NodePorts", "no")
        #expect(builder.phase == "Failed" && builder.status(previous: nil)["reason"] == .string("NodePorts"))
    }

    @Test func lastTransitionTimeKeptWhileTheStatusHolds() {
        let earlier = Date(timeIntervalSince1970: 1_800_000_000)
        let later = earlier.addingTimeInterval(60)
        let builder = PodStatusBuilder(
            podIPs: [], hostIPs: [], startTime: earlier, sandboxReady: true, containers: [], restartPolicy: .always)
        let first = builder.status(previous: nil, now: earlier)
        let second = builder.status(previous: first, now: later)
        let times = { (status: JSONValue) in
            (status["conditions"]?.arrayValue ?? []).map { $0["lastTransitionTime"] }
        }
        #expect(times(first) == times(second))
    }

    @Test func nodeNetworkConfiguration() throws {
        let spec = LabSpec(name: "x", index: 3, nodes: [1, 2], overlay: .vxlan, ipFamily: .dual)
        let config = LabKubelet.networkConfig(
            spec: spec, podCIDRs: ["10.244.1.0/24", "fd00:10:244:1::/64"], stateDirectory: "/s", ipamDirectory: "/i")
        #expect(
            String(decoding: config.serialized(), as: UTF8.self)
                == #"{"cniVersion":"1.1.0","name":"weft","plugins":[{"capabilities":{"portMappings":true},"ipMasq":true,"ipam":{"dataDir":"/i","ranges":[[{"subnet":"10.244.1.0/24"}],[{"subnet":"fd00:10:244:1::/64"}]],"type":"weft-ipam"},"isDefaultGateway":true,"mode":"ptp","mtu":1450,"nonMasqueradeCIDRs":["10.244.0.0/16","fd00:10:244::/56"],"stateDir":"/s","type":"weft-cni"}]}"#
        )
        let v6 = LabSpec(name: "x", index: 3, nodes: [1], overlay: .hostGW, ipFamily: .ipv6)
        #expect(v6.clusterCIDRs == ["fd00:10:244::/56"] && v6.serviceCIDRs == ["fd00:10:96::/108"])
        #expect(v6.clusterDNS == ["fd00:10:96::a"])
        #expect(
            LabKubelet.networkConfig(spec: v6, podCIDRs: [], stateDirectory: "", ipamDirectory: "")["plugins"]?
                .arrayValue?.first?["mtu"] == .number(1500))
    }

    @Test func addressesOfACNIResultIPv4First() throws {
        let result = try JSONValue(
            parsing: Array(#"{"ips":[{"address":"fd00::5/64"},{"address":"10.244.1.5/24"}]}"#.utf8))
        #expect(PodWorker.addresses(result) == ["10.244.1.5", "fd00::5"])
    }
}

extension Result {
    var failureValue: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
