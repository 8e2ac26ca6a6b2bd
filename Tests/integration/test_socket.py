"""The agent socket: error codes, ordering under pipelining, many clients."""
from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass

import pytest

import agent as A
from sipp import call_id

pytestmark = pytest.mark.sidecar


@dataclass
class LiveCall:
    call_id: str
    sim_id: str
    proc: object  # sipp.SippProcess


@pytest.fixture
def live_call_factory(sidecar, agent, start_sipp, unique):
    """Start one simulated call (uac-basic.xml) that stays up for pause_ms after ACK."""
    def make(pause_ms: int = 4000, name: str = "live") -> LiveCall:
        prefix = unique(name)
        sim = f"{prefix}-sim"
        proc = start_sipp("uac-basic.xml", sidecar.sip_port, transport="u1", calls=1,
                          inf=[(sim, prefix, pause_ms)], call_id_prefix=prefix, timeout=30)
        cid = call_id(prefix, 1)
        agent.wait_state(call_id=cid, timeout=10)
        return LiveCall(cid, sim, proc)
    return make


def assert_error(reply: dict, code: str) -> None:
    assert reply.get("ok") is False, reply
    assert reply.get("error") == code, reply
    assert isinstance(reply.get("message"), str) and reply["message"], reply


@pytest.mark.timeout(40)
def test_error_codes_then_call_flushed(sidecar, standin, agent, live_call_factory):
    call = live_call_factory(pause_ms=3000)
    cid = call.call_id

    assert_error(agent.request("{this is not json"), "bad_json")
    assert_error(agent.request({"type": "frobnicate", "call_id": cid}), "unknown_type")
    assert_error(agent.request({"type": "tool_call", "call_id": cid, "parameters": {}}), "missing_field")
    assert_error(agent.request({"type": "event", "call_id": cid, "start_offset_ms": 0}), "missing_field")
    assert_error(agent.request({"type": "tool_call", "name": "no_call_named"}), "missing_field")
    assert_error(agent.request(A.transcript("ROBOT", "hi", 0, 10, call_id=cid)), "bad_value")
    assert_error(agent.request(A.tool_call("x", {}, None, call_id="nobody@nowhere", start_offset_ms=0)),
                 "unknown_call")
    assert_error(agent.request(A.tool_call("x", {}, None, sim_id="no-such-sim", start_offset_ms=0)),
                 "unknown_call")

    # > 1 MiB line: refused, and the connection keeps working
    big = json.dumps(A.tool_call("huge", {"blob": "x" * (1024 * 1024 + 100)}, None, call_id=cid,
                                 start_offset_ms=0))
    assert_error(agent.request(big, timeout=15), "line_too_long")
    ok = agent.request(A.tool_call("after_big_line", {"a": 1}, "fine", call_id=cid, start_offset_ms=5))
    assert ok.get("ok") is True, ok
    lk = agent.lookup(call_id=cid)
    assert lk.get("ok") is True and lk.get("state") == "active" and lk.get("simulation_result_id") == call.sim_id, lk
    assert agent.lookup(sim_id=call.sim_id).get("call_id") == cid

    res = call.proc.wait()
    assert res.ok, res.describe()
    (req,) = standin.wait_for(1, timeout=10, status=200)
    names = [t["name"] for t in req.body.get("tool_calls") or []]
    assert names == ["after_big_line"], f"only the acked record may be flushed: {names}"
    assert standin.problems == []

    # after the flush the call is closed for writing
    assert_error(agent.request(A.tool_call("too_late", {}, None, call_id=cid, start_offset_ms=0)), "call_flushed")
    lk = agent.lookup(call_id=cid)
    assert lk.get("ok") is True and lk.get("state") == "ended", lk


@pytest.mark.timeout(40)
def test_pipelined_replies_in_order(sidecar, standin, agent, live_call_factory):
    call = live_call_factory(pause_ms=3000)
    cid = call.call_id
    msgs, expect = [], []
    for i in range(60):
        k = i % 5
        if k == 0:
            msgs.append(A.tool_call(f"tool_{i:02d}", {"i": i}, i, call_id=cid, start_offset_ms=i)); expect.append("ok")
        elif k == 1:
            msgs.append("{broken json " + str(i)); expect.append("bad_json")
        elif k == 2:
            msgs.append({"type": "lookup", "call_id": cid}); expect.append("lookup")
        elif k == 3:
            msgs.append({"type": f"nope_{i}", "call_id": cid}); expect.append("unknown_type")
        else:
            msgs.append(A.tool_call("x", {}, None, call_id=f"ghost-{i}", start_offset_ms=0)); expect.append("unknown_call")
    replies = agent.pipeline(msgs, timeout=10)
    assert len(replies) == len(msgs)
    for i, (want, got) in enumerate(zip(expect, replies)):
        if want == "ok":
            assert got == {"ok": True} or got.get("ok") is True, (i, got)
        elif want == "lookup":
            assert got.get("ok") is True and got.get("call_id") == cid, (i, got)
        else:
            assert got.get("error") == want, (i, want, got)
    # Blank lines (nothing, a lone CR) are not requests: the reply read next is the lookup's.
    agent.sock.sendall(b"\n\r\n" + json.dumps({"type": "lookup", "call_id": cid}).encode() + b"\n")
    got = agent.read_reply(5)
    assert got.get("ok") is True and got.get("call_id") == cid, got
    assert agent.no_reply_within(0.3), "more replies than request lines"

    res = call.proc.wait()
    assert res.ok, res.describe()
    (req,) = standin.wait_for(1, timeout=10, status=200)
    names = sorted(t["name"] for t in req.body.get("tool_calls") or [])
    assert names == sorted(f"tool_{i:02d}" for i in range(0, 60, 5))


