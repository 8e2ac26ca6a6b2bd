"""When the sidecar's store syncs to disk, seen from outside by strace on the real binary.

What a peer is told was kept (an agent's line acknowledged ``ok``) is synced before the reply goes out; SIP call
state is written before each answer and synced at most every 100 ms, so calls at a modest rate share syncs
instead of costing one or two each.
"""
from __future__ import annotations

import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

import agent as A

pytestmark = pytest.mark.sidecar

SYNC = re.compile(r"^\d+\s+(\d+\.\d+) (?:fdatasync|fsync)\(\d+\)\s+=\s+0")
ACK = re.compile(r"^\d+\s+(\d+\.\d+) (?:write|writev|sendmsg)\(\d+, .*\\\"ok\\\":true")


def strace(pid: int, out: Path, calls: str) -> subprocess.Popen:
    """strace of every thread of ``pid`` (``-f``), wall-clock timestamps, until stopped."""
    exe = shutil.which("strace")
    if exe is None:
        pytest.fail("strace not found (apt-get install strace; scripts/install-deps test installs it)")
    proc = subprocess.Popen([exe, "-f", "-qq", "-ttt", "-s", "96", "-e", f"trace={calls}", "-p", str(pid), "-o", str(out)],
                            stderr=subprocess.PIPE, text=True)
    # Attached once it logs the first line or it has had time to; strace attaches to each thread in turn.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and proc.poll() is None and not (out.exists() and out.stat().st_size):
        time.sleep(0.05)
    time.sleep(0.3)
    if proc.poll() is not None:
        pytest.fail(f"strace could not attach: {proc.stderr.read() if proc.stderr else ''}")
    return proc


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


@pytest.mark.timeout(90)
def test_calls_share_syncs(sidecar, standin, run_sipp, unique, tmp_path):
    calls, rate = 60, 30
    prefix = unique("sync")
    out = tmp_path / "strace.txt"
    tracer = strace(sidecar.proc.pid, out, "fdatasync,fsync")
    try:
        res = run_sipp("uac-basic.xml", sidecar.sip_port, calls=calls, rate=rate,
                       inf=[(f"{prefix}-sim-{i}", prefix, 100) for i in range(calls)], call_id_prefix=prefix, timeout=60)
        assert res.ok and res.successful == calls, res.describe()
        standin.wait_for(calls, timeout=30, status=200)
        time.sleep(0.5)  # the last writes' sync is due 100 ms after them
    finally:
        stop(tracer)
    syncs = [float(m.group(1)) for m in map(SYNC.match, out.read_text().splitlines()) if m]
    # Each call is written twice (answered, ended + flushed) and each delivery once: a sync per commit was
    # 1 to 3 per call. Syncs by interval: the run lasts about calls / rate seconds, one sync per 100 ms at most.
    assert 1 <= len(syncs) <= calls // 2, f"{len(syncs)} syncs for {calls} calls"
    gaps = [b - a for a, b in zip(syncs, syncs[1:])]
    assert all(g >= 0.05 for g in gaps), f"syncs closer than the interval allows: {sorted(gaps)[:5]}"


@pytest.mark.timeout(60)
def test_acknowledged_line_is_synced_before_its_reply(sidecar, agent, unique, tmp_path):
    st = agent.request({"type": "start", "simulation_result_id": unique("sync-sim")})
    assert st.get("ok") is True, st
    cid = st["call_id"]
    time.sleep(0.5)  # no unsynced write of the start left: what follows is the line's own
    out = tmp_path / "strace.txt"
    tracer = strace(sidecar.proc.pid, out, "fdatasync,fsync,write,writev,sendmsg")
    try:
        sent = time.time()
        reply = agent.request(A.tool_call("lookup_order", {"id": 7}, "found", call_id=cid, start_offset_ms=10))
        assert reply.get("ok") is True, reply
        time.sleep(0.3)
    finally:
        stop(tracer)
    lines = out.read_text().splitlines()
    syncs = [float(m.group(1)) for m in map(SYNC.match, lines) if m]
    acks = [float(m.group(1)) for m in map(ACK.match, lines) if m]
    assert len(acks) == 1, "\n".join(lines[-40:])
    assert any(sent <= s <= acks[0] for s in syncs), \
        f"no sync between the line ({sent:.6f}) and its ack ({acks[0]:.6f}): syncs {syncs}\n" + "\n".join(lines[-40:])
