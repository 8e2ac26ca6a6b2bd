import ArgumentParser
import BluejaySidecar

/// Through a generic constrained to `AsyncParsableCommand`, so the async `main` is chosen over the
/// synchronous one that `ParsableCommand` also offers.
func runAsync<Command: AsyncParsableCommand>(_ command: Command.Type) async { await command.main() }

await runAsync(BluejaySidecarCommand.self)
