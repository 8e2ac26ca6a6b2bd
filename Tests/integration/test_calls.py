"""SIP calls end to end: SIPp calls the sidecar, an agent writes records over
the socket, the stand-in receives one valid body per simulated call."""
from __future__ import annotations

import re
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import agent as A
from expect import check_body, dump, standard_plan, write_plan
from sipp import call_id

pytestmark = pytest.mark.sidecar

N_CALLS = 20
PAUSE_MS = 3000   # ACK -> BYE: the agent writes during this


@pytest.mark.timeout(90)
@pytest.mark.parametrize("transport", ["u1", "t1"])
def test_twenty_calls_with_records(transport, sidecar, standin, agent_factory, start_sipp, unique):
    prefix = unique(f"calls-{transport}")
    plans = [standard_plan(i, f"{prefix}-sim-{i:02d}", call_id(prefix, i), by_sim_id=(i % 4 == 0))
             for i in range(1, N_CALLS + 1)]
    rows = [(p.sim_id, prefix, PAUSE_MS) for p in plans]
    proc = start_sipp("uac-basic.xml", sidecar.sip_port, transport=transport, calls=N_CALLS, rate=20,
                      inf=rows, call_id_prefix=prefix, timeout=60)

    def agent_job(plan):
        client = agent_factory(sidecar)
        return write_plan(client, plan, wait_timeout=15)

    with ThreadPoolExecutor(max_workers=N_CALLS) as ex:
        futures = [ex.submit(agent_job, p) for p in plans]
        for f in futures:
            f.result(timeout=40)

    res = proc.wait()
    assert res.ok and res.successful == N_CALLS, res.describe()

    standin.wait_for(N_CALLS, timeout=20, status=200)
    standin.wait_quiet(quiet_s=1.0, timeout=10)
    assert standin.problems == [], standin.problems
    reqs = standin.requests
    assert len(reqs) == N_CALLS, f"want exactly one POST per call: {standin.summary()}"
    by_sim = {r.simulation_result_id: r for r in reqs}
    assert set(by_sim) == {p.sim_id for p in plans}, standin.summary()
    for p in plans:
        body = by_sim[p.sim_id].body
        try:
            check_body(body, p, expect_headers={"X-Bluejay-Test": "yes",
                                                "X-Simulation-Result-Id": p.sim_id,
                                                "X-Bluejay-Call-Ref": f"{prefix}-{p.index}"})
        except AssertionError as e:
            raise AssertionError(f"{e}\nbody:\n{dump(body)}") from None
        duration = body["metadata"]["duration_ms"]
        assert duration >= PAUSE_MS - 500, f"call {p.index} lasted {duration} ms, SIPp paused {PAUSE_MS}"
    for r in reqs:
        assert r.headers.get("x-api-key") == standin.api_key
        assert r.headers.get("content-type", "").startswith("application/json")


@pytest.mark.timeout(40)
@pytest.mark.parametrize("transport", ["u1", "t1"])
def test_calls_without_header_post_nothing(transport, sidecar, standin, agent, start_sipp, unique):
    prefix = unique(f"nohdr-{transport}")
    n = 3
    proc = start_sipp("uac-no-header.xml", sidecar.sip_port, transport=transport, calls=n, rate=10,
                      inf=[("unused", prefix, 800)] * n, call_id_prefix=prefix, timeout=30)
    st = agent.wait_state(call_id=call_id(prefix, 1), states=("active",), timeout=10)
    assert st.get("simulation_result_id") is None, st
    res = proc.wait()
    assert res.ok and res.successful == n, res.describe()
    # linger is 200 ms; give it plenty, then nothing may have been posted
    standin.wait_quiet(quiet_s=2.0, timeout=10)
    assert standin.requests == [], standin.summary()
    assert sidecar.dry_run_files() == []


