"""What an agent writes for a call, and checks of what the sidecar flushed."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Optional

import agent as A
from agent import AgentClient

SIP_METADATA_KEYS = ("sip_call_id", "from", "to", "answered_at", "ended_at", "duration_ms",
                     "ended_by", "sip_headers")


def utc_now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class CallPlan:
    """The records one agent writes for one call, and what the flush must hold."""
    index: int
    sim_id: str
    call_id: str
    by_sim_id: bool = False   # name the call by simulation_result_id instead of call_id
    messages: list[dict] = field(default_factory=list)
    tool_calls: list[dict] = field(default_factory=list)     # expected (name, parameters, output, offset|None)
    events: list[dict] = field(default_factory=list)
    transcript: list[dict] = field(default_factory=list)
    metadata: dict = field(default_factory=dict)

    def who(self) -> dict:
        return {"sim_id": self.sim_id} if self.by_sim_id else {"call_id": self.call_id}


def standard_plan(index: int, sim_id: str, call_id: str, by_sim_id: bool = False) -> CallPlan:
    """3 tool calls (one in the prose-guide shape with a timestamp) + 1 event +
    1 metadata + 1 transcript line."""
    p = CallPlan(index, sim_id, call_id, by_sim_id)
    who = p.who()
    params1 = {"order_id": f"ORD-{index:04d}", "include": ["items", "shipping"],
               "nested": {"n": index, "f": 2.5, "none": None, "yes": True, "text": "café ☕ \"quoted\""}}
    out1 = {"status": "shipped", "eta_days": 2, "items": [{"sku": "A-1", "qty": 1}]}
    params2 = {"sku": "A-1", "warehouse": "north"}
    out2 = "in stock: 7"                     # a string output
    params3 = {"subject": f"call {index}", "priority": 3}
    out3 = None                              # a null output
    m1 = A.tool_call("lookup_order", params1, out1, start_offset_ms=1200, description="Look up an order", **who)
    m2 = A.tool_call("check_inventory", params2, out2, timestamp=None, legacy_shape=True, **who)
    m3 = A.tool_call("create_ticket", params3, out3, start_offset_ms=2500, **who)
    ev = A.event("greeting_done", start_offset_ms=100, end_offset_ms=900, tags=["phase:intro", f"call:{index}"],
                 metadata={"k": index, "deep": {"x": [1, 2]}}, **who)
    md = A.metadata({"agent_version": "1.2.3", "call_index": index, "flags": {"a": True}}, **who)
    tr = A.transcript("USER", f"Hello, I want to check order ORD-{index:04d}", 0, 1500, **who)
    p.messages = [m1, m2, m3, ev, md, tr]
    p.tool_calls = [
        dict(name="lookup_order", parameters=params1, output=out1, offset=1200, description="Look up an order"),
        dict(name="check_inventory", parameters=params2, output=out2, offset=None),
        dict(name="create_ticket", parameters=params3, output=out3, offset=2500),
    ]
    p.events = [dict(title="greeting_done", start_offset_ms=100, end_offset_ms=900,
                     tags=["phase:intro", f"call:{index}"], metadata={"k": index, "deep": {"x": [1, 2]}})]
    p.transcript = [dict(speaker="USER", utterance=f"Hello, I want to check order ORD-{index:04d}",
                         start_offset_ms=0, end_offset_ms=1500)]
    p.metadata = {"agent_version": "1.2.3", "call_index": index, "flags": {"a": True}}
    return p


def write_plan(client: AgentClient, plan: CallPlan, states=("active",), wait_timeout: float = 10.0) -> list[dict]:
    """Wait until the call is up, then write every record; each must be acked ok.
    The timestamped tool call gets the current time just before it is sent."""
    client.wait_state(**plan.who(), states=states, timeout=wait_timeout)
    replies = []
    for msg in plan.messages:
        if msg.get("type") == "tool_call" and "start_offset_ms" not in msg and "timestamp" not in msg:
            msg = dict(msg, timestamp=utc_now_iso())
        r = client.request(msg)
        assert r == {"ok": True} or r.get("ok") is True, f"record for call {plan.index} refused: {msg} -> {r}"
        replies.append(r)
    return replies


def sip_headers_map(body: dict) -> dict[str, str]:
    """metadata.sip_headers as {lower-case name: value}; accepts a dict (value or
    list of values) or a list of {name, value} / [name, value] pairs."""
    raw = (body.get("metadata") or {}).get("sip_headers")
    out: dict[str, str] = {}
    if isinstance(raw, dict):
        for k, v in raw.items():
            out[k.lower()] = v[0] if isinstance(v, list) and v else v
    elif isinstance(raw, list):
        for item in raw:
            if isinstance(item, dict):
                out[str(item.get("name", "")).lower()] = item.get("value")
            elif isinstance(item, (list, tuple)) and len(item) == 2:
                out[str(item[0]).lower()] = item[1]
    return out


def _parse_time(v: Any) -> Optional[datetime]:
    if not isinstance(v, str):
        return None
    try:
        return datetime.fromisoformat(v.replace("Z", "+00:00"))
    except ValueError:
        return None


def check_body(body: dict, plan: CallPlan, *, ended_by: Optional[str] = "caller",
               expect_headers: Optional[dict] = None, slack_ms: int = 3000) -> None:
    """Assert the flushed body holds exactly the plan's records, verbatim."""
    ctx = f"call {plan.index} ({plan.sim_id}): "
    assert body.get("simulation_result_id") == plan.sim_id, ctx + "wrong simulation_result_id"
    md = body.get("metadata") or {}
    for k in SIP_METADATA_KEYS:
        assert k in md, ctx + f"metadata lacks sidecar key {k!r}: {sorted(md)}"
    assert md["sip_call_id"] == plan.call_id, ctx + f"sip_call_id {md['sip_call_id']!r}"
    assert "caller@" in str(md["from"]), ctx + f"from {md['from']!r}"
    assert "agent@" in str(md["to"]), ctx + f"to {md['to']!r}"
    if ended_by is not None:
        assert md["ended_by"] == ended_by, ctx + f"ended_by {md['ended_by']!r}"
    assert isinstance(md["duration_ms"], int) and md["duration_ms"] >= 0, ctx + f"duration_ms {md['duration_ms']!r}"
    t_ans, t_end = _parse_time(md["answered_at"]), _parse_time(md["ended_at"])
    assert t_ans is not None and t_end is not None, ctx + f"answered_at/ended_at not ISO 8601: {md['answered_at']!r} {md['ended_at']!r}"
    assert t_end >= t_ans, ctx + "ended_at before answered_at"
    for k, v in plan.metadata.items():
        assert md.get(k) == v, ctx + f"agent metadata {k!r}: {md.get(k)!r} != {v!r}"
    hdrs = sip_headers_map(body)
    for k, v in (expect_headers or {}).items():
        assert hdrs.get(k.lower()) == v, ctx + f"sip_headers[{k}] = {hdrs.get(k.lower())!r}, want {v!r} (all: {hdrs})"

    duration = md["duration_ms"]
    tcs = body.get("tool_calls") or []
    assert len(tcs) == len(plan.tool_calls), ctx + f"{len(tcs)} tool_calls, want {len(plan.tool_calls)}: {tcs}"
    by_name = {tc.get("name"): tc for tc in tcs}
    assert len(by_name) == len(tcs), ctx + f"duplicate tool call names: {tcs}"
    for want in plan.tool_calls:
        got = by_name.get(want["name"])
        assert got is not None, ctx + f"tool call {want['name']} missing: {tcs}"
        assert got.get("parameters") == want["parameters"], ctx + f"{want['name']} parameters changed: {got.get('parameters')}"
        assert got.get("output") == want["output"], ctx + f"{want['name']} output changed: {got.get('output')!r}"
        off = got.get("start_offset_ms")
        assert isinstance(off, int) and off >= 0, ctx + f"{want['name']} start_offset_ms {off!r}"
        if want["offset"] is not None:
            assert off == want["offset"], ctx + f"{want['name']} offset {off} != {want['offset']}"
        else:  # stamped from a timestamp taken while the call was up
            assert off <= duration + slack_ms, ctx + f"{want['name']} offset {off} beyond call ({duration} ms)"
        if want.get("description") is not None:
            assert got.get("description") == want["description"], ctx + f"{want['name']} description"

    all_events = body.get("events") or []
    # SIP-derived events (tagged "sip") come from the sidecar itself: one call_answered, one call_ended.
    sip = [e for e in all_events if "sip" in (e.get("tags") or [])]
    assert [e["title"] for e in sip if e["title"] in ("call_answered", "call_ended")] == ["call_answered", "call_ended"], \
        ctx + f"SIP events {sip}"
    ended = next(e for e in sip if e["title"] == "call_ended")
    assert ended["metadata"]["ended_by"] == body["metadata"]["ended_by"], ctx + f"call_ended {ended}"
    assert all(isinstance(e["start_offset_ms"], int) and e["start_offset_ms"] >= 0 for e in sip), ctx + f"SIP events {sip}"
    evs = [e for e in all_events if "sip" not in (e.get("tags") or [])]
    assert len(evs) == len(plan.events), ctx + f"events {evs}"
    for want, got in zip(plan.events, evs):
        for k, v in want.items():
            assert got.get(k) == v, ctx + f"event {k}: {got.get(k)!r} != {v!r}"
    trs = body.get("recorded_transcript") or []
    assert len(trs) == len(plan.transcript), ctx + f"transcript {trs}"
    for want, got in zip(plan.transcript, trs):
        for k, v in want.items():
            assert got.get(k) == v, ctx + f"transcript {k}: {got.get(k)!r} != {v!r}"


def dump(obj: Any) -> str:
    return json.dumps(obj, indent=1, ensure_ascii=False)[:4000]