@pytest.mark.timeout(40)
def test_many_concurrent_connections(sidecar, standin, agent_factory, live_call_factory):
    call = live_call_factory(pause_ms=4000)
    n_clients, per_client = 20, 10
    errors: list[str] = []
    barrier = threading.Barrier(n_clients)

    def worker(c: int) -> None:
        try:
            client = agent_factory(sidecar)
            barrier.wait(timeout=10)
            for j in range(per_client):
                r = client.request(A.tool_call(f"c{c:02d}_t{j:02d}", {"c": c, "j": j}, [c, j],
                                               call_id=call.call_id, start_offset_ms=c * 10 + j), timeout=10)
                if r.get("ok") is not True:
                    errors.append(f"client {c} record {j}: {r}")
        except Exception as e:  # noqa: BLE001
            errors.append(f"client {c}: {e!r}")

    threads = [threading.Thread(target=worker, args=(c,)) for c in range(n_clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads), "a client hung"
    assert errors == []

    res = call.proc.wait()
    assert res.ok, res.describe()
    (req,) = standin.wait_for(1, timeout=10, status=200)
    tcs = req.body.get("tool_calls") or []
    assert len(tcs) == n_clients * per_client
    got = {t["name"]: t for t in tcs}
    for c in range(n_clients):
        for j in range(per_client):
            t = got[f"c{c:02d}_t{j:02d}"]
            assert t["parameters"] == {"c": c, "j": j} and t["output"] == [c, j]
            assert t["start_offset_ms"] == c * 10 + j


@pytest.mark.timeout(40)
def test_client_disconnecting_mid_line(sidecar, standin, agent, agent_factory, live_call_factory):
    call = live_call_factory(pause_ms=3000)
    # A: writes half a record and vanishes
    a = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    a.connect(str(sidecar.socket_path))
    half = json.dumps(A.tool_call("half_written", {"x": 1}, None, call_id=call.call_id, start_offset_ms=0))
    a.sendall(half[: len(half) // 2].encode())
    a.close()
    # B: a line split over several writes is still one request
    b = agent_factory(sidecar)
    full = json.dumps(A.tool_call("split_writes", {"y": 2}, "ok", call_id=call.call_id, start_offset_ms=7)) + "\n"
    for chunk in (full[:10], full[10:40], full[40:]):
        b.send_raw(chunk.encode())
    assert b.read_reply().get("ok") is True
    # the long-lived client is unaffected
    assert agent.request(A.tool_call("unaffected", {}, None, call_id=call.call_id, start_offset_ms=8))["ok"] is True

    res = call.proc.wait()
    assert res.ok, res.describe()
    (req,) = standin.wait_for(1, timeout=10, status=200)
    names = sorted(t["name"] for t in req.body.get("tool_calls") or [])
    assert names == ["split_writes", "unaffected"], names
    assert sidecar.running


def test_socket_is_a_socket_with_mode_0660(sidecar):
    import os
    import stat
    st = os.stat(sidecar.socket_path)
    assert stat.S_ISSOCK(st.st_mode), oct(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o660, oct(stat.S_IMODE(st.st_mode))


@pytest.mark.timeout(120)
def test_a_call_holds_at_most_64_mib_of_records(sidecar, standin, agent):
    """A call's body is built in memory, stored as one row and posted in one request: past 64 MiB of records a
    record gets call_too_large (and is not kept), and what was kept still goes out."""
    start = agent.request({"type": "start", "simulation_result_id": "too-large"})
    assert start.get("ok") is True, start
    cid = start["call_id"]
    pad = "x" * 1_000_000
    kept, refused = 0, None
    for i in range(80):  # 80 MB would pass the bound; it must refuse before
        r = agent.request(A.tool_call("big", {"pad": pad}, None, call_id=cid, start_offset_ms=i), timeout=30)
        if r.get("ok") is True:
            kept += 1
            continue
        refused = r
        break
    assert refused is not None and refused.get("error") == "call_too_large", (kept, refused)
    assert "64 MiB" in refused.get("message", ""), refused
    assert 60 <= kept <= 67, kept  # 64 MiB of ~1 MB records
    small = agent.request(A.tool_call("small", {}, None, call_id=cid, start_offset_ms=100))
    assert small.get("ok") is True or small.get("error") == "call_too_large", small
    assert agent.request(A.end(call_id=cid)).get("ok") is True
    (req,) = standin.wait_for(1, timeout=60, status=200)
    names = [t["name"] for t in req.body["tool_calls"]]
    assert names.count("big") == kept, (names.count("big"), kept)
