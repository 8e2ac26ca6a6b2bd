/// A body handed to `BluejayClient.post` that has not been given a transfer slot yet.
struct PendingPost {
    let body: [UInt8]
    let completion: @Sendable (DeliveryOutcome) -> Void
}
