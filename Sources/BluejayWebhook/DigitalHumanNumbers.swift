/// One digital human of an `outbound_simulation_started` event: the number the agent will dial
/// and the simulation results that call belongs to. Outbound calls carry no
/// `X-Simulation-Result-Id` header, so this is how a dialled call is tied to its result.
public struct DigitalHumanNumbers: Equatable, Sendable {
    /// `phone_number` as Bluejay sent it.
    public var phoneNumber: String
    /// `PhoneNumber.normalize(phoneNumber)`, the form dialled numbers are matched in.
    public var e164Digits: String
    /// `associated_simulation_result_ids`, each as text (integers in decimal), order kept; empty when absent.
    public var simulationResultIDs: [String]

    public init(phoneNumber: String, simulationResultIDs: [String]) {
        self.phoneNumber = phoneNumber
        self.e164Digits = PhoneNumber.normalize(phoneNumber)
        self.simulationResultIDs = simulationResultIDs
    }
}
