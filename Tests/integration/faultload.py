"""Load for the fault tests: calls over UDP (siptext.UdpCall) and agents writing records over the socket, from
threads, remembering exactly what the sidecar acknowledged, so a test can check nothing acknowledged was lost."""
from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Optional

import agent as A
from agent import AgentClient
from siptext import UdpCall


@dataclass
class LoadCall:
    sip: UdpCall
    invite_status: Optional[int] = None
    bye_status: Optional[int] = None     # None: not sent, or no answer
    bye_sent: bool = False
    acked: list[str] = field(default_factory=list)   # names of the tool calls the sidecar said ok to

    @property
    def call_id(self) -> str:
        return self.sip.call_id

    @property
    def sim_id(self) -> str:
        return self.sip.sim_id or ""


class Load:
    """``calls`` UDP calls named ``<prefix>-<i>``; ``writers`` agent connections writing tool calls to them in turn
    while ``run`` is on. Every wait is bounded."""

    def __init__(self, sidecar, prefix: str, calls: int, writers: int = 4, sip_timeout: float = 2.0):
        self.sidecar = sidecar
        self.calls = [LoadCall(UdpCall(sidecar.sip_port, sim_id=f"{prefix}-{i}")) for i in range(calls)]
        for c in self.calls:
            c.sip.sock.settimeout(sip_timeout)
        self.writers = writers
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._seq = 0
        self.refusals: dict[str, int] = {}   # error code -> count (what the sidecar refused, never "ok")
        self.write_errors: list[str] = []    # connection-level ends (a crash or a closed socket)

    def invite_all(self) -> None:
        for c in self.calls:
            c.invite_status = c.sip.invite()
            assert c.invite_status == 200, f"{c.call_id}: INVITE got {c.invite_status}"

    @property
    def acked_records(self) -> int:
        return sum(len(c.acked) for c in self.calls)

    def start_writers(self) -> None:
        for w in range(self.writers):
            t = threading.Thread(target=self._write, args=(w,), name=f"agent-{w}", daemon=True)
            t.start()
            self._threads.append(t)

    def stop_writers(self, timeout: float = 10.0) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout)
        assert not any(t.is_alive() for t in self._threads), "an agent writer did not stop"
        self._threads = []

    def _write(self, w: int) -> None:
        mine = self.calls[w::self.writers]
        try:
            client = AgentClient(self.sidecar.socket_path, timeout=3)
        except AssertionError as e:
            self.write_errors.append(str(e))
            return
        try:
            i = 0
            while not self._stop.is_set():
                c = mine[i % len(mine)]
                i += 1
                with self._lock:
                    self._seq += 1
                    name = f"rec_{self._seq}"
                msg = A.tool_call(name, {"seq": self._seq, "call": c.sim_id}, {"ok": True}, call_id=c.call_id,
                                  start_offset_ms=self._seq)
                try:
                    reply = client.request(msg)
                except (ConnectionError, TimeoutError, OSError, AssertionError) as e:
                    self.write_errors.append(f"{type(e).__name__}: {e}")
                    return
                if reply.get("ok") is True:
                    with self._lock:
                        c.acked.append(name)
                else:
                    with self._lock:
                        code = str(reply.get("error"))
                        self.refusals[code] = self.refusals.get(code, 0) + 1
                time.sleep(0.002)
        finally:
            client.close()

    def bye(self, c: LoadCall) -> Optional[int]:
        c.bye_sent = True
        try:
            c.bye_status = c.sip.bye()
        except socket.timeout:
            c.bye_status = None
        return c.bye_status

    def close(self) -> None:
        self._stop.set()
        for c in self.calls:
            c.sip.close()


def check_flushed(standin, calls: list[LoadCall], redelivery_allowed: bool = False) -> dict:
    """Every call flushed exactly once: one body (by simulation_result_id), holding every acknowledged record
    exactly once. Delivered once too, unless ``redelivery_allowed``: a crash between Bluejay's 200 and the
    outbox noting it sends the same body again after the restart (the documented at-least-once case), which
    the stand-in dedupes by simulation_result_id. Returns figures."""
    delivered = standin.delivered_bodies()
    missing, problems = [], []
    redelivered = 0
    for c in calls:
        bodies = delivered.get(c.sim_id, [])
        distinct = {json.dumps(b, sort_keys=True) for b in bodies}
        if len(distinct) != 1 or (len(bodies) > 1 and not redelivery_allowed):
            problems.append(f"{c.sim_id}: delivered {len(bodies)} times, {len(distinct)} different bodies")
            continue
        redelivered += len(bodies) - 1
        names = [t["name"] for t in bodies[0]["tool_calls"]]
        if len(names) != len(set(names)):
            problems.append(f"{c.sim_id}: a record appears twice")
        lost = [n for n in c.acked if n not in names]
        if lost:
            missing.append(f"{c.sim_id}: {len(lost)} acknowledged record(s) missing, e.g. {lost[:3]}")
    assert not problems and not missing, "\n".join(problems + missing)
    figures = {"calls": len(calls), "records_acked": sum(len(c.acked) for c in calls), "lost": 0}
    if redelivery_allowed:
        figures["redelivered_same_body"] = redelivered
    return figures
