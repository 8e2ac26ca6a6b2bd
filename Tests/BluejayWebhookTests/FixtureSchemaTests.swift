import BluejayTestSupport
import XCTest

/// The fixtures are Bluejay's own examples: they must satisfy its schema, or the decoding tests prove little.
final class FixtureSchemaTests: XCTestCase {
    static let schema = "events-webhook.schema.json"

    func testEveryFixtureIsValidAgainstTheSchema() throws {
        let fixtures = Fixture.allCases
        let verdicts = try SchemaValidator.violations(bodies: fixtures.map { try $0.text }, schemaName: Self.schema)
        for (fixture, verdict) in zip(fixtures, verdicts) {
            XCTAssertNil(verdict, "\(fixture.rawValue) breaks the schema: \(verdict ?? "")")
        }
    }

    /// The validator must be able to say no (and a missing schema must fail, not look like a "no"),
    /// or the agreement checks prove nothing.
    func testValidatorRejectsABodyWithoutType() throws {
        let verdicts = try SchemaValidator.violations(bodies: [#"{"id": 1}"#, #"{"type": "simulation_ended"}"#], schemaName: Self.schema)
        XCTAssertEqual(verdicts.count, 2)
        XCTAssertTrue(verdicts[0]?.contains("'type' is a required property") ?? false, "\(verdicts)")
        XCTAssertTrue(verdicts[1]?.contains("'id' is a required property") ?? false, "\(verdicts)")
    }
}