@pytest.mark.timeout(40)
def test_cancel_while_ringing(sidecar_factory, standin, agent_factory, start_sipp, unique):
    sc = sidecar_factory(bluejay_url=standin.url, api_key=standin.api_key, args=["--ring-ms", "1000"])
    client = agent_factory(sc)
    prefix = unique("cancel")
    sim = f"{prefix}-sim"
    cid = call_id(prefix, 1)
    # 180 arrives at once; SIPp cancels 500 ms later, well before the 1000 ms answer
    proc = start_sipp("uac-cancel.xml", sc.sip_port, transport="u1", calls=1,
                      inf=[(sim, prefix, 500)], call_id_prefix=prefix, timeout=20)
    st = client.wait_state(call_id=cid, states=("ringing",), timeout=5, interval=0.02)
    assert st["simulation_result_id"] == sim, st
    r = client.request(A.event("ringing_seen", call_id=cid, start_offset_ms=0, tags=["ring"]))
    assert r.get("ok") is True, r
    res = proc.wait()
    assert res.ok and res.successful == 1, res.describe()   # 200 (CANCEL) + 487 (INVITE) seen
    assert "SIP/2.0 487" in res.messages
    standin.wait_for(1, timeout=10, status=200)
    standin.wait_quiet(quiet_s=1.0, timeout=10)
    assert standin.problems == [], standin.problems
    assert len(standin.requests) == 1, standin.summary()
    body = standin.requests[0].body
    assert body["simulation_result_id"] == sim
    assert [e.get("title") for e in body.get("events") or []] == ["ringing_seen", "call_ended"], dump(body)
    assert body["events"][1]["metadata"]["end_reason"] == "cancelled", dump(body)
    assert body["metadata"]["sip_call_id"] == cid


@pytest.mark.timeout(40)
@pytest.mark.parametrize("transport", ["u1", "t1"])
def test_reinvite_keeps_one_call(transport, sidecar, standin, agent, start_sipp, unique):
    prefix = unique(f"reinv-{transport}")
    n = 2
    rows = [(f"{prefix}-sim-{i}", prefix, 700) for i in range(1, n + 1)]
    proc = start_sipp("uac-reinvite.xml", sidecar.sip_port, transport=transport, calls=n, rate=10,
                      inf=rows, call_id_prefix=prefix, timeout=30)
    for i in range(1, n + 1):
        agent.wait_state(call_id=call_id(prefix, i), timeout=10)
        assert agent.request(A.tool_call("before_reinvite", {"i": i}, "ok", call_id=call_id(prefix, i),
                                         start_offset_ms=10))["ok"] is True
    res = proc.wait()
    assert res.ok and res.successful == n, res.describe()
    standin.wait_for(n, timeout=10, status=200)
    standin.wait_quiet(quiet_s=1.0, timeout=10)
    assert standin.problems == []
    assert len(standin.requests) == n, standin.summary()
    for i, row in enumerate(rows, start=1):
        (req,) = standin.requests_for(row[0])
        assert req.body["metadata"]["sip_call_id"] == call_id(prefix, i)
        assert [t["name"] for t in req.body.get("tool_calls") or []] == ["before_reinvite"], dump(req.body)


@pytest.mark.timeout(40)
def test_retransmissions_absorbed(sidecar, standin, start_sipp, unique):
    prefix = unique("retx")
    n = 3
    rows = [(f"{prefix}-sim-{i}", prefix, 200) for i in range(1, n + 1)]
    # -nr: see the header comment of uac-retransmit.xml
    proc = start_sipp("uac-retransmit.xml", sidecar.sip_port, transport="u1", calls=n, rate=10,
                      inf=rows, call_id_prefix=prefix, timeout=30, no_retrans=True)
    res = proc.wait()
    assert res.ok and res.successful == n, res.describe()   # includes: both 200s share the To-tag
    standin.wait_for(n, timeout=10, status=200)
    standin.wait_quiet(quiet_s=1.0, timeout=10)
    assert standin.problems == []
    assert sorted(r.simulation_result_id for r in standin.requests) == sorted(r[0] for r in rows), standin.summary()


@pytest.mark.timeout(30)
@pytest.mark.parametrize("transport", ["u1", "t1"])
@pytest.mark.parametrize("scenario", [
    "uac-ooddialog-bye.xml",   # a BYE for a dialog nobody knows: 481
    "uac-options.xml",         # OPTIONS: 200
])
def test_out_of_call_requests_get_their_answer(scenario, transport, sidecar, standin, run_sipp, unique):
    prefix = unique(f"{scenario.split('.')[0]}-{transport}")
    res = run_sipp(scenario, sidecar.sip_port, transport=transport, calls=3, rate=10,
                   inf=[("x", prefix, 0)] * 3, call_id_prefix=prefix, timeout=20)
    assert res.ok and res.successful == 3, res.describe()   # the scenario expects the status code
    standin.wait_quiet(quiet_s=1.0, timeout=5)
    assert standin.requests == []


