"""GET /metrics (Prometheus text format, parsed with prometheus_client's parser)
after real calls, agent records, deliveries (one retried, one dead) and webhook
events: every counter holds exactly what happened."""
from __future__ import annotations

import pytest

import agent as A
import webhook_bodies as W
from expect import standard_plan, write_plan
from sipp import call_id

pytestmark = pytest.mark.sidecar

P = "bluejay_sidecar_"


@pytest.mark.timeout(60)
def test_metrics_after_calls_deliveries_and_webhooks(sidecar, standin, admin, agent_factory, start_sipp,
                                                     run_sipp, unique):
    # before anything: parseable, nothing counted
    m0 = admin.metrics()
    assert m0.total(P + "calls_total") == 0, m0.describe()

    # 3 calls with the standard records; one is rejected (dead), one 503 then delivered
    prefix = unique("met")
    sims = ["7801", "7802", "7803"]
    standin.reject_ids({"7803"})
    standin.fail_next(1, 503)
    plans = [standard_plan(i, s, call_id(prefix, i)) for i, s in enumerate(sims, start=1)]
    proc = start_sipp("uac-basic.xml", sidecar.sip_port, transport="u1", calls=3, rate=10,
                      inf=[(s, prefix, 1200) for s in sims], call_id_prefix=prefix, timeout=20)
    client = agent_factory(sidecar)
    for p in plans:
        write_plan(client, p)
    # while all three are up
    m_up = admin.metrics()
    assert m_up.value(P + "active_calls") == 3, m_up.describe()
    res = proc.wait()
    assert res.ok and res.successful == 3, res.describe()
    standin.wait_for(2, timeout=15, status=200)
    standin.wait_for(1, timeout=15, status=422)

    # a 4th call that never gets its BYE, ended by simulation_ended
    up_prefix = unique("metUp")
    up_cid = call_id(up_prefix, 1)
    first = run_sipp("uac-invite-only.xml", sidecar.sip_port, transport="u1", calls=1,
                     inf=[("7804", up_prefix, 0)], call_id_prefix=up_prefix, timeout=15)
    assert first.ok, first.describe()
    client.wait_state(call_id=up_cid, timeout=10)
    assert client.request(A.tags(["late"], call_id=up_cid))["ok"]
    assert admin.metrics().value(P + "active_calls") == 1

    # webhook events: 2 evaluated (goal true / false), 1 observability (goal true),
    # the simulation_ended, 1 outbound, 2 unknown
    admin.webhook_ok(W.simulation_result_evaluated(7801, goal_success=True, hallucination=False, p50=300.0, p90=600.0))
    admin.webhook_ok(W.simulation_result_evaluated(7802, goal_success=False, hallucination=True, p50=412.0, p90=880.0))
    admin.webhook_ok(W.observability_call_evaluated("obs-met-1", goal_success=True, hallucination=False,
                                                    p50=350.0, p90=700.0))
    admin.webhook_ok(W.simulation_ended(7804))
    admin.webhook_ok(W.outbound_simulation_started())
    admin.webhook_ok(W.unknown_type("a_new_kind"))
    admin.webhook_ok(W.unknown_type("another_kind"))
    assert admin.webhook(b"{broken").status == 400
    standin.wait_for(3, timeout=15, status=200)   # 7801, 7802, 7804
    admin.wait_outbox(lambda o: o["counts"].get("delivered") == 3 and o["counts"].get("dead") == 1,
                      what="3 delivered, 1 dead")

    m = admin.metrics()
    problems = []

    def want(name, expected, **labels):
        got = m.total(name, **labels)
        if got != expected:
            problems.append(f"{name}{labels}: {got}, want {expected}")

    # SIP messages: 4 INVITEs, 4 ACKs, 3 BYEs in; a 200 for each INVITE and BYE out
    want(P + "sip_messages_total", 4, direction="in", method="INVITE", code="")
    want(P + "sip_messages_total", 4, direction="in", method="ACK", code="")
    want(P + "sip_messages_total", 3, direction="in", method="BYE", code="")
    if m.total(P + "sip_messages_total", direction="out", code="200") < 7:
        problems.append(f"sip_messages_total out 200: {m.total(P + 'sip_messages_total', direction='out', code='200')}"
                        f", want >= 7")
    want(P + "active_calls", 0)
    want(P + "calls_total", 3, outcome="bye")
    want(P + "calls_total", 1, outcome="simulation_ended")
    want(P + "calls_total", 4)
    # records: 3 standard plans (3 tool calls, 1 event, 1 transcript, 1 metadata each) + 1 tags
    want(P + "ledger_records_total", 9, kind="tool_call")
    want(P + "ledger_records_total", 3, kind="event")
    want(P + "ledger_records_total", 3, kind="transcript")
    want(P + "ledger_records_total", 3, kind="metadata")
    want(P + "ledger_records_total", 1, kind="tags")
    # flush latency: one observation per flushed call
    want(P + "flush_latency_seconds_count", 4)
    if not m.find(P + "flush_latency_seconds_bucket"):
        problems.append("flush_latency_seconds has no buckets (not a histogram?)")
    else:
        inf = m.total(P + "flush_latency_seconds_bucket", le="+Inf")
        if inf != 4:
            problems.append(f"flush_latency_seconds_bucket{{le=+Inf}}: {inf}, want 4")
    fsum = m.total(P + "flush_latency_seconds_sum")
    if not 0 < fsum < 60:
        problems.append(f"flush_latency_seconds_sum {fsum}: want between 0 and 60 s")
    want(P + "outbox_depth", 0, state="pending")
    want(P + "outbox_depth", 1, state="dead")
    # the store: every acknowledged line and webhook was synced, SIP state shares syncs (test_store_sync)
    commits, syncs = m.total(P + "store_commits_total"), m.total(P + "store_syncs_total")
    if not (commits >= 10 and 1 <= syncs <= commits):
        problems.append(f"store_commits_total {commits}, store_syncs_total {syncs}: want >= 10 commits, 1..commits syncs")
    # pages written to the log: a call's first write alone is 3 (its row and two indexes; exact counts: LedgerUpsertTests)
    pages = m.total(P + "store_log_pages_total")
    if pages < 3:
        problems.append(f"store_log_pages_total {pages}: want >= 3")
    want(P + "delivery_attempts_total", 3, result="delivered")
    want(P + "delivery_attempts_total", 1, result="retry")
    want(P + "delivery_attempts_total", 1, result="dead")
    want(P + "webhook_events_total", 2, type="simulation_result_evaluated")
    want(P + "webhook_events_total", 1, type="observability_call_evaluated")
    want(P + "webhook_events_total", 1, type="simulation_ended")
    want(P + "webhook_events_total", 1, type="outbound_simulation_started")
    want(P + "webhook_events_total", 2, type="unknown")
    want(P + "evaluation_goal_success_total", 2, result="true")
    want(P + "evaluation_goal_success_total", 1, result="false")
    want(P + "evaluation_hallucination_total", 1, result="true")
    want(P + "evaluation_hallucination_total", 2, result="false")
    # latest evaluation: the observability one (posted after both simulation results)
    want(P + "evaluation_agent_latency_ms", 350.0, quantile="p50")
    want(P + "evaluation_agent_latency_ms", 700.0, quantile="p90")
    assert not problems, "\n".join(problems) + "\n--- scrape:\n" + m.describe()


