import Agent
import KubeModel
import ServiceProxy
import Testing

/// The proxy's metrics and health from real `ProxySyncer` reports, on a settable clock.
@Suite struct ProxyMetricsTests {
    static let service: KubeModel.Service = try! object(
        """
        apiVersion: v1
        kind: Service
        metadata: {name: dns, namespace: default}
        spec: {clusterIP: 10.96.0.10, ports: [{port: 53, protocol: UDP}]}
        """)

    static func slice(_ addresses: [String], triggeredAt time: String) throws -> EndpointSlice {
        try object(
            """
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata:
              name: dns-1
              namespace: default
              labels: {kubernetes.io/service-name: dns}
              annotations: {endpoints.kubernetes.io/last-change-trigger-time: "\(time)"}
            addressType: IPv4
            ports: [{port: 5353, protocol: UDP}]
            endpoints: [\(addresses.map { "{addresses: [\($0)]}" }.joined(separator: ", "))]
            """)
    }

    /// 2025-06-01T12:00:00Z.
    static let noon = 1_748_779_200.0

    @Test func recordsSyncsLatencyAndConntrack() async throws {
        let clock = TestClock(Self.noon + 3)
        let metrics = ProxyMetrics(now: { clock.now })
        let conntrack = CountingConntrack()
        let syncer = ProxySyncer(
            node: ProxyNode(name: "node-a"), clusterCIDRs: [], backend: RecordingBackend(), conntrack: conntrack)
        await syncer.set(Self.service)
        await syncer.set(try Self.slice(["10.244.0.5", "10.244.0.6"], triggeredAt: "2025-06-01T12:00:00Z"))
        await syncer.set(try Self.slice(["10.244.0.5", "10.244.0.6"], triggeredAt: "2025-06-01T12:00:00.5Z"))
        metrics.recordSuccess(
            try await syncer.sync(), duration: .milliseconds(3), services: 1, objects: await syncer.objectCounts)

        // An endpoint goes: a partial sync, and the stale UDP flow's conntrack entries deleted.
        await syncer.set(try Self.slice(["10.244.0.5"], triggeredAt: "2025-06-01T12:00:02+00:00"))
        metrics.recordSuccess(
            try await syncer.sync(), duration: .milliseconds(1), services: 1, objects: await syncer.objectCounts)
        #expect(conntrack.flows.count == 1)

        // Another goes, and conntrack fails.
        conntrack.setFailing(true)
        await syncer.set(try Self.slice([], triggeredAt: "not a time"))
        metrics.recordSuccess(
            try await syncer.sync(), duration: .milliseconds(1), services: 1, objects: await syncer.objectCounts)

        let text = metrics.prometheusText()
        #expect(text.contains("# TYPE weft_proxy_sync_duration_seconds histogram\n"))
        #expect(text.contains("weft_proxy_sync_duration_seconds_bucket{kind=\"full\",le=\"0.002\"} 0\n"))
        #expect(text.contains("weft_proxy_sync_duration_seconds_bucket{kind=\"full\",le=\"0.004\"} 1\n"))
        #expect(text.contains("weft_proxy_sync_duration_seconds_bucket{kind=\"partial\",le=\"0.001\"} 2\n"))
        #expect(text.contains("weft_proxy_sync_duration_seconds_bucket{kind=\"partial\",le=\"+Inf\"} 2\n"))
        #expect(metricValue(text, "weft_proxy_sync_duration_seconds_count{kind=\"full\"}") == 1)
        #expect(metricValue(text, "weft_proxy_sync_duration_seconds_sum{kind=\"full\"}") == 0.003)
        #expect(metricValue(text, "weft_proxy_syncs_total") == 3)
        #expect(metricValue(text, "weft_proxy_sync_failures_total") == 0)
        // 3 s, 2.5 s and 1 s after their trigger times; "not a time" is left out.
        #expect(metricValue(text, "weft_proxy_network_programming_duration_seconds_count") == 3)
        #expect(metricValue(text, "weft_proxy_network_programming_duration_seconds_sum") == 6.5)
        #expect(text.contains("weft_proxy_network_programming_duration_seconds_bucket{le=\"1\"} 1\n"))
        #expect(text.contains("weft_proxy_network_programming_duration_seconds_bucket{le=\"2\"} 1\n"))
        #expect(text.contains("weft_proxy_network_programming_duration_seconds_bucket{le=\"3\"} 3\n"))
        #expect(metricValue(text, "weft_proxy_last_sync_timestamp_seconds") == Self.noon + 3)
        #expect(metricValue(text, "weft_proxy_services") == 1)
        #expect(try #require(metricValue(text, "weft_proxy_elements")) > 0)
        #expect(metricValue(text, "weft_proxy_owned_objects") == 0)
        #expect(metricValue(text, "weft_proxy_conntrack_entries_deleted_total") == 2)
        #expect(metricValue(text, "weft_proxy_conntrack_failures_total") == 1)
        #expect(metricValue(text, "weft_proxy_skipped_total") == 0)
    }

