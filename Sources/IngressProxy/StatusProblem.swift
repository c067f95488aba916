/// Why a status condition is not in its good state: the condition's `reason` and `message`.
struct StatusProblem: Error, Sendable, Hashable {
    var reason: String
    var message: String

    init(_ reason: String, _ message: String) {
        self.reason = reason
        self.message = message
    }
}
