/// One validated agent record, ready to store and later splice into the flush body without re-parsing.
public struct AgentRecord: Equatable, Sendable {
    public var kind: AgentRecordKind
    public var call: CallReference
    public var start: RecordTime
    /// Events and transcript entries only (transcript: defaults to `start`).
    public var end: RecordTime?
    /// Bluejay-shaped JSON object members WITHOUT start_offset_ms/end_offset_ms and without braces,
    /// ready for `RecordSplice`: tool call `name,description,parameters,output`; event
    /// `title,description,tags,metadata`; transcript `speaker,utterance,filler_utterance`
    /// (absent optionals omitted, agent values copied raw). For `metadata` records: the raw
    /// metadata object (with braces); for `tags`: the raw tags array (with brackets).
    public var fragment: [UInt8]

    public init(kind: AgentRecordKind, call: CallReference, start: RecordTime, end: RecordTime?, fragment: [UInt8]) {
        self.kind = kind
        self.call = call
        self.start = start
        self.end = end
        self.fragment = fragment
    }
}