    @Test func countsSkippedServices() async throws {
        let metrics = ProxyMetrics()
        let syncer = ProxySyncer(node: ProxyNode(name: "node-a"), clusterCIDRs: [], backend: RecordingBackend())
        await syncer.set(
            try object(
                """
                apiVersion: v1
                kind: Service
                metadata: {name: bad, namespace: default}
                spec: {type: NodePort, clusterIP: 10.96.0.11, ports: [{port: 80, nodePort: 80}]}
                """) as KubeModel.Service)
        let report = try await syncer.sync()
        #expect(!report.skipped.isEmpty)
        metrics.recordSuccess(report, duration: .zero, services: 1, objects: await syncer.objectCounts)
        #expect(metricValue(metrics.prometheusText(), "weft_proxy_skipped_total") == Double(report.skipped.count))
    }

    /// kube-proxy's healthz: unhealthy until the first successful sync, after a failed one, and while a change
    /// has waited longer than the timeout.
    @Test func healthFollowsSyncsAndPendingChanges() async throws {
        let clock = TestClock(Self.noon)
        let metrics = ProxyMetrics(healthTimeout: .seconds(60), now: { clock.now })
        let agent = AgentMetrics(proxy: metrics)
        agent.recordSynced()
        let syncer = ProxySyncer(node: ProxyNode(name: "node-a"), clusterCIDRs: [], backend: RecordingBackend())
        #expect(!metrics.isHealthy)
        #expect(agent.health == (false, "service proxy: waiting for the first successful sync"))

        metrics.recordQueued()
        metrics.recordSuccess(try await syncer.sync(), duration: .zero, services: 0, objects: (0, 0))
        #expect(agent.health == (true, "ok"))

        metrics.recordQueued()
        clock.advance(59)
        metrics.recordQueued()
        #expect(metrics.isHealthy, "a change queued less than the timeout ago")
        clock.advance(2)
        #expect(agent.health == (false, "service proxy: changes pending for 61 s, last successful sync 61 s ago"))
        metrics.recordSuccess(try await syncer.sync(), duration: .zero, services: 0, objects: (0, 0))
        #expect(metrics.isHealthy)
        clock.advance(3600)
        #expect(metrics.isHealthy, "nothing pending: an old sync is still up to date")

        metrics.recordFailure(RecordingBackend.Refused())
        #expect(agent.health == (false, "service proxy: last sync failed: refused by the test"))
        #expect(metricValue(agent.prometheusText(), "weft_proxy_sync_failures_total") == 1)
        metrics.recordSuccess(try await syncer.sync(), duration: .zero, services: 0, objects: (0, 0))
        #expect(metrics.isHealthy)

        // The overlay's own reasons come first.
        let both = AgentMetrics(proxy: ProxyMetrics())
        #expect(
            both.health
                == (false, "waiting for the first list of Nodes; service proxy: waiting for the first successful sync"))
    }
}
