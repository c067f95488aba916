import Testing

@testable import Policy

struct PolicyTableTests {
    @Test func ownsItsOwnTable() { #expect(PolicyTable.name == "weft-policy") }
}
