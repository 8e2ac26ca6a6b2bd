"""kill -9 in the middle of a call, and between the BYE and the delivery."""
from __future__ import annotations

import time

import pytest

import agent as A
from expect import check_body, dump, standard_plan, write_plan
from sipp import call_id, free_port, from_tag, parse_dialog_log

pytestmark = pytest.mark.sidecar


@pytest.mark.timeout(60)
@pytest.mark.parametrize("transport", ["u1", "t1"])
def test_call_survives_kill9(transport, sidecar, standin, agent_factory, run_sipp, unique):
    prefix = unique(f"crash-{transport}")
    sim = f"{prefix}-sim"
    cid = call_id(prefix, 1)
    lport = free_port()  # both SIPp halves use the same local address

    # 1. INVITE / 200 / ACK; SIPp logs the dialog identifiers and leaves the call up
    first = run_sipp("uac-invite-only.xml", sidecar.sip_port, transport=transport, calls=1,
                     inf=[(sim, prefix, 0)], call_id_prefix=prefix, timeout=20, local_port=lport)
    assert first.ok, first.describe()
    (dialog,) = parse_dialog_log(first.logs)
    assert dialog["call_id"] == cid and dialog["from_tag"] == from_tag(prefix, 1), dialog
    assert dialog["to_tag"], dialog

    # 2. the agent writes everything; every record is acknowledged
    client = agent_factory(sidecar)
    plan = standard_plan(1, sim, cid)
    write_plan(client, plan)
    client.close()

    # 3. crash, restart on the same data dir
    sidecar.kill9()
    sidecar.restart()
    client = agent_factory(sidecar)
    st = client.lookup(call_id=cid)
    assert st.get("ok") is True and st.get("state") == "active" and st.get("simulation_result_id") == sim, st
    late = A.tool_call("after_restart", {"z": 1}, "ok", call_id=cid, start_offset_ms=4000)
    assert client.request(late).get("ok") is True
    plan.tool_calls.append(dict(name="after_restart", parameters={"z": 1}, output="ok", offset=4000))

    # 4. BYE from a fresh SIPp process with the logged identifiers -> 200
    ruri = dialog["contact"].split(";", 1)[0]
    second = run_sipp("uac-bye-only.xml", sidecar.sip_port, transport=transport, calls=1,
                      inf=[(sim, prefix, 0, dialog["from_tag"], dialog["to_tag"], ruri)],
                      cid_str=cid, timeout=20, local_port=lport)
    assert second.ok, second.describe()

    # 5. one body with every acknowledged record
    (req,) = standin.wait_for(1, timeout=15, status=200)
    standin.wait_quiet(quiet_s=1.0, timeout=10)
    assert len(standin.requests) == 1, standin.summary()
    try:
        check_body(req.body, plan, expect_headers={"X-Bluejay-Test": "yes"}, slack_ms=60000)
    except AssertionError as e:
        raise AssertionError(f"{e}\nbody:\n{dump(req.body)}") from None
    assert standin.problems == []


@pytest.mark.timeout(60)
def test_outbox_survives_kill9_before_delivery(sidecar, standin, agent, run_sipp, start_sipp, unique):
    prefix = unique("outbox")
    sims = [f"{prefix}-sim-{i}" for i in range(1, 4)]
    standin.fail_all(503)
    proc = start_sipp("uac-basic.xml", sidecar.sip_port, transport="u1", calls=len(sims), rate=20,
                      inf=[(s, prefix, 500) for s in sims], call_id_prefix=prefix, timeout=20)
    for i in range(1, len(sims) + 1):
        agent.wait_state(call_id=call_id(prefix, i), timeout=10)
        assert agent.request(A.tool_call("kept", {"i": i}, i, call_id=call_id(prefix, i),
                                         start_offset_ms=i))["ok"] is True
    res = proc.wait()
    assert res.ok, res.describe()
    standin.wait_for(len(sims), timeout=15, predicate=lambda r: r.status == 503)
    sidecar.kill9()
    # A retry the dead process sent just before the kill is still answered 503, not taken for the restart's.
    standin.wait_quiet(quiet_s=0.5, timeout=10)
    standin.clear_failures()
    sidecar.restart()
    standin.wait_for(len(sims), timeout=20, status=200)
    standin.wait_quiet(quiet_s=1.0, timeout=10)
    for i, s in enumerate(sims, start=1):
        ok = [r for r in standin.requests_for(s) if r.status == 200]
        assert len(ok) == 1, standin.summary()
        assert [t["name"] for t in ok[0].body["tool_calls"]] == ["kept"]
        assert ok[0].body["tool_calls"][0]["parameters"] == {"i": i}
    assert standin.problems == []


@pytest.mark.timeout(60)
def test_record_acknowledged_while_the_call_rings_survives_kill9(sidecar_factory, standin, agent_factory,
                                                                 start_sipp, run_sipp, unique):
    """A record the agent writes while the call still rings (--ring-ms) is acknowledged like any other, so it
    must survive a crash like any other: the call is in the store from its INVITE, not from its answer."""
    sc = sidecar_factory(bluejay_url=standin.url, api_key=standin.api_key, args=["--ring-ms", "1500"])
    prefix = unique("ringing")
    sim = f"{prefix}-sim"
    cid = call_id(prefix, 1)
    lport = free_port()
    proc = start_sipp("uac-invite-only.xml", sc.sip_port, transport="u1", calls=1,
                      inf=[(sim, prefix, 0)], call_id_prefix=prefix, timeout=20, local_port=lport)
    client = agent_factory(sc)
    st = client.wait_state(call_id=cid, states=("ringing",), timeout=10)
    assert st.get("state") == "ringing", st
    r = client.request(A.tool_call("while_ringing", {"r": 1}, "ok", call_id=cid, start_offset_ms=10))
    assert r.get("ok") is True, r
    first = proc.wait()
    assert first.ok, first.describe()
    (dialog,) = parse_dialog_log(first.logs)
    client.close()

    sc.kill9()
    sc.restart()
    ruri = dialog["contact"].split(";", 1)[0]
    second = run_sipp("uac-bye-only.xml", sc.sip_port, transport="u1", calls=1,
                      inf=[(sim, prefix, 0, dialog["from_tag"], dialog["to_tag"], ruri)],
                      cid_str=cid, timeout=20, local_port=lport)
    assert second.ok, second.describe()
    (req,) = standin.wait_for(1, timeout=15, status=200)
    assert [t["name"] for t in req.body["tool_calls"]] == ["while_ringing"], dump(req.body)
    assert standin.problems == []
