/// A fixture made invalid by one mutation, and the field path the decoder must name.
struct InvalidBodyCase {
    var fixture: Fixture
    var mutation: JSONMutation
    var field: String

    /// Expected field defaults to the mutated path.
    init(_ fixture: Fixture, _ mutation: JSONMutation, field: String? = nil) {
        self.fixture = fixture
        self.mutation = mutation
        self.field = field ?? mutation.path
    }

    static func removing(_ fixture: Fixture, _ paths: [String]) -> [InvalidBodyCase] {
        paths.map { InvalidBodyCase(fixture, .remove($0)) }
    }

    static func setting(_ fixture: Fixture, _ edits: [(String, String)]) -> [InvalidBodyCase] {
        edits.map { InvalidBodyCase(fixture, .set($0.0, json: $0.1)) }
    }
}
