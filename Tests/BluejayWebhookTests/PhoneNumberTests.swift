import BluejayWebhook
import XCTest

final class PhoneNumberTests: XCTestCase {
    func testNormalize() {
        let cases: [(String, String)] = [
            ("sip:+1 (415) 555-0100@host;user=phone", "14155550100"),
            ("+15551234567", "15551234567"),
            ("+1 415-555-0100", "14155550100"),
            ("0044 20 7946 0958", "442079460958"),
            ("sip:0014155550100@gw.example", "14155550100"),
            ("tel:+1-415-555-0100;phone-context=example.com", "14155550100"),
            ("<sip:+14155550100@10.0.0.1:5060>", "14155550100"),
            (#""Bob 2" <sip:+14155550100@host>;tag=99"#, "14155550100"),
            ("SIP:%2B14155550100@host", "14155550100"),
            ("sips:14155550100:secret@host", "14155550100"),
            ("sip:+14155550100", "14155550100"),
            ("sip:alice@10.0.0.1", ""),
            ("", ""),
            ("no digits", ""),
        ]
        for (input, digits) in cases {
            XCTAssertEqual(PhoneNumber.normalize(input), digits, input)
        }
    }

    func testDigitalHumanCarriesNormalizedNumber() {
        XCTAssertEqual(DigitalHumanNumbers(phoneNumber: "+1 (555) 123-4567", simulationResultIDs: []).e164Digits, "15551234567")
    }
}
