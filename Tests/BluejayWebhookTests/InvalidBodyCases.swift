/// Per variant: each required field removed, and wrong types on required and used fields.
/// Strings for ids are missing from the wrong types on purpose: the decoder accepts them (see LenientBodyTests).
enum InvalidBodyCases {
    static let simulationResultEvaluated: [InvalidBodyCase] =
        InvalidBodyCase.removing(.simulationResultEvaluated, [
            "id", "digital_human_id", "simulation_run_id", "simulation_id", "agent_id",
            "evaluations[0].avg_agent_latency", "evaluations[0].agent_speak_percentage",
            "tool_calls[0].name", "tool_calls[0].start_offset_ms",
        ]) + InvalidBodyCase.setting(.simulationResultEvaluated, [
            ("id", "true"), ("id", "1.5"), ("id", "null"), ("digital_human_id", "{}"), ("simulation_run_id", "[]"),
            ("simulation_id", "false"), ("agent_id", "null"), ("status", "5"), ("status", "null"),
            ("evaluations", #""x""#), ("evaluations[0]", "3"), ("evaluations[0].goal_success", #""yes""#),
            ("evaluations[0].hallucination", "1"), ("evaluations[0].avg_agent_latency", #""fast""#),
            ("evaluations[0].agent_speak_percentage", "true"), ("evaluations[0].latency", "[]"),
            ("evaluations[0].latency.avg_agent_latency", "{}"), ("evaluations[0].latency.p50_agent_latency", #""1""#),
            ("evaluations[0].latency.p90_agent_latency", "true"),
            ("tool_calls", "{}"), ("tool_calls[0]", #""x""#), ("tool_calls[0].name", "1"),
            ("tool_calls[0].start_offset_ms", "1.5"), ("tool_calls[0].start_offset_ms", "-1"),
            ("tool_calls[0].start_offset_ms", #""1""#), ("tool_calls[0].description", "1"), ("tool_calls[0].parameters", "[]"),
        ]) + [
            // Later elements are checked too, not just the one we export figures from.
            InvalidBodyCase(.simulationResultEvaluated, .set("evaluations[1]", json: #"{"agent_speak_percentage": 1}"#),
                            field: "evaluations[1].avg_agent_latency"),
            InvalidBodyCase(.simulationResultEvaluated, .set("tool_calls[1]", json: #"{"name": "x", "start_offset_ms": -5}"#),
                            field: "tool_calls[1].start_offset_ms"),
        ]

    static let observabilityCallEvaluated: [InvalidBodyCase] =
        InvalidBodyCase.removing(.observabilityCallEvaluated, [
            "id", "agent_id", "recording_url", "start_time_utc", "participants", "status", "participants[0].role",
            "evaluations[0].avg_agent_latency", "tool_calls[0].start_offset_ms",
        ]) + InvalidBodyCase.setting(.observabilityCallEvaluated, [
            ("id", "true"), ("id", "null"), ("agent_id", "null"), ("agent_id", "{}"), ("recording_url", "1"),
            ("start_time_utc", "null"), ("participants", "{}"), ("participants[0]", #""AGENT""#),
            ("participants[0].role", "1"), ("status", "null"), ("status", "1"),
            ("evaluations[0].goal_success", #""true""#), ("evaluations[0].latency.p90_agent_latency", "[]"),
            ("tool_calls[0].start_offset_ms", "null"),
        ])

    static let simulationEnded: [InvalidBodyCase] =
        InvalidBodyCase.removing(.simulationEnded, ["id", "digital_human_id", "simulation_run_id"])
        + InvalidBodyCase.setting(.simulationEnded, [
            ("id", "[]"), ("id", "0.5"), ("digital_human_id", "2.5"), ("simulation_run_id", "null"), ("status", "7"),
        ])

    static let outboundSimulationStarted: [InvalidBodyCase] =
        InvalidBodyCase.removing(.outboundSimulationStarted, [
            "agent_id", "simulation_id", "simulation_run_id", "digital_humans",
            "digital_humans[0].id", "digital_humans[0].name", "digital_humans[0].phone_number",
        ]) + InvalidBodyCase.setting(.outboundSimulationStarted, [
            ("agent_id", "null"), ("simulation_id", "{}"), ("simulation_run_id", "1.5"), ("digital_humans", "{}"),
            ("digital_humans[0]", "[]"), ("digital_humans[0].id", "true"), ("digital_humans[0].name", "null"),
            ("digital_humans[0].phone_number", "15551234567"),
            ("digital_humans[0].associated_simulation_result_ids", "null"),
            ("digital_humans[0].associated_simulation_result_ids", "{}"),
            ("digital_humans[0].associated_simulation_result_ids[0]", "1.5"),
            ("digital_humans[0].associated_simulation_result_ids[0]", "true"),
        ]) + [
            InvalidBodyCase(.outboundSimulationStarted,
                            .set("digital_humans[1]", json: #"{"id": 2, "name": "b", "phone_number": 15550000000}"#),
                            field: "digital_humans[1].phone_number"),
        ]

    static let all = simulationResultEvaluated + observabilityCallEvaluated + simulationEnded + outboundSimulationStarted
}
