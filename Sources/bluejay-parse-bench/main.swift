// The Swift side of the parser-overhead benchmark (bench/run, part "parser"): the same loop as
// bench/tools/osip-parse.c, through BluejaySIP: parse (libosip2 plus the wrapper's checks), then Call-ID,
// CSeq number and X-Simulation-Result-Id. Run under callgrind; the ratio of instructions is the overhead.
//
//   bluejay-parse-bench LOOPS FILE...
import BluejaySIP
import Foundation

let arguments = CommandLine.arguments
guard arguments.count >= 3, let loops = Int(arguments[1]) else {
    FileHandle.standardError.write(Data("usage: bluejay-parse-bench LOOPS FILE...\n".utf8))
    exit(64)
}
let messages: [[UInt8]] = arguments.dropFirst(2).map { path in
    guard let data = FileManager.default.contents(atPath: path) else {
        FileHandle.standardError.write(Data("cannot read \(path)\n".utf8))
        exit(2)
    }
    return [UInt8](data)
}
var parsed = 0
var checksum = 0
for _ in 0..<loops {
    for bytes in messages {
        if case .message(let message) = SIPMessage.parse(bytes) {
            checksum += message.callID.utf8.count + Int(message.cseqNumber) + (message.simulationResultID?.utf8.count ?? 0)
            parsed += 1
        }
    }
}
print("{\"parsed\":\(parsed),\"checksum\":\(checksum)}")