@pytest.mark.timeout(30)
def test_unknown_method_rejected(sidecar, standin, run_sipp, unique):
    prefix = unique("unk")
    res = run_sipp("uac-unknown-method.xml", sidecar.sip_port, transport="u1", calls=2, rate=10,
                   inf=[("x", prefix, 0)] * 2, call_id_prefix=prefix, timeout=20)
    assert res.ok and res.successful == 2, res.describe()   # 405 or 501
    assert standin.requests == []


@pytest.mark.timeout(30)
def test_sidecar_exits_on_sigterm(sidecar):
    rc = sidecar.terminate(timeout=10)
    assert rc is not None, "sidecar still running 10 s after SIGTERM"


def _read_sip(sock: socket.socket, until: bytes, timeout: float) -> bytes:
    """Reads from a SIP TCP stream until ``until`` is in what was read (bounded by ``timeout``)."""
    sock.settimeout(timeout)
    data = b""
    deadline = time.monotonic() + timeout
    while until not in data and time.monotonic() < deadline:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


@pytest.mark.timeout(40)
def test_a_response_whose_tcp_connection_closed_goes_to_the_via_port(sidecar_factory, standin, unique):
    """RFC 3261 §18.2.2: the caller's connection closed before the 200 (here while the call rings); the sidecar
    opens a connection to the address it came from at the Via's sent-by port, and the dialog goes on over it
    (ACK, BYE), ending in one flush. Before, the 200 went to the closed connection's ephemeral port and was lost."""
    sc = sidecar_factory(bluejay_url=standin.url, api_key=standin.api_key, args=["--ring-ms", "1000"])
    sim, cid = unique("reconnect-sim"), unique("reconnect") + "@test"
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]

    def request(method: str, cseq: int, to_tag: str = "", body: str = "") -> bytes:
        to = "<sip:agent@127.0.0.1>" + (f";tag={to_tag}" if to_tag else "")
        head = (f"{method} sip:agent@127.0.0.1:{sc.sip_port};transport=tcp SIP/2.0\r\n"
                f"Via: SIP/2.0/TCP 127.0.0.1:{port};branch=z9hG4bK-{method.lower()}-{cseq}\r\nMax-Forwards: 70\r\n"
                f"From: <sip:caller@127.0.0.1>;tag=ft-reconnect\r\nTo: {to}\r\nCall-ID: {cid}\r\nCSeq: {cseq} {method}\r\n"
                f"Contact: <sip:caller@127.0.0.1:{port};transport=tcp>\r\nX-Simulation-Result-Id: {sim}\r\n")
        if body:
            head += "Content-Type: application/sdp\r\n"
        return (head + f"Content-Length: {len(body)}\r\n\r\n" + body).encode()

    sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n"
    first = socket.create_connection(("127.0.0.1", sc.sip_port), timeout=5)
    first.sendall(request("INVITE", 1, body=sdp))
    ringing = _read_sip(first, b"180 Ringing", 5)
    assert b"SIP/2.0 180" in ringing, ringing
    first.close()  # gone before the answer

    listener.settimeout(10)
    conn, _ = listener.accept()
    ok = _read_sip(conn, b"\r\n\r\n", 10)
    assert ok.startswith(b"SIP/2.0 200") and f"Call-ID: {cid}".encode() in ok, ok[:400]
    to_tag = re.search(rb"^To:.*;tag=([^;\r\n]+)", ok, re.M).group(1).decode()
    conn.sendall(request("ACK", 1, to_tag))
    conn.sendall(request("BYE", 2, to_tag))
    bye_ok = _read_sip(conn, b"CSeq: 2 BYE", 10)
    assert b"SIP/2.0 200" in bye_ok, bye_ok[-400:]
    conn.close()
    listener.close()
    (req,) = standin.wait_for(1, timeout=15, status=200)
    assert req.simulation_result_id == sim, standin.summary()
    assert req.body["metadata"]["end_reason"] == "bye", req.body["metadata"]
