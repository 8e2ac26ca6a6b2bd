"""Tests of bluejay_sidecar.py against the real sidecar binary.

The binary comes from env ``SIDECAR_BIN`` (default ``<repo>/.build/debug/bluejay-sidecar``); a
missing binary fails the tests. Each test starts its own sidecar (UDP SIP on a free port, its own
socket and data dir, dry-run). Calls are opened with ``start`` or, for the SIP path, with a minimal
INVITE/ACK … BYE over UDP. Every wait is bounded.

Run: ``python3 -m pytest -q deploy/clients/python``
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Callable, List, Optional

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bluejay_sidecar as bj  # noqa: E402
from bluejay_sidecar import AsyncSidecarClient, CallRef, SidecarClient  # noqa: E402

REPO = HERE.parent.parent.parent
READY = "bluejay-sidecar ready"

sys.path.insert(0, str(REPO / "Tests" / "integration"))
from sipp import free_port  # noqa: E402  (the integration tests' ports: below the ephemeral range, once each)


def wait_for(pred: Callable[[], object], timeout: float, what: str, interval: float = 0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


# --- the sidecar process ------------------------------------------------------------------------


class Sidecar:
    """One sidecar configuration, started / killed / restarted with the same socket, data dir and port."""

    def __init__(self, workdir: Path):
        env = os.environ.get("SIDECAR_BIN")
        self.binary = Path(env) if env else REPO / ".build" / "debug" / "bluejay-sidecar"
        self.workdir = workdir
        self.sock_dir = Path(tempfile.mkdtemp(prefix="bjc-", dir="/tmp"))  # AF_UNIX paths are short
        self.socket_path = str(self.sock_dir / "s.sock")
        self.data_dir = workdir / "d"
        self.dry_run = self.data_dir / "dry-run"
        self.port = free_port("udp")
        self.proc: Optional[subprocess.Popen] = None
        self.stderr_path = workdir / "stderr.log"

    def start(self, timeout: float = 30.0) -> "Sidecar":
        assert self.binary.is_file(), f"sidecar binary not found at {self.binary} (swift build, or set SIDECAR_BIN)"
        offset = self.stderr_path.stat().st_size if self.stderr_path.exists() else 0
        err = open(self.stderr_path, "ab")
        self.proc = subprocess.Popen(
            [str(self.binary), "--sip", f"udp://127.0.0.1:{self.port}", "--socket", self.socket_path,
             "--data-dir", str(self.data_dir), "--http", "off", "--linger-ms", "100"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
            env={k: v for k, v in os.environ.items() if k != "BLUEJAY_API_KEY"})
        err.close()

        def ready() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"sidecar exited with {self.proc.returncode}: {self.stderr()[-2000:]}")
            with open(self.stderr_path, "rb") as f:
                f.seek(offset)
                return READY in f.read().decode("utf-8", "replace")
        wait_for(ready, timeout, "the sidecar's ready line")
        return self

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill9()

    def stderr(self) -> str:
        return self.stderr_path.read_text("utf-8", "replace") if self.stderr_path.exists() else ""

    def bodies(self) -> List[dict]:
        if not self.dry_run.is_dir():
            return []
        return [json.loads(p.read_text()) for p in sorted(self.dry_run.glob("*.json"))]

    def body_for(self, simulation_result_id: str, timeout: float = 10.0) -> dict:
        def find():
            for b in self.bodies():
                if b.get("simulation_result_id") == simulation_result_id:
                    return b
            return None
        return wait_for(find, timeout, f"the dry-run body of {simulation_result_id}")

    def supports_start(self) -> bool:
        """Whether this binary knows the ``start`` request (probed with a raw line)."""
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(5)
            s.connect(self.socket_path)
            s.sendall(b'{"type":"start"}\n')
            reply = json.loads(s.makefile("rb").readline())
        return reply.get("error") != "unknown_type"


@pytest.fixture
def sidecar(tmp_path: Path):
    sc = Sidecar(tmp_path).start()
    yield sc
    sc.stop()
    shutil.rmtree(sc.sock_dir, ignore_errors=True)


# --- a minimal SIP caller (UDP): INVITE with X-Simulation-Result-Id, ACK, later BYE --------------


class SipCall:
    def __init__(self, port: int, simulation_result_id: str):
        self.port = port
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(5)
        self.lport = self.sock.getsockname()[1]
        self.call_id = uuid.uuid4().hex + "@client-test"
        self.to_tag = ""
        sdp = ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
               "m=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")
        self._send("INVITE", 1, extra=f"X-Simulation-Result-Id: {simulation_result_id}\r\n"
                   "Content-Type: application/sdp\r\n", body=sdp)
        while True:
            msg = self.sock.recv(65535).decode()
            status = msg.split("\r\n", 1)[0]
            if status.startswith("SIP/2.0 200"):
                for line in msg.split("\r\n"):
                    if line.lower().startswith(("to:", "t:")) and "tag=" in line:
                        self.to_tag = line.split("tag=", 1)[1].split(";")[0].strip()
                break
            assert status.startswith("SIP/2.0 1"), status
        self._send("ACK", 1)

    def _send(self, method: str, cseq: int, extra: str = "", body: str = "") -> None:
        to = "<sip:agent@127.0.0.1>" + (f";tag={self.to_tag}" if self.to_tag else "")
        msg = (f"{method} sip:agent@127.0.0.1:{self.port} SIP/2.0\r\n"
               f"Via: SIP/2.0/UDP 127.0.0.1:{self.lport};branch=z9hG4bK{uuid.uuid4().hex[:12]};rport\r\n"
               f"Max-Forwards: 70\r\nFrom: <sip:caller@127.0.0.1>;tag=caller1\r\nTo: {to}\r\n"
               f"Call-ID: {self.call_id}\r\nCSeq: {cseq} {method}\r\nContact: <sip:caller@127.0.0.1:{self.lport}>\r\n"
               f"{extra}Content-Length: {len(body)}\r\n\r\n{body}")
        self.sock.sendto(msg.encode(), ("127.0.0.1", self.port))

    def bye(self) -> None:
        self._send("BYE", 2)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if self.sock.recv(65535).startswith(b"SIP/2.0 200"):
                break
        self.sock.close()


def ok(fut, timeout: float = 10.0) -> dict:
    reply = fut.result(timeout)
    assert reply.get("ok") is True, reply
    return reply


# --- opening a call: `start` (no SIP) or a SIP call ---------------------------------------------


class OpenCall:
    """A call the tests record into; ``close()`` ends it so the sidecar flushes it."""

    def __init__(self, sidecar: Sidecar, client: SidecarClient, how: str):
        self.srid = "sr-" + uuid.uuid4().hex[:10]
        self.client = client
        self.sip: Optional[SipCall] = None
        if how == "start":
            assert sidecar.supports_start(), "this sidecar binary does not know `start` yet (rebuild it)"
            self.reply = ok(client.start(self.srid))
        else:
            self.sip = SipCall(sidecar.port, self.srid)
            self.reply = ok(client.lookup(simulation_result_id=self.srid))

    def close(self) -> None:
        ok(self.client.end(simulation_result_id=self.srid))
        if self.sip:
            self.sip.bye()


# --- unit tests (no sidecar) ----------------------------------------------------------------------


def test_rfc3339_and_json_safe():
    import datetime as dt
    assert bj._rfc3339(0) == "1970-01-01T00:00:00.000Z"
    assert bj._rfc3339(dt.datetime(2024, 1, 15, 14, 20, 0, 123456, tzinfo=dt.timezone.utc)) == "2024-01-15T14:20:00.123Z"
    assert bj.json_safe({"a": {1, 2} and "x", "b": object}) == {"a": "x", "b": str(object)}
    with pytest.raises(ValueError):
        CallRef()


def test_no_call_bound_is_reported_not_raised(caplog):
    with SidecarClient("/nonexistent/x.sock") as c:
        with caplog.at_level(logging.WARNING, logger="bluejay_sidecar"):
            reply = c.tool_call("t").result(1)
        assert reply["error"] == "no_call"
        assert "no call" in caplog.text

        @c.tool()
        def f(x):
            return x * 2
        assert f(2) == 4  # ran, unrecorded
        assert c.pending() == 0


def test_queue_limit_drops_oldest_without_blocking(tmp_path, caplog):
    c = SidecarClient(str(tmp_path / "none.sock"), queue_limit=5, reconnect_initial=0.01, reconnect_max=0.05)
    try:
        t0 = time.perf_counter()
        with caplog.at_level(logging.WARNING, logger="bluejay_sidecar"):
            futs = [c.tool_call(f"t{i}", call_id="x") for i in range(20)]
        assert time.perf_counter() - t0 < 0.5
        assert c.pending() == 5 and c.dropped == 15
        assert [f.result(0)["error"] for f in futs[:15]] == ["queue_full"] * 15
        assert not any(f.done() for f in futs[15:])
        assert "queue full" in caplog.text
        assert c.flush(0.2) is False  # bounded
    finally:
        assert c.close(0.1) is False
    assert all(f.result(0)["error"] == "client_closed" for f in futs[15:])


# --- against the sidecar --------------------------------------------------------------------------


def _define_tools(client):
    @client.tool()
    def lookup_order(order_id: str, verbose: bool = False):
        return {"order_id": order_id, "status": "shipped"}

    @client.tool(name="refund", description="issue a refund")
    async def refund_order(order_id, amount_cents: int):
        await asyncio.sleep(0.01)
        return "refunded"

    @client.tool()
    def cancel_order(order_id):
        raise RuntimeError(f"order {order_id} already shipped")

    return lookup_order, refund_order, cancel_order


@pytest.mark.parametrize("how", ["start", "sip"])
def test_decorated_tools_reach_the_dry_run_body(sidecar, how):
    with SidecarClient(sidecar.socket_path) as client:
        call = OpenCall(sidecar, client, how)
        if how == "start":
            assert call.reply["simulation_result_id"] == call.srid
            assert call.reply["state"] == "active" and call.reply["call_id"]
        lookup_order, refund_order, cancel_order = _define_tools(client)
        with client.call(simulation_result_id=call.srid):
            assert lookup_order("A1") == {"order_id": "A1", "status": "shipped"}
            assert asyncio.run(refund_order("A1", amount_cents=500)) == "refunded"  # the context reaches the task
            with pytest.raises(RuntimeError, match="already shipped"):
                cancel_order("A2")
        assert client.flush(10)
        call.close()
    body = sidecar.body_for(call.srid)
    tools = body["tool_calls"]
    assert [t["name"] for t in tools] == ["lookup_order", "refund", "cancel_order"]
    assert tools[0]["parameters"] == {"order_id": "A1", "verbose": False}
    assert tools[0]["output"] == {"order_id": "A1", "status": "shipped"}
    assert tools[1]["parameters"] == {"order_id": "A1", "amount_cents": 500}
    assert tools[1]["output"] == "refunded"
    assert tools[1]["description"].startswith("issue a refund (took ")
    assert tools[2]["parameters"] == {"order_id": "A2"}
    assert tools[2]["output"] == {"error": "RuntimeError: order A2 already shipped"}
    offsets = [t["start_offset_ms"] for t in tools]  # the sidecar turns `timestamp` into an offset
    assert offsets == sorted(offsets) and offsets[0] >= 0


def test_all_record_kinds_and_error_replies(sidecar, caplog):
    with SidecarClient(sidecar.socket_path) as client:
        call = OpenCall(sidecar, client, "sip")
        ref = dict(simulation_result_id=call.srid)
        ok(client.event("escalated", start_offset_ms=10, end_offset_ms=20, tags=["x"], metadata={"k": 1}, **ref))
        ok(client.metadata({"customer_tier": "gold"}, **ref))
        ok(client.tags(["refund"], **ref))
        ok(client.transcript("agent", "Hello", start_offset_ms=0, end_offset_ms=800, **ref))
        looked = ok(client.lookup(call_id=call.sip.call_id))
        assert looked["simulation_result_id"] == call.srid
        with caplog.at_level(logging.WARNING, logger="bluejay_sidecar"):
            bad = client.tool_call("x", call_id="no-such-call").result(10)
        assert bad["ok"] is False and bad["error"] == "unknown_call"
        assert "unknown_call" in caplog.text
        call.close()
    body = sidecar.body_for(call.srid)
    agent_events = [e for e in body["events"] if "sip" not in (e.get("tags") or [])]
    sip_events = [e["title"] for e in body["events"] if "sip" in (e.get("tags") or [])]
    assert sip_events == ["call_answered", "call_ended"], body["events"]   # from the SIP call itself
    assert agent_events[0]["title"] == "escalated"
    assert body["metadata"]["customer_tier"] == "gold"
    assert "refund" in body["tags"]
    assert body["recorded_transcript"][0]["utterance"] == "Hello"


@pytest.mark.parametrize("how", ["start", "sip"])
def test_kill9_and_restart_loses_nothing_acknowledged(sidecar, how):
    client = SidecarClient(sidecar.socket_path, reconnect_initial=0.02, reconnect_max=0.2)
    try:
        call = OpenCall(sidecar, client, how)
        futs = {}
        stop = threading.Event()

        def producer():
            i = 0
            while not stop.is_set() and i < 5000:
                futs[f"t{i}"] = client.tool_call(f"t{i}", simulation_result_id=call.srid, parameters={"i": i})
                i += 1
                time.sleep(0.002)

        th = threading.Thread(target=producer)
        th.start()
        wait_for(lambda: sum(1 for f in list(futs.values()) if f.done()) >= 50, 10, "records acknowledged before the kill")
        for j in range(1000):  # a burst, so that lines are in flight when the sidecar dies
            futs[f"b{j}"] = client.tool_call(f"b{j}", simulation_result_id=call.srid, parameters={"i": j})
        sidecar.kill9()
        acked_before = {n for n, f in list(futs.items()) if f.done() and f.result()["ok"]}
        wait_for(lambda: client.pending() >= 50, 10, "records queued while the sidecar is down")
        assert not client.flush(0.1)
        sidecar.start()
        time.sleep(0.2)
        stop.set()
        th.join(10)
        assert client.flush(20), f"{client.pending()} records never acknowledged"
        replies = {n: f.result(0) for n, f in futs.items()}
        assert all(r["ok"] for r in replies.values()), [r for r in replies.values() if not r["ok"]][:3]
        assert client.connects >= 2
        call.close()
    finally:
        client.close(1)
    body = sidecar.body_for(call.srid, timeout=20)
    names = [t["name"] for t in body["tool_calls"]]
    assert acked_before <= set(names)
    assert set(names) == set(futs)  # queued ones arrived after the restart
    # At least once: only lines in flight at the kill may appear twice.
    dupes = len(names) - len(set(names))
    assert dupes <= client.resent
    for t in body["tool_calls"]:
        assert t["parameters"] == {"i": int(t["name"][1:])}


def test_queued_records_are_delivered_after_restart_within_limit(sidecar):
    client = SidecarClient(sidecar.socket_path, queue_limit=10, reconnect_initial=0.02, reconnect_max=0.1)
    try:
        call = OpenCall(sidecar, client, "sip")
        sidecar.kill9()
        futs = [client.tool_call(f"q{i}", simulation_result_id=call.srid) for i in range(25)]
        assert client.pending() == 10 and client.dropped == 15
        sidecar.start()
        assert client.flush(20)
        assert [f.result(0)["ok"] for f in futs[15:]] == [True] * 10
        call.close()
    finally:
        client.close(1)
    names = [t["name"] for t in sidecar.body_for(call.srid)["tool_calls"]]
    assert names == [f"q{i}" for i in range(15, 25)]


def test_async_client_never_blocks_the_loop(sidecar):
    srid = "sr-" + uuid.uuid4().hex[:10]
    sip = SipCall(sidecar.port, srid)

    async def main():
        client = AsyncSidecarClient(sidecar.socket_path, reconnect_initial=0.02, reconnect_max=0.1)
        ticks: List[float] = []

        async def ticker():
            while True:
                ticks.append(time.perf_counter())
                await asyncio.sleep(0.005)

        t = asyncio.create_task(ticker())
        try:
            assert (await asyncio.wait_for(client.lookup(simulation_result_id=srid), 10))["ok"]

            @client.tool()
            async def speak(text):
                return len(text)

            sidecar.kill9()
            start = time.perf_counter()
            with client.call(simulation_result_id=srid):
                for i in range(200):
                    assert await speak(f"line {i}") == len(f"line {i}")
            awaited = asyncio.ensure_future(client.tool_call("while_down", simulation_result_id=srid))
            assert not await client.flush(0.3)  # bounded, and the ticker keeps going meanwhile
            assert not awaited.done()
            window = [x for x in ticks if x >= start]
            gaps = [b - a for a, b in zip(window, window[1:])]
            assert len(window) > 20 and max(gaps) < 0.1, max(gaps)
            await asyncio.get_running_loop().run_in_executor(None, sidecar.start)
            assert (await asyncio.wait_for(awaited, 20))["ok"]
            assert await client.flush(20)
            assert (await client.end(simulation_result_id=srid))["ok"]
        finally:
            t.cancel()
            await client.close(1)

    asyncio.run(asyncio.wait_for(main(), 60))
    sip.bye()
    tools = sidecar.body_for(srid)["tool_calls"]
    assert len(tools) >= 201 and tools[0]["name"] == "speak" and tools[0]["parameters"] == {"text": "line 0"}


def test_call_hook_and_fixed_call(sidecar):
    with SidecarClient(sidecar.socket_path) as client:
        call = OpenCall(sidecar, client, "sip")

        class Ctx:
            def __init__(self, srid):
                self.srid = srid

        @bj.record_tool(client, call=lambda ctx, **_: {"simulation_result_id": ctx.srid}, exclude=("ctx",))
        def transfer(ctx, department):
            return f"transferred to {department}"

        @client.tool(simulation_result_id=call.srid)
        def hang_up():
            return None

        assert transfer(Ctx(call.srid), department="billing") == "transferred to billing"
        hang_up()
        assert client.flush(10)
        call.close()
    tools = sidecar.body_for(call.srid)["tool_calls"]
    assert [t["name"] for t in tools] == ["transfer", "hang_up"]
    assert tools[0]["parameters"] == {"department": "billing"}
