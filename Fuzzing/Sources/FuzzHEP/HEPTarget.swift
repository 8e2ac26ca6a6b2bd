import BluejayHEP
import FuzzSupport

/// One mirror-port datagram: HEP v3 decoding, then the SIP payload as the mirror listener handles it.
func fuzzHEP(_ datagram: [UInt8]) {
    switch HEPDecoder.decode(datagram) {
    case .success(let packet):
        invariant(HEPDecoder.isHEP(datagram), "decoded a datagram without the HEP3 magic")
        // A payload chunk follows the 6-byte header and has a 6-byte header of its own; a header-only packet has none.
        invariant(packet.payload.map { $0.count <= datagram.count - 12 } ?? true, "payload larger than the datagram allows")
        roundTrip(packet, datagramSize: datagram.count)
    case .failure(let error):
        invariant(HEPDecoder.isHEP(datagram) || error == .notHEP, "a datagram without the magic failed as \(error)")
    }

    switch MirrorDatagram.classify(datagram) {
    case .sip(let payload, let hep):
        invariant(!payload.isEmpty, "an empty SIP payload was classified as SIP")
        invariant(hep.map(\.isSIP) ?? true, "a HEP packet of another protocol was classified as SIP")
        var duplicates = DuplicateFilter(windowMs: 2_000, capacity: 4)
        invariant(duplicates.firstSighting(payload, nowMs: 1_000), "a first sighting was taken for a copy")
        invariant(!duplicates.firstSighting(payload, nowMs: 1_001), "a copy within the window was taken as new")
        SIPProbe.receive(payload)
    case .ignored:
        break
    }
}

/// What the decoder read, encoded again, decodes to the same packet. Skipped near the 16-bit size limit: the
/// encoder writes a 2-byte capture agent id as 4 bytes, and it traps (by design) past 65,535 bytes.
private func roundTrip(_ packet: HEPPacket, datagramSize: Int) {
    guard datagramSize < 65_000 else { return }
    switch HEPDecoder.decode(HEPEncoder.encode(packet)) {
    case .success(let again):
        invariant(again == packet, "re-encoding changed the packet: \(packet) became \(again)")
    case .failure(let error):
        invariant(false, "re-encoding made an undecodable packet: \(error)")
    }
}
