import BluejayJSON
import Foundation
import XCTest

/// JSONTestSuite-style tables: y_ must parse (and round-trip their raw text), n_ must be rejected.
final class JSONConformanceTests: XCTestCase {
    static let accepted: [(String, String)] = [
        ("y_object_empty", "{}"),
        ("y_array_empty", "[]"),
        ("y_object_nested", #"{"a":{"b":[1,{"c":null}]}}"#),
        ("y_object_duplicate_keys", #"{"a":1,"a":2}"#),
        ("y_object_empty_key", #"{"":0}"#),
        ("y_object_whitespace", " \t\r\n{ \"a\" : [ 1 , 2 ] }\n "),
        ("y_array_heterogeneous", #"[null,true,false,"s",-0,0.5,{}]"#),
        ("y_string_empty", #""""#),
        ("y_string_escapes", #""\"\\\/\b\f\n\r\t""#),
        ("y_string_unicode_escape", #""\u00e9\u4E2D""#),
        ("y_string_surrogate_pair", #""\ud83d\ude00""#),
        ("y_string_utf8_2byte", "\"é\""),
        ("y_string_utf8_3byte", "\"中\""),
        ("y_string_utf8_4byte", "\"😀\""),
        ("y_string_del_char", "\"\u{7F}\""),
        ("y_string_escaped_nul", #""\u0000""#),
        ("y_number_zero", "0"),
        ("y_number_negative_zero", "-0"),
        ("y_number_int", "123"),
        ("y_number_negative", "-123"),
        ("y_number_fraction", "1500.00"),
        ("y_number_exponent", "1e400"),
        ("y_number_exponent_upper_sign", "1E+2"),
        ("y_number_exponent_negative", "-1.5e-10"),
        ("y_number_zero_fraction", "0.0"),
        ("y_number_huge_int", "123456789012345678901234567890"),
        ("y_literal_true", "true"),
        ("y_literal_false", "false"),
        ("y_literal_null", "null"),
        ("y_trailing_whitespace", "[1] \n"),
    ]

    static let rejected: [(String, [UInt8])] = [
        ("n_trailing_comma_array", b("[1,]")),
        ("n_trailing_comma_object", b(#"{"a":1,}"#)),
        ("n_leading_comma", b("[,1]")),
        ("n_double_comma", b("[1,,2]")),
        ("n_missing_colon", b(#"{"a" 1}"#)),
        ("n_missing_value", b(#"{"a":}"#)),
        ("n_unquoted_key", b("{a:1}")),
        ("n_single_quotes", b("['a']")),
        ("n_comment_line", b("[1] // c")),
        ("n_comment_block", b("/* c */ [1]")),
        ("n_unclosed_array", b("[1")),
        ("n_unclosed_object", b(#"{"a":1"#)),
        ("n_unclosed_string", b(#""abc"#)),
        ("n_extra_close", b("[1]]")),
        ("n_two_values", b("1 2")),
        ("n_garbage_after", b("{}x")),
        ("n_nan", b("NaN")),
        ("n_infinity", b("[Infinity]")),
        ("n_negative_infinity", b("-Infinity")),
        ("n_leading_zero", b("01")),
        ("n_leading_zero_negative", b("-01")),
        ("n_leading_plus", b("+1")),
        ("n_dot_no_digits", b("1.")),
        ("n_dot_first", b(".5")),
        ("n_exponent_no_digits", b("1e")),
        ("n_exponent_sign_only", b("1e+")),
        ("n_hex_number", b("0x10")),
        ("n_minus_only", b("-")),
        ("n_literal_truncated", b("tru")),
        ("n_literal_capital", b("True")),
        ("n_literal_suffix", b("nulll")),
        ("n_invalid_escape", b(#""\x41""#)),
        ("n_escape_truncated_u", b(#""\u12""#)),
        ("n_escape_bad_hex", b(#""\u12G4""#)),
        ("n_lone_high_surrogate", b(#""\ud800""#)),
        ("n_lone_low_surrogate", b(#""\udc00""#)),
        ("n_high_then_non_low", b(#""\ud800\u0041""#)),
        ("n_high_then_text", b(#""\ud800abcdef""#)),
        ("n_raw_tab_in_string", b("\"a\tb\"")),
        ("n_raw_newline_in_string", b("\"a\nb\"")),
        ("n_raw_nul_in_string", [0x22, 0x00, 0x22]),
        ("n_utf8_lone_continuation", [0x22, 0x80, 0x22]),
        ("n_utf8_overlong_2byte", [0x22, 0xC0, 0xAF, 0x22]),
        ("n_utf8_overlong_3byte", [0x22, 0xE0, 0x80, 0xAF, 0x22]),
        ("n_utf8_encoded_surrogate", [0x22, 0xED, 0xA0, 0x80, 0x22]),
        ("n_utf8_above_max", [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22]),
        ("n_utf8_truncated", [0x22, 0xE4, 0xB8, 0x22]),
        ("n_utf8_invalid_byte_ff", [0x22, 0xFF, 0x22]),
        ("n_bom", [0xEF, 0xBB, 0xBF] + b("{}")),
        ("n_nul_after_value", b("1") + [0x00]),
        ("n_form_feed_whitespace", b("\u{0C}[1]")),
    ]

    static func b(_ s: String) -> [UInt8] { Array(s.utf8) }

    func testAcceptsValidJSONAndKeepsItsRawText() {
        for (name, text) in Self.accepted {
            let input = Array(text.utf8)
            do {
                let value = try RawJSON.parse(input)
                let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
                XCTAssertEqual(Array(value.bytes), Array(trimmed.utf8), name)
            } catch {
                XCTFail("\(name): \(error)")
            }
        }
    }

    func testRejectsInvalidJSON() {
        for (name, input) in Self.rejected {
            XCTAssertThrowsError(try RawJSON.parse(input), name) { error in
                guard case JSONScanError.invalid = error else { return XCTFail("\(name): \(error)") }
            }
        }
    }

    func testEmptyInput() {
        for input in ["", "   ", "\n\t\r "] {
            XCTAssertThrowsError(try RawJSON.parse(Array(input.utf8))) { XCTAssertEqual($0 as? JSONScanError, .empty) }
        }
    }

    func testErrorOffsetPointsAtTheBadByte() {
        XCTAssertThrowsError(try RawJSON.parse(Array(#"{"a":[1,2,]}"#.utf8))) { error in
            guard case let JSONScanError.invalid(offset, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(offset, 10)
        }
        XCTAssertEqual("\(JSONScanError.invalid(offset: 3, reason: "x"))", "invalid JSON at byte 3: x")
    }

    func testKindOfEachValue() throws {
        let cases: [(String, JSONKind)] = [("{}", .object), ("[]", .array), ("\"\"", .string),
                                           ("-1.5", .number), ("true", .bool), ("false", .bool), ("null", .null)]
        for (text, kind) in cases { XCTAssertEqual(try RawJSON.parse(Array(text.utf8)).kind, kind, text) }
    }
}
