import BluejayTestSupport
import BluejayWebhook
import XCTest

/// Each mutated body is rejected naming the mutated field, and python-jsonschema rejects it too,
/// so the hand-written checks never claim an error the schema does not.
final class InvalidBodyTests: XCTestCase {
    private func bodies(_ cases: [InvalidBodyCase]) throws -> [String] {
        try cases.map { try $0.mutation.apply(to: $0.fixture.bytes) }
    }

    private func checkDecoderNamesField(_ cases: [InvalidBodyCase]) throws {
        for (c, body) in zip(cases, try bodies(cases)) {
            switch WebhookDecoder.decode(Array(body.utf8)) {
            case let .success(event):
                XCTFail("\(c.fixture.rawValue) \(c.mutation) was accepted as \(event)")
            case let .failure(error):
                XCTAssertEqual(error.field, c.field, "\(c.fixture.rawValue) \(c.mutation): \(error.message)")
                XCTAssertTrue(error.message.contains("`\(c.field)`"), error.message)
            }
        }
    }

    func testSimulationResultEvaluated() throws { try checkDecoderNamesField(InvalidBodyCases.simulationResultEvaluated) }
    func testObservabilityCallEvaluated() throws { try checkDecoderNamesField(InvalidBodyCases.observabilityCallEvaluated) }
    func testSimulationEnded() throws { try checkDecoderNamesField(InvalidBodyCases.simulationEnded) }
    func testOutboundSimulationStarted() throws { try checkDecoderNamesField(InvalidBodyCases.outboundSimulationStarted) }

    func testSchemaRejectsEveryMutatedBodyToo() throws {
        let cases = InvalidBodyCases.all
        let verdicts = try SchemaValidator.violations(bodies: try bodies(cases), schemaName: FixtureSchemaTests.schema)
        for (c, verdict) in zip(cases, verdicts) {
            XCTAssertNotNil(verdict, "schema accepts \(c.fixture.rawValue) with \(c.mutation)")
        }
    }
}
