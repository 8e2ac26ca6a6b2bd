import BluejaySIP
import FuzzSupport

/// One input, two paths: as a UDP datagram, and as a TCP byte stream cut into frames by `SIPStreamFramer`.
func fuzzSIP(_ bytes: [UInt8]) {
    SIPProbe.receive(bytes)
    stream(bytes)
}

/// Small enough that libFuzzer's inputs reach the too-large path too.
private let frameLimit = 2_048

/// Framing must not depend on how TCP cut the stream: the input fed whole and fed in random pieces (1-64
/// bytes, chosen from the input so a crash replays) give the same frames. Every framed message goes the
/// datagram path.
private func stream(_ bytes: [UInt8]) {
    let whole = frames([bytes[...]])
    var random = InputRandom(bytes)
    var pieces: [ArraySlice<UInt8>] = []
    var start = 0
    while start < bytes.count {
        let end = min(bytes.count, start + 1 + random.next(below: 64))
        pieces.append(bytes[start..<end])
        start = end
    }
    let chunked = frames(pieces)
    invariant(whole == chunked, "framing depends on the chunking: \(whole.count) frames whole, \(chunked.count) chunked")
    for case .message(let message) in whole {
        invariant(message.count <= frameLimit, "a \(message.count)-byte frame over the \(frameLimit)-byte limit")
        SIPProbe.receive(message)
    }
}

private enum Frame: Equatable {
    case message([UInt8])
    case keepAlive
    case error
}

private func frames(_ pieces: [ArraySlice<UInt8>]) -> [Frame] {
    var framer = SIPStreamFramer(maxMessageSize: frameLimit)
    var out: [Frame] = []
    for piece in pieces {
        piece.withUnsafeBytes { framer.append($0) }
        while let frame = framer.next() {
            switch frame {
            case .message(let bytes): out.append(.message(bytes))
            case .keepAlive: out.append(.keepAlive)
            case .error:
                // Sticky: the listener closes the connection here.
                out.append(.error)
                return out
            }
        }
    }
    return out
}
