/// Where and how to POST results: the base URL, credentials and time limits of one Bluejay account.
public struct BluejayEndpoint: Sendable {
    public var baseURL: String
    public var apiKey: String
    /// Whole-transfer limit; a server that accepts the connection and never answers costs at most this.
    public var timeoutMs: Int
    public var connectTimeoutMs: Int
    public var userAgent: String

    public init(baseURL: String, apiKey: String, timeoutMs: Int = 10_000, connectTimeoutMs: Int = 5_000,
                userAgent: String = "bluejay-sidecar") {
        self.baseURL = baseURL
        self.apiKey = apiKey
        self.timeoutMs = timeoutMs
        self.connectTimeoutMs = connectTimeoutMs
        self.userAgent = userAgent
    }

    /// `baseURL` without trailing "/" + "/v1/update-simulation-result".
    public var updateSimulationResultURL: String {
        var base = Substring(baseURL)
        while base.hasSuffix("/") { base = base.dropLast() }
        return base + "/v1/update-simulation-result"
    }

    /// The fixed request headers. CR/LF are stripped from configured values so a bad key cannot inject headers;
    /// "Expect:" stops curl from waiting up to a second for "100 Continue" on larger bodies.
    var headerLines: [String] {
        ["X-API-Key: " + Self.singleLine(apiKey), "Content-Type: application/json", "Expect:"]
    }

    static func singleLine(_ value: String) -> String {
        String(value.unicodeScalars.filter { $0 != "\r" && $0 != "\n" && $0 != "\0" }.map(Character.init))
    }
}
