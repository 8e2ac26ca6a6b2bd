import ArgumentParser

/// `bluejay-sidecar`: runs the sidecar (the default subcommand) and its tools.
public struct BluejaySidecarCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "bluejay-sidecar",
        abstract: "SIP user-agent sidecar that sends a voice agent's tool calls to Bluejay.",
        discussion: """
            Answers SIP calls (mode uas), takes the agent's records as JSON lines on a Unix socket, and \
            after each call's BYE posts everything for that call to Bluejay's /v1/update-simulation-result. \
            Without an API key it runs dry: each body is written to a file instead.
            """,
        subcommands: [RunCommand.self, EmitCommand.self, CallsCommand.self, OutboxCommand.self, ResultsCommand.self, ConfigCommand.self],
        defaultSubcommand: RunCommand.self
    )

    public init() {}
}