@pytest.mark.timeout(30)
def test_metric_types_and_latest_latency(sidecar, standin, admin, agent, start_sipp, unique):
    """After one call with a record, one delivery and one event of each kind, every
    family is there with its type (counters ``*_total``, a histogram, gauges)."""
    prefix = unique("types")
    proc = start_sipp("uac-basic.xml", sidecar.sip_port, transport="u1", calls=1,
                      inf=[("9001", prefix, 500)], call_id_prefix=prefix, timeout=20)
    agent.wait_state(call_id=call_id(prefix, 1), timeout=10)
    assert agent.request(A.tool_call("t", {}, None, call_id=call_id(prefix, 1), start_offset_ms=1))["ok"]
    assert proc.wait().ok
    standin.wait_for(1, timeout=10, status=200)
    admin.webhook_ok(W.simulation_result_evaluated(9001, p50=123.5, p90=456.25))
    admin.webhook_ok(W.unknown_type())
    m = admin.metrics()
    want_types = {
        "sip_messages": "counter", "active_calls": "gauge", "calls": "counter",
        "ledger_records": "counter", "flush_latency_seconds": "histogram", "outbox_depth": "gauge",
        "delivery_attempts": "counter", "webhook_events": "counter", "evaluation_goal_success": "counter",
        "evaluation_hallucination": "counter", "evaluation_agent_latency_ms": "gauge",
    }
    got = {k: m.type_of(P + k) for k in want_types}
    assert got == want_types, f"metric types {got}\n--- scrape:\n{m.text[:3000]}"
    # the latency gauge equals the evaluation's p50 / p90
    assert m.value(P + "evaluation_agent_latency_ms", quantile="p50") == 123.5, m.describe()
    assert m.value(P + "evaluation_agent_latency_ms", quantile="p90") == 456.25, m.describe()
    ctype = admin.get("/metrics").headers.get("content-type", "")
    assert ctype.startswith("text/plain"), ctype


@pytest.mark.timeout(20)
def test_fresh_sidecar_exposes_gauges(sidecar, admin):
    """Before any call: the label-less gauge and the outbox gauges are there, at 0."""
    m = admin.metrics()
    assert m.value(P + "active_calls") == 0, m.text
    assert m.value(P + "outbox_depth", state="pending") == 0, m.text
    assert m.value(P + "outbox_depth", state="dead") == 0, m.text
