import BluejayJSON

/// Appends `"key":value` pairs without braces; keys are our own ASCII literals, values raw agent JSON.
struct FragmentBuilder {
    private(set) var bytes: [UInt8]

    init(capacity: Int) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    mutating func member(_ key: StaticString, raw value: ArraySlice<UInt8>) {
        if !bytes.isEmpty { bytes.append(UInt8(ascii: ",")) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(contentsOf: UnsafeBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount))
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
        bytes.append(contentsOf: value)
    }

    mutating func member(_ key: StaticString, raw value: RawJSON?) {
        if let value { member(key, raw: value.bytes) }
    }
}
