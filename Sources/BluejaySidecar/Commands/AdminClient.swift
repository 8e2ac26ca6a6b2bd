import ArgumentParser
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Options shared by the commands that talk to a running sidecar's admin API.
struct AdminConnection: ParsableArguments {
    @Option(name: .long, help: "The sidecar's HTTP listener HOST:PORT.")
    var http: String = "127.0.0.1:9090"

    @Option(name: .long, help: "Admin bearer token (env BLUEJAY_SIDECAR_ADMIN_TOKEN).")
    var adminToken: String?

    @Flag(name: .long, help: "Print the API's JSON instead of a table.")
    var json = false

    /// GET or POST `path`; returns the status and body. Unreachable → a clear error, exit 69.
    func request(_ method: String, _ path: String) throws -> (status: Int, body: Data) {
        guard let url = URL(string: "http://\(http)\(path)") else {
            throw ValidationError("invalid --http '\(http)': expected HOST:PORT")
        }
        var request = URLRequest(url: url, timeoutInterval: 10)
        request.httpMethod = method
        if let token = adminToken ?? ProcessEnvironment.value("BLUEJAY_SIDECAR_ADMIN_TOKEN"), !token.isEmpty {
            request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        }
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: (Int, Data)?
        nonisolated(unsafe) var failure: Error?
        URLSession.shared.dataTask(with: request) { data, response, error in
            if let error { failure = error } else { result = ((response as? HTTPURLResponse)?.statusCode ?? 0, data ?? Data()) }
            done.signal()
        }.resume()
        done.wait()
        guard let result else {
            FileHandle.standardError.write(Data("bluejay-sidecar: cannot reach the sidecar at http://\(http) (\(failure.map { "\($0.localizedDescription)" } ?? "no answer")). Is it running, and is --http right?\n".utf8))
            throw ExitCode(69)
        }
        if result.0 == 401 || result.0 == 403 {
            FileHandle.standardError.write(Data("bluejay-sidecar: the sidecar refused the admin request (HTTP \(result.0)); pass --admin-token or set BLUEJAY_SIDECAR_ADMIN_TOKEN\n".utf8))
            throw ExitCode(77)
        }
        return result
    }

    func object(_ data: Data) throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ValidationError("the sidecar answered something that is not a JSON object")
        }
        return object
    }

    func printJSON(_ data: Data) {
        FileHandle.standardOutput.write(data)
        FileHandle.standardOutput.write(Data("\n".utf8))
    }
}

/// Column-aligned text tables for the terminal.
enum TextTable {
    static func render(_ header: [String], _ rows: [[String]]) -> String {
        var widths = header.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, c in c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces)
        }
        return ([line(header), line(widths.map { String(repeating: "-", count: $0) })] + rows.map(line)).joined(separator: "\n") + "\n"
    }

    /// `yesNo`: the column holds booleans. (Foundation's JSON numbers cast to Bool on Linux, so a column's
    /// meaning, not the value's type, decides.)
    static func cell(_ value: Any?, yesNo: Bool = false) -> String {
        switch value {
        case nil, is NSNull: return "-"
        case let n as NSNumber where yesNo: return n.boolValue ? "yes" : "no"
        case let n as NSNumber: return n.stringValue
        case let s as String: return s
        default: return "\(value!)"
        }
    }
}

/// A command that ran and failed (not a usage error): its message on stderr, exit code 1.
struct CommandFailure: Error {
    init(_ message: String) {
        FileHandle.standardError.write(Data("bluejay-sidecar: \(message)\n".utf8))
    }
}

extension CommandFailure {
    static func exit(_ message: String) -> ExitCode {
        _ = CommandFailure(message)
        return ExitCode(1)
    }
}
