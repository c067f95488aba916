import PodPrograms
import Testing

@Suite struct GoDurationTests {
    @Test(arguments: [
        ("0", Duration.zero),
        ("500ms", .milliseconds(500)),
        ("1s", .seconds(1)),
        ("2m", .seconds(120)),
        ("1h30m", .seconds(5400)),
        ("1.5s", .milliseconds(1500)),
        (".5s", .milliseconds(500)),
        ("1.5m", .seconds(90)),
        ("250us", .microseconds(250)),
        ("250µs", .microseconds(250)),
        ("7ns", .nanoseconds(7)),
        ("1m0.25s", .milliseconds(60_250)),
        ("-2s", .seconds(-2)),
        ("+3ms", .milliseconds(3)),
    ])
    func parses(text: String, expected: Duration) throws {
        #expect(try GoDuration.parse(text) == expected)
    }

    @Test(arguments: ["", "1", "s", "1x", "1.2.3s", "ms", "-", "1s2", "1 s", "9999999999h", "1S"])
    func rejects(text: String) {
        #expect(throws: GoDuration.ParseError.self) { try GoDuration.parse(text) }
    }
}
