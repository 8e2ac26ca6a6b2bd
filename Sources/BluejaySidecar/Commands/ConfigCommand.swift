import ArgumentParser
import Foundation

/// `bluejay-sidecar config check`: validates the configuration exactly as `run` would and prints the
/// effective settings with where each came from; secrets are shown only as <redacted>.
struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "config", abstract: "Work with the configuration.",
                                                    subcommands: [ConfigCheckCommand.self])
}

struct ConfigCheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate the configuration (flags > BLUEJAY_SIDECAR_* env > --config file > defaults) and print it.")

    @OptionGroup var settings: RunOptions

    func run() async throws {
        let resolved = try await settings.resolveOrExit()
        let width = resolved.sources.map(\.key.count).max() ?? 0
        for entry in resolved.sources {
            print("\(entry.key.padding(toLength: width, withPad: " ", startingAt: 0))  \(entry.value)  (\(entry.source))")
        }
        print("configuration OK")
    }
}
