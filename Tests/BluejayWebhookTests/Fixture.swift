import Foundation

/// The example bodies from Bluejay's events-webhook.md, one file each under Fixtures/.
enum Fixture: String, CaseIterable {
    /// The first example on the page, with Mintlify's `<string>` / `123` placeholders.
    case simulationResultEvaluatedPlaceholders = "simulation_result_evaluated.placeholders"
    case simulationResultEvaluated = "simulation_result_evaluated"
    case observabilityCallEvaluated = "observability_call_evaluated"
    case simulationEnded = "simulation_ended"
    case outboundSimulationStarted = "outbound_simulation_started"

    var bytes: [UInt8] {
        get throws {
            guard let url = Bundle.module.url(forResource: rawValue, withExtension: "json", subdirectory: "Fixtures") else {
                throw NSError(domain: "Fixture", code: 0, userInfo: [NSLocalizedDescriptionKey: "missing Fixtures/\(rawValue).json in Bundle.module"])
            }
            return Array(try Data(contentsOf: url))
        }
    }

    var text: String {
        get throws { String(decoding: try bytes, as: UTF8.self) }
    }

    /// The raw text of the first `"key": [ … ]` array in the fixture (the fixtures hold no brackets inside strings).
    func rawArray(_ key: String) throws -> [UInt8] {
        let t = try bytes
        let marker = Array("\"\(key)\":".utf8)
        guard let at = (0...(t.count - marker.count)).first(where: { Array(t[$0..<($0 + marker.count)]) == marker }),
              let open = t[(at + marker.count)...].firstIndex(of: UInt8(ascii: "[")) else {
            throw NSError(domain: "Fixture", code: 1, userInfo: [NSLocalizedDescriptionKey: "no \(key) array in \(rawValue)"])
        }
        var depth = 0
        for i in open..<t.count {
            if t[i] == UInt8(ascii: "[") { depth += 1 }
            if t[i] == UInt8(ascii: "]") { depth -= 1; if depth == 0 { return Array(t[open...i]) } }
        }
        throw NSError(domain: "Fixture", code: 2, userInfo: [NSLocalizedDescriptionKey: "unbalanced \(key) in \(rawValue)"])
    }
}
