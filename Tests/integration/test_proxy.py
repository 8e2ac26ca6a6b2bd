"""Mode proxy end to end: SIPp caller -> bluejay-sidecar --mode proxy -> SIPp agent (the upstream UAS).

Runs the binary with ``--mode proxy --upstream sip:HOST:PORT[;transport=tcp]``.
The agent scenarios (sip-fixtures/scenarios/uas-agent-*.xml) fail the call unless the forwarded INVITE still
carries X-Simulation-Result-Id, so every passing call also checks that header survived the hop.
"""
from __future__ import annotations

import json
import subprocess
import time

import pytest

import sipp as sipp_mod
from bluejay_standin import load_validator

pytestmark = pytest.mark.sidecar


@pytest.fixture
def proxy_factory(sidecar_factory, require_sidecar_bin):
    made = []

    def make(upstream_port: int, upstream_transport: str = "udp"):
        upstream = f"sip:127.0.0.1:{upstream_port}" + (";transport=tcp" if upstream_transport == "tcp" else "")
        sc = sidecar_factory(args=["--mode", "proxy", "--upstream", upstream])
        made.append(sc)
        return sc
    make.made = made
    return make


def _run_call(proxy_factory, start_sipp, sipp_dir, unique, *, uas: str, uac: str, caller_t: str, agent_t: str,
              pause_ms: int = 300, ended_by: str | None = "caller"):
    """Runs one call caller → proxy → agent; both SIPp sides must complete. With `ended_by`, the call's
    flushed body (dry-run file) is checked: the simulation result id, the Call-ID, and the SIP events."""
    agent = sipp_mod.start_uas(uas, transport=agent_t, calls=1, timeout=30, workdir=sipp_dir)
    try:
        sc = proxy_factory(agent.local_port, "tcp" if agent_t.startswith("t") else "udp")
        prefix = unique("px")
        sim = unique("sim")
        caller = start_sipp(uac, sc.sip_port, transport=caller_t, calls=1, inf=[[sim, prefix, pause_ms]],
                            call_id_prefix=prefix, timeout=30)
        result = caller.wait(40)
        agent_result = agent.wait(20)
    finally:
        agent.kill()
    assert result.ok and result.successful == 1, "caller:\n" + result.describe() + "\nsidecar:\n" + sc.stderr_text()[-4000:]
    assert agent_result.returncode == 0 and agent_result.successful == 1, "agent:\n" + agent_result.describe()
    body = None
    if ended_by is not None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not sc.dry_run_files():
            time.sleep(0.1)
        files = sc.dry_run_files()
        assert len(files) == 1, f"one body for the call, got {files}\n" + sc.stderr_text()[-3000:]
        body = json.loads(files[0].read_text())
        assert body["simulation_result_id"] == sim
        assert body["metadata"]["sip_call_id"] == f"{prefix}-1@bluejay-test"
        titles = [e["title"] for e in body["events"]]
        assert titles[0] == "call_answered" and titles[-1] == "call_ended", titles
        assert body["events"][-1]["metadata"]["ended_by"] == ended_by, body["events"][-1]
        assert body["metadata"]["ended_by"] == ended_by
        assert body["metadata"]["sip_headers"]["X-Simulation-Result-Id"] == sim
        load_validator().validate(body)   # the schema Bluejay's API validates
    return result, agent_result, body


TRANSPORTS = [("u1", "u1"), ("t1", "t1"), ("u1", "t1")]
IDS = ["udp", "tcp", "udp-in-tcp-out"]


@pytest.mark.timeout(90)
@pytest.mark.parametrize("caller_t,agent_t", TRANSPORTS, ids=IDS)
def test_call_hung_up_by_caller(caller_t, agent_t, proxy_factory, start_sipp, sipp_dir, unique):
    _run_call(proxy_factory, start_sipp, sipp_dir, unique, uas="uas-agent-basic.xml", uac="uac-basic.xml",
              caller_t=caller_t, agent_t=agent_t)


@pytest.mark.timeout(90)
@pytest.mark.parametrize("caller_t,agent_t", TRANSPORTS, ids=IDS)
def test_call_hung_up_by_agent(caller_t, agent_t, proxy_factory, start_sipp, sipp_dir, unique):
    _run_call(proxy_factory, start_sipp, sipp_dir, unique, uas="uas-agent-bye.xml", uac="uac-proxy-callee-bye.xml",
              caller_t=caller_t, agent_t=agent_t, ended_by="agent")


@pytest.mark.timeout(90)
@pytest.mark.parametrize("caller_t,agent_t", [("u1", "u1"), ("t1", "t1")], ids=["udp", "tcp"])
def test_cancel_while_ringing(caller_t, agent_t, proxy_factory, start_sipp, sipp_dir, unique):
    _run_call(proxy_factory, start_sipp, sipp_dir, unique, uas="uas-agent-cancel.xml", uac="uac-cancel.xml",
              caller_t=caller_t, agent_t=agent_t, pause_ms=200, ended_by=None)
    # Never answered and nothing recorded by the agent: nothing goes to Bluejay.
    sc = proxy_factory.made[-1]
    time.sleep(1.0)
    assert sc.dry_run_files() == [], sc.dry_run_files()
    assert "reason=cancelled" in sc.stderr_text()


