import Agent
import Glibc
import Synchronization
import Testing

/// The healthCheckNodePort servers, on loopback with real HTTP requests.
@Suite struct ServiceHealthServerTests {
    final class Flag: Sendable {
        let value = Mutex(true)
        var isSet: Bool { value.withLock { $0 } }
    }

    typealias Check = ServiceHealthServer.Check

    @Test func opensAnswersUpdatesInPlaceAndCloses() async throws {
        let proxyHealthy = Flag()
        let server = ServiceHealthServer(proxyHealthy: { proxyHealthy.isSet })
        let a = try freePort().port
        let b = try freePort().port
        await server.update([
            Check(namespace: "n", name: "a", port: a, localEndpoints: 2),
            Check(namespace: "n", name: "b", port: b, localEndpoints: 0),
        ])
        #expect(await server.openPorts == ["n/a": a, "n/b": b])

        let ok = try await fetch("http://127.0.0.1:\(a)/any/path?at=all")
        #expect(ok.status == 200 && ok.type == "application/json")
        #expect(
            ok.body == #"{"service":{"namespace":"n","name":"a"},"localEndpoints":2,"serviceProxyHealthy":true}"# + "\n"
        )
        #expect(try await fetch("http://[::1]:\(a)/").status == 200, "all addresses, IPv6 too")
        let none = try await fetch("http://127.0.0.1:\(b)/healthz")
        #expect(none.status == 503 && none.body.contains(#""localEndpoints":0"#))

        // The counts change in place: the same listeners answer differently.
        await server.update([
            Check(namespace: "n", name: "a", port: a, localEndpoints: 0),
            Check(namespace: "n", name: "b", port: b, localEndpoints: 1),
        ])
        #expect(await server.openPorts == ["n/a": a, "n/b": b])
        #expect(try await fetch("http://127.0.0.1:\(a)/").status == 503)
        let one = try await fetch("http://127.0.0.1:\(b)/")
        #expect(one.status == 200 && one.body.contains(#""localEndpoints":1"#))

        // An unhealthy proxy: 503 even with local endpoints, and it says so.
        proxyHealthy.value.withLock { $0 = false }
        let sick = try await fetch("http://127.0.0.1:\(b)/")
        #expect(sick.status == 503 && sick.body.contains(#""serviceProxyHealthy":false"#))
        proxyHealthy.value.withLock { $0 = true }

        // a goes away, b moves to another port.
        let c = try freePort().port
        await server.update([Check(namespace: "n", name: "b", port: c, localEndpoints: 1)])
        #expect(await server.openPorts == ["n/b": c])
        #expect(!accepts("127.0.0.1", a) && !accepts("127.0.0.1", b))
        #expect(try await fetch("http://127.0.0.1:\(c)/").status == 200)

        await server.closeAll()
        #expect(await server.openPorts.isEmpty)
        #expect(!accepts("127.0.0.1", c) && !accepts("::1", c))
    }

    @Test func aPortInUseIsTriedAgainAtTheNextUpdate() async throws {
        let (port, socket) = try freePort(hold: true)
        let server = ServiceHealthServer()
        let check = Check(namespace: "n", name: "lb", port: port, localEndpoints: 1)
        await server.update([check])
        #expect(await server.openPorts.isEmpty, "someone else holds the port")
        close(try #require(socket))
        await server.update([check])
        #expect(await server.openPorts == ["n/lb": port])
        #expect(try await fetch("http://127.0.0.1:\(port)/").status == 200)
        await server.closeAll()
    }
}
