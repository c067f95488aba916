import Foundation
import Glibc
import KubeClient
import KubeModel
import Lab
import Testing

extension LabKernelTests {
    /// The lab's cluster DNS (`weft dns` behind kube-dns) asked by real clients in a pod: `dig` for every record
    /// kind of the specification over UDP and TCP, to the IPv4 and the IPv6 service address; `nslookup` with the
    /// pod's search path; a Service created through the API resolves within 100 ms.
    @Suite(.serialized, .enabled(if: getuid() == 0 && LabUnderTest.hasBinaries))
    struct LabDNSTests {
        static let manifest = """
            apiVersion: v1
            kind: Service
            metadata: {name: web}
            spec:
              ipFamilyPolicy: PreferDualStack
              selector: {app: web}
              ports: [{name: http, port: 80, targetPort: 8080}]
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: web, labels: {app: web}}
            spec: {nodeName: node-1, containers: [{name: web, image: agnhost, command: [weft, serve]}]}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: db}
            spec: {clusterIP: None, selector: {app: db}, ports: [{name: sql, port: 5432}]}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: db-0, labels: {app: db}}
            spec:
              hostname: db-0
              subdomain: db
              nodeName: node-2
              containers: [{name: db, image: agnhost, command: [weft, serve]}]
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: alias}
            spec: {type: ExternalName, externalName: web.default.svc.cluster.local}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: client}
            spec: {nodeName: node-1, containers: [{name: c, image: busybox, command: [sleep, "3600"]}]}
            """

        /// Sends one A query every 5 ms to the first nameserver of resolv.conf until it has an answer; prints the
        /// wall-clock time of that answer.
        static let waitForName = """
            import socket, struct, sys, time
            name = sys.argv[1]
            server = [l.split()[1] for l in open("/etc/resolv.conf") if l.startswith("nameserver")][0]
            query = struct.pack(">HHHHHH", 7, 0x0100, 1, 0, 0, 0) + b"".join(
                bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\\0" + struct.pack(">HH", 1, 1)
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(0.02)
            deadline = time.time() + 10
            while time.time() < deadline:
                s.sendto(query, (server, 53))
                try:
                    data = s.recv(512)
                    if struct.unpack(">H", data[6:8])[0] > 0:
                        print("%.4f" % time.time()); break
                except socket.timeout:
                    pass
                time.sleep(0.005)
            """

        @Test func recordsOverUDPAndTCPFromAPod() async throws {
            try await LabUnderTest.with(["--nodes", "2", "--ip-family", "dual"], manifest: Self.manifest) { lab in
                let client = try lab.client()
                defer { Task { try? await client.shutdown() } }
                let web = try await client.get(Service.self, name: "web", namespace: "default")
                let webIPs = web.spec?.clusterIPs ?? []
                try #require(webIPs.count == 2)
                let db0 = try await client.get(Pod.self, name: "db-0", namespace: "default")
                let db0IP = try #require(db0.status?.podIP)
                let clientPod = try await client.get(Pod.self, name: "client", namespace: "default")
                let clientIP = try #require(clientPod.status?.podIP)
                let dnsService = try await client.get(Service.self, name: "kube-dns", namespace: "kube-system")
                let servers = dnsService.spec?.clusterIPs ?? []
                #expect(servers == ["10.96.0.10", "fd00:10:96::a"])

                let zone = "svc.cluster.local"
                let dashed = clientIP.replacingOccurrences(of: ".", with: "-")
                let cases: [(name: String, type: String, expected: Set<String>)] = [
                    ("dns-version.cluster.local", "TXT", ["\"1.1.0\""]),
                    ("web.default.\(zone)", "A", [webIPs[0]]),
                    ("web.default.\(zone)", "AAAA", [webIPs[1]]),
                    ("_http._tcp.web.default.\(zone)", "SRV", ["0 100 80 web.default.\(zone)."]),
                    ("db.default.\(zone)", "A", [db0IP]),
                    ("db-0.db.default.\(zone)", "A", [db0IP]),
                    ("_sql._tcp.db.default.\(zone)", "SRV", ["0 100 5432 db-0.db.default.\(zone)."]),
                    ("alias.default.\(zone)", "A", ["web.default.\(zone).", webIPs[0]]),
                    ("\(dashed).default.pod.cluster.local", "A", [clientIP]),
                ]
                for server in servers {
                    for transport in ["+notcp", "+tcp"] {
                        for query in cases {
                            let run = try await lab.exec([
                                "client", "--", "dig", "@\(server)", transport, "+short", query.name, query.type,
                            ])
                            let lines = Set(run.stdoutString.split(separator: "\n").map(String.init))
                            #expect(
                                lines == query.expected,
                                "dig @\(server) \(transport) \(query.name) \(query.type): \(run.stdoutString)")
                        }
                        // Reverse names of the service's addresses, IPv4 and IPv6.
                        for address in webIPs {
                            let run = try await lab.exec([
                                "client", "--", "dig", "@\(server)", transport, "+short", "-x", address,
                            ])
                            #expect(run.stdoutString == "web.default.\(zone).\n", "PTR \(address): \(run.stdoutString)")
                        }
                    }
                }
                // NXDOMAIN with the zone's SOA.
                let missing = try await lab.exec(["client", "--", "dig", "nothing.default.\(zone)"])
                #expect(
                    missing.stdoutString.contains("status: NXDOMAIN") && missing.stdoutString.contains("SOA"),
                    "\(missing.stdoutString)")

                // nslookup with the pod's search path (namespace.svc.cluster.local first).
                let lookup = try await lab.exec(["client", "--", "nslookup", "web"])
                #expect(lookup.stdoutString.contains("Name:\tweb.default.\(zone)"), "\(lookup.stdoutString)")
                #expect(lookup.stdoutString.contains(webIPs[0]), "\(lookup.stdoutString)")

                // A Service created now answers within 100 ms of the create call.
                async let answered = lab.exec([
                    "client", "--", "python3", "-c", Self.waitForName, "fresh.default.\(zone)",
                ])
                try await Task.sleep(for: .milliseconds(500))
                let created = Date().timeIntervalSince1970
                _ = try await client.create(
                    try Manifest.decode(
                        try #require(
                            try Manifest.decodeDocuments(
                                """
                                apiVersion: v1
                                kind: Service
                                metadata: {name: fresh, namespace: default}
                                spec: {ports: [{port: 80}]}
                                """
                            ).first)) as Service)
                let seen = try #require(
                    Double(try await answered.stdoutString.trimmingCharacters(in: .whitespacesAndNewlines)))
                #expect(seen - created < 0.1, "resolved \(Int((seen - created) * 1000)) ms after the create call")
            }
        }
    }
}