@pytest.mark.timeout(90)
@pytest.mark.parametrize("caller_t,agent_t", [("u1", "u1"), ("t1", "t1")], ids=["udp", "tcp"])
def test_call_after_proxy_auth_challenge(caller_t, agent_t, proxy_factory, start_sipp, sipp_dir, unique):
    """The agent answers the first INVITE 407 Proxy Authentication Required; the caller ACKs it and sends the INVITE
    again with Proxy-Authorization (same Call-ID and From-tag, CSeq 2: RFC 3261 §22.2, §8.1.3.5), which is answered,
    ACKed, and later ended by the caller's BYE. A 407 to the first INVITE is not the end of the call: the retried
    INVITE (same Call-ID, higher CSeq) is the call, so exactly one body goes out, answered then ended by the BYE."""
    _, _, body = _run_call(proxy_factory, start_sipp, sipp_dir, unique, uas="uas-agent-challenge.xml",
                           uac="uac-challenged.xml", caller_t=caller_t, agent_t=agent_t, ended_by="caller")
    assert body["metadata"]["end_reason"] == "bye", body["metadata"]


@pytest.mark.timeout(90)
@pytest.mark.parametrize("caller_t,agent_t", [("u1", "u1"), ("u1", "t1")], ids=["udp", "udp-in-tcp-out"])
def test_reinvite_passes_through(caller_t, agent_t, proxy_factory, start_sipp, sipp_dir, unique):
    _run_call(proxy_factory, start_sipp, sipp_dir, unique, uas="uas-agent-reinvite.xml", uac="uac-reinvite.xml",
              caller_t=caller_t, agent_t=agent_t)


@pytest.mark.timeout(60)
def test_unreachable_upstream_gets_503_or_408(proxy_factory, run_sipp, free_port, unique):
    """Nothing listens upstream: the caller's INVITE fails (503 on a refused TCP connect, 408 after Timer B on UDP)."""
    sc = proxy_factory(free_port(), "tcp")
    prefix = unique("px")
    result = run_sipp("uac-basic.xml", sc.sip_port, transport="u1", calls=1, inf=[[unique("sim"), prefix, 100]],
                      call_id_prefix=prefix, timeout=20)
    assert result.failed == 1, result.describe()
    assert "503" in result.messages or "408" in result.messages, result.describe()


@pytest.mark.timeout(90)
@pytest.mark.parametrize("caller_t,agent_t", [("u1", "u1"), ("t1", "t1")], ids=["udp", "tcp"])
def test_refer_through_the_proxy_becomes_transfer_events(caller_t, agent_t, proxy_factory, start_sipp, sipp_dir, unique):
    _, _, body = _run_call(proxy_factory, start_sipp, sipp_dir, unique, uas="uas-agent-refer.xml", uac="uac-refer.xml",
                           caller_t=caller_t, agent_t=agent_t)
    titles = [e["title"] for e in body["events"]]
    assert titles == ["call_answered", "transfer", "transfer_result", "call_ended"], titles
    transfer, outcome = body["events"][1], body["events"][2]
    assert transfer["metadata"]["refer_to"] == "<sip:human-agent@127.0.0.1:5099>"
    assert transfer["metadata"]["requested_by"] == "caller"
    assert outcome["metadata"] == {"status": "200", "succeeded": "true"}


@pytest.mark.timeout(60)
def test_sigterm_drains_the_proxy(proxy_factory, start_sipp, run_sipp, sipp_dir, unique):
    """Draining in mode proxy: a call in progress finishes through the proxy, a new INVITE gets 503."""
    import signal
    agent = sipp_mod.start_uas("uas-agent-basic.xml", transport="u1", calls=1, timeout=30, workdir=sipp_dir)
    try:
        sc = proxy_factory(agent.local_port, "udp")
        prefix = unique("pxd")
        caller = start_sipp("uac-basic.xml", sc.sip_port, transport="u1", calls=1,
                            inf=[[unique("sim"), prefix, 3000]], call_id_prefix=prefix, timeout=30)
        deadline = time.monotonic() + 10
        while "call started" not in sc.stderr_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        sc.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        while "draining" not in sc.stderr_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        late_prefix = unique("pxl")
        late = run_sipp("uac-basic.xml", sc.sip_port, transport="u1", calls=1, inf=[[unique("sim"), late_prefix, 100]],
                        call_id_prefix=late_prefix, timeout=10)
        assert late.failed == 1 and "503" in late.messages, late.describe()
        result = caller.wait(30)
        assert result.ok and result.successful == 1, result.describe()
        assert sc.proc.wait(timeout=15) == 0, sc.stderr_text()[-3000:]
    finally:
        agent.kill()
    assert len(sc.dry_run_files()) == 1, "the drained call was flushed before exit"
