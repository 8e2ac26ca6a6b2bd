"""Faults, each injected for real against the real binary: Bluejay outages, kill -9 and SIGTERM under load, a full
data directory, calls nobody ends, and a lossy network. Every test ends with lost = 0.

Figures of each run are appended as JSON lines to the file named by BLUEJAY_FAULT_FIGURES (scripts/reliability
prints them as a table)."""
from __future__ import annotations

import contextlib
import json
import os
import random
import re
import secrets
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

import agent as A
from agent import AgentClient
from faultload import Load, check_flushed
from siptext import UdpCall

pytestmark = pytest.mark.sidecar


def report(fault: str, **figures) -> None:
    line = json.dumps({"fault": fault, **figures})
    print(f"FIGURES {line}")
    path = os.environ.get("BLUEJAY_FAULT_FIGURES")
    if path:
        with open(path, "a") as f:
            f.write(line + "\n")


def wait_until(pred, timeout: float, what: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {what}")
        time.sleep(interval)


# --- Bluejay outage ---------------------------------------------------------------------------------------

@pytest.mark.timeout(120)
def test_bluejay_outage_503_hang_reset_then_everything_arrives(sidecar_factory, standin, admin_factory, unique):
    """503 for a while, then requests that hang, then TCP resets; one call's id answers 422. Afterwards every
    deliverable call arrived exactly once with its records, the 422 one is a dead letter with its reason."""
    sc = sidecar_factory(bluejay_url=standin.url, api_key=standin.api_key,
                         args=["--http-timeout-ms", "1000"])   # retries: 100 ms .. 1 s (the harness default)
    admin = admin_factory(sc)
    prefix = unique("outage")
    agent = AgentClient(sc.socket_path, timeout=5)
    calls: list[tuple[UdpCall, list[str]]] = []
    bad = f"{prefix}-bad"
    standin.reject_ids({bad})
    phases = [("503", 8), ("hang", 6), ("reset", 6)]   # seconds each: a 20 s outage
    for kind, seconds in phases:
        standin.outage(kind)
        end = time.monotonic() + seconds
        n = 0
        while time.monotonic() < end:
            n += 1
            sim = bad if (kind == "hang" and n == 2) else f"{prefix}-{kind}-{n}"
            call = UdpCall(sc.sip_port, sim_id=sim)
            assert call.invite() == 200
            names = [f"{kind}_{n}_a", f"{kind}_{n}_b"]
            for i, name in enumerate(names):
                assert agent.request(A.tool_call(name, {"n": n}, i, call_id=call.call_id, start_offset_ms=i))["ok"] is True
            assert call.bye() == 200
            call.close()
            calls.append((call, names))
            time.sleep(0.5)
    outage_requests = len(standin.requests)
    standin.end_outage()

    good = [(c, names) for c, names in calls if c.sim_id != bad]
    ob = admin.wait_outbox(lambda o: o["counts"]["delivered"] == len(good) and o["counts"]["dead"] == 1
                           and o["counts"]["pending"] == 0 and o["counts"]["retrying"] == 0,
                           timeout=30, what=f"{len(good)} delivered, 1 dead, nothing pending")
    standin.wait_quiet(quiet_s=1.5, timeout=15)
    for c, names in good:
        ok = [r for r in standin.requests_for(c.sim_id) if r.status == 200]
        assert len(ok) == 1, f"{c.sim_id} delivered {len(ok)} times: {standin.summary()[-2000:]}"
        assert [t["name"] for t in ok[0].body["tool_calls"]] == names, ok[0].body
    rejected = standin.requests_for(bad)
    assert [r.status for r in rejected].count(200) == 0 and rejected[-1].status == 422, standin.summary()
    (dead,) = ob["dead"]
    assert dead["simulation_result_id"] == bad and dead["last_status"] == 422, dead
    assert "Simulation result not found" in (dead["last_error"] or ""), f"dead letter without its reason: {dead}"
    assert standin.problems == []
    outcomes = [r.outcome if r.status is None else str(r.status) for r in standin.requests]
    injected = {k: outcomes.count(k) for k in ("503", "hung", "reset")}
    assert all(injected.values()), f"every kind of fault was met: {injected}"
    report("bluejay outage (503, hang, reset, one 422)", calls=len(calls), records=2 * len(calls),
           outage_s=sum(s for _, s in phases), attempts_during_outage=outage_requests, **injected,
           delivered=len(good), dead_letters=1, lost=0)
    agent.close()


# --- kill -9 under load -----------------------------------------------------------------------------------

@pytest.mark.timeout(120)
def test_kill9_under_load_loses_nothing_acknowledged(sidecar, standin, start_sipp, unique):
    prefix = unique("k9")
    load = Load(sidecar, prefix, calls=24, writers=4)
    # SIPp calls in flight across the crash: their INVITEs and BYEs are retransmitted until the restarted
    # sidecar answers them.
    sipp_prefix = unique("k9sipp")
    sipp_sims = [f"{sipp_prefix}-{i}" for i in range(1, 21)]
    try:
        load.invite_all()
        load.start_writers()
        sipp = start_sipp("uac-basic.xml", sidecar.sip_port, transport="u1", calls=len(sipp_sims), rate=20,
                          inf=[(s, sipp_prefix, 700) for s in sipp_sims], call_id_prefix=sipp_prefix, timeout=60)
        time.sleep(0.3)
        half = load.calls[: len(load.calls) // 2]
        crash_after = random.randint(3, len(half) - 2)   # a random point among the BYEs
        for c in half[:crash_after]:
            load.bye(c)
            time.sleep(0.02)
        sidecar.kill9()
        load.stop_writers()
        ended_before = [c for c in half if c.bye_status == 200]
        assert len(ended_before) == crash_after, [c.bye_status for c in half]

        sidecar.restart()
        # Retransmissions after the restart: a BYE answered before the crash -> 481 (that dialog is over);
        # the INVITE of a call still up -> 200 again with the same To tag (as its lost transaction would have).
        for c in ended_before:
            code, _ = c.sip.retransmit("BYE")
            assert code == 481, f"{c.call_id}: retransmitted BYE got {code}"
        still_up = load.calls[crash_after:]
        reinvited = 0
        for c in still_up[:6]:
            tag_before = c.sip.to_tag
            code, tag = c.sip.retransmit("INVITE")
            assert (code, tag) == (200, tag_before), f"{c.call_id}: retransmitted INVITE got {code} tag {tag!r}"
            reinvited += 1
        # the agent goes on after the restart, then every remaining call ends
        client = AgentClient(sidecar.socket_path, timeout=5)
        for c in still_up:
            name = f"after_restart_{c.sim_id}"
            assert client.request(A.tool_call(name, {}, None, call_id=c.call_id))["ok"] is True
            c.acked.append(name)
            assert load.bye(c) == 200, f"{c.call_id}: BYE after the restart"
        client.close()
        res = sipp.wait()
        assert res.ok and res.successful == len(sipp_sims), res.describe()
        standin.wait_for(len(load.calls) + len(sipp_sims), timeout=30, status=200)
        standin.wait_quiet(quiet_s=1.0, timeout=10)
        figures = check_flushed(standin, load.calls, redelivery_allowed=True)
        bodies = standin.delivered_bodies()
        for sim in sipp_sims:
            distinct = {json.dumps(b, sort_keys=True) for b in bodies.get(sim, [])}
            assert len(distinct) == 1, f"SIPp call {sim}: {len(distinct)} different bodies: {standin.summary()[-1500:]}"
        assert standin.problems == []
        report("kill -9 under load", **figures, sipp_calls_across_crash=len(sipp_sims),
               sipp_retransmissions=res.retransmissions, killed_after_byes=crash_after,
               bye_retransmissions_481=len(ended_before), invite_retransmissions_200=reinvited)
    finally:
        load.close()


# --- SIGTERM under load -----------------------------------------------------------------------------------

@pytest.mark.timeout(90)
def test_sigterm_under_load_drains_and_loses_nothing(sidecar_factory, standin, unique):
    sc = sidecar_factory(bluejay_url=standin.url, api_key=standin.api_key, args=["--drain-timeout", "20"])
    prefix = unique("term")
    load = Load(sc, prefix, calls=24, writers=4)
    try:
        load.invite_all()
        load.start_writers()
        time.sleep(0.5)
        sc.proc.send_signal(signal.SIGTERM)
        sc.wait_for_log("draining: new calls are refused", timeout=10)
        late = UdpCall(sc.sip_port, sim_id=f"{prefix}-late")
        assert late.invite() == 503, "a new call during the drain is refused"
        late.close()
        time.sleep(0.5)            # the agents keep writing during the drain
        acked_in_drain = load.acked_records
        for c in load.calls:
            assert load.bye(c) == 200, f"{c.call_id}: BYE during the drain"
        assert sc.proc.wait(timeout=20) == 0, sc.stderr_text()[-3000:]
        load.stop_writers()
        # What the last delivery try did not get out waits in the outbox for the next start.
        if len(standin.delivered()) < len(load.calls):
            sc.start()
        standin.wait_for(len(load.calls), timeout=30, status=200)
        standin.wait_quiet(quiet_s=1.0, timeout=10)
        figures = check_flushed(standin, load.calls)
        assert standin.requests_for(f"{prefix}-late") == []
        assert standin.problems == []
        report("SIGTERM under load", **figures, acked_before_byes=acked_in_drain, refused_during_drain=1, exit_code=0)
    finally:
        load.close()


# --- calls nobody ends ------------------------------------------------------------------------------------

@pytest.mark.timeout(60)
def test_max_call_duration_ends_and_flushes_marked(sidecar_factory, standin, unique, require_sidecar_bin):
    bad = subprocess.run([str(require_sidecar_bin), "config", "check", "--max-call-duration", "0s"],
                         capture_output=True, text=True, timeout=20)
    assert bad.returncode == 64 and "max_call_duration" in bad.stderr, bad.stderr
    shown = subprocess.run([str(require_sidecar_bin), "config", "check"], capture_output=True, text=True, timeout=20)
    assert any(l.split()[:2] == ["max_call_duration", "4h"] for l in shown.stdout.splitlines()), shown.stdout

    sc = sidecar_factory(bluejay_url=standin.url, api_key=standin.api_key, args=["--max-call-duration", "2s"])
    prefix = unique("maxdur")
    call = UdpCall(sc.sip_port, sim_id=f"{prefix}-sip")
    started = time.monotonic()
    assert call.invite() == 200
    agent = AgentClient(sc.socket_path, timeout=5)
    assert agent.request(A.tool_call("kept", {"a": 1}, "x", call_id=call.call_id, start_offset_ms=5))["ok"] is True
    ledger = agent.request({"type": "start", "simulation_result_id": f"{prefix}-ledger"})
    assert ledger.get("state") == "active", ledger
    assert agent.request(A.event("noted", sim_id=f"{prefix}-ledger"))["ok"] is True

    bye = call.receive_request("BYE", timeout=8)   # the sidecar hangs up (RFC 3261 §15.1.1)
    took = time.monotonic() - started
    assert 1.8 <= took <= 6, f"ended after {took:.1f}s with --max-call-duration 2s"
    assert f"Call-ID: {call.call_id}".encode() in bye and b'Reason: SIP;text="max_call_duration"' in bye, bye
    assert f"sip:caller@127.0.0.1:{call.local}".encode() in bye.split(b"\r\n")[0], "to the caller's Contact"
    assert call.receive_request("BYE", timeout=1.5) == bye, "unanswered over UDP: retransmitted"
    call.answer(bye, 200)
    with pytest.raises(OSError):  # socket.timeout: answered, so no more retransmissions
        call.receive_request("BYE", timeout=2.5)
    reqs = standin.wait_for(2, timeout=10, status=200)
    by_sim = {r.simulation_result_id: r.body for r in reqs}
    sip, led = by_sim[f"{prefix}-sip"], by_sim[f"{prefix}-ledger"]
    for body in (sip, led):
        assert body["metadata"]["end_reason"] == "max_call_duration", body["metadata"]
        assert body["metadata"]["ended_by"] == "system", body["metadata"]
    assert [t["name"] for t in sip["tool_calls"]] == ["kept"]
    ended = [e for e in sip["events"] if e["title"] == "call_ended"]
    assert ended and ended[0]["metadata"]["end_reason"] == "max_call_duration", sip["events"]
    assert sip["metadata"]["duration_ms"] >= 1800, sip["metadata"]
    assert [e["title"] for e in led["events"]] == ["noted"]
    assert call.bye() == 481, "the sidecar ended the call: a BYE of the caller's finds no dialog"
    assert agent.request(A.tool_call("late", {}, None, call_id=call.call_id))["error"] == "call_flushed"
    standin.wait_quiet(quiet_s=1.0, timeout=10)
    assert len(standin.requests) == 2 and standin.problems == []
    report("BYE never arrives (--max-call-duration 2s)", calls=2, records=2, ended_after_s=round(took, 1),
           bye_sent_by_sidecar=1, lost=0)
    call.close()
    agent.close()


@pytest.mark.timeout(45)
def test_max_call_duration_in_mirror_mode_ends_the_call_locally(sidecar_factory, standin, unique):
    """A mirror answers nothing: it cannot hang up, but a call whose end it never saw is still ended and flushed."""
    import hep as H
    from sipp import HOST, free_port
    port = free_port("udp")
    sc = sidecar_factory(bluejay_url=standin.url, api_key=standin.api_key, transports=(),
                         args=["--mode", "mirror", "--mirror", f"udp://{HOST}:{port}", "--max-call-duration", "2s"])
    prefix = unique("maxdur-mirror")
    sim, cid = f"{prefix}-sim", f"{prefix}-1@bluejay-test"
    call = H.MirroredCall(cid, sim, caller=(HOST, 5070), callee=(HOST, 5080))
    sender = H.MirrorSender(port)
    try:
        sender.send(call.setup(), how="hep")   # INVITE, 200, ACK: and then nothing
        agent = AgentClient(sc.socket_path, timeout=5)
        agent.wait_state(call_id=cid, timeout=10)
        assert agent.request(A.tool_call("mirrored", {}, 1, call_id=cid, start_offset_ms=1))["ok"] is True
        (req,) = standin.wait_for(1, timeout=10, status=200)
        md = req.body["metadata"]
        assert (md["end_reason"], md["ended_by"]) == ("max_call_duration", "system"), md
        assert [t["name"] for t in req.body["tool_calls"]] == ["mirrored"]
        agent.close()
    finally:
        sender.close()
    report("BYE never arrives, mode mirror (--max-call-duration 2s)", calls=1, records=1, lost=0)


# --- a write the store refuses ------------------------------------------------------------------------------

@contextlib.contextmanager
def refusing(sc, name: str, trigger: str):
    """A trigger in the running sidecar's own store that makes some of its writes fail (as a disk that fills up
    makes them fail), for the length of the block. SQLite re-prepares the sidecar's statements on the change."""
    db = sqlite3.connect(str(sc.data_dir / "sidecar.sqlite"), timeout=10)
    try:
        db.execute(f"CREATE TRIGGER {name} {trigger}")
        db.commit()
        yield
    finally:
        db.execute(f"DROP TRIGGER IF EXISTS {name}")
        db.commit()
        db.close()


@pytest.mark.timeout(60)
def test_a_start_the_store_refused_opens_no_ledger(sidecar, standin, agent, unique):
    """A `start` whose write fails gets an error, and the ledger it would have opened does not exist: records
    naming it, even pipelined behind it into the same commit, are refused (unknown_call), never acknowledged
    into a ledger that nothing would flush. A `start` again, once the store takes it, opens it."""
    sim, cid = unique("refused-start"), unique("refused-ledger")
    with refusing(sidecar, "refuse_start", "BEFORE INSERT ON calls WHEN NEW.local_tag = '' "
                                           "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"):
        start = {"type": "start", "call_id": cid, "simulation_result_id": sim}
        replies = agent.pipeline([start, A.tool_call("pipelined", {}, None, call_id=cid, start_offset_ms=1)])
        assert "error" in replies[0], replies
        assert replies[1].get("error") == "unknown_call", replies
        late = agent.request(A.tool_call("later", {}, None, call_id=cid, start_offset_ms=2))
        assert late.get("error") == "unknown_call", late
    assert agent.request(start).get("ok") is True
    assert agent.request(A.tool_call("kept", {"k": 1}, "ok", call_id=cid, start_offset_ms=3)).get("ok") is True
    assert agent.request(A.end(call_id=cid)).get("ok") is True
    (req,) = standin.wait_for(1, timeout=15, status=200)
    assert req.simulation_result_id == sim, standin.summary()
    assert [t["name"] for t in req.body["tool_calls"]] == ["kept"], req.body["tool_calls"]
    assert standin.problems == []


@pytest.mark.timeout(60)
def test_a_call_is_named_only_by_a_record_the_store_kept(sidecar, standin, agent, unique):
    """A record that names its call's simulation result id and is refused leaves the call unnamed, so the same
    record again names it and the call goes out under that id (before, the id was taken in memory by the
    refused record, the retry skipped naming the call in the store, and the call was never sent)."""
    sim = unique("named-late")
    call = UdpCall(sidecar.sip_port)  # no X-Simulation-Result-Id: the agent names the call
    assert call.invite() == 200
    naming = {**A.event("named", call_id=call.call_id, start_offset_ms=5), "simulation_result_id": sim}
    # The record's insert fails after the naming's update went through: the operation is undone as a whole.
    with refusing(sidecar, "refuse_naming", "BEFORE INSERT ON records WHEN NEW.kind = 'event' "
                                            "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"):
        refused = agent.request(naming)
        assert "error" in refused, refused
    assert agent.request(naming).get("ok") is True
    assert call.bye() == 200
    call.close()
    (req,) = standin.wait_for(1, timeout=15, status=200)
    assert req.simulation_result_id == sim, standin.summary()
    assert "named" in [e["title"] for e in req.body["events"]], req.body["events"]
    assert standin.problems == []


# --- data directory full ----------------------------------------------------------------------------------

class Tmpfs:
    """A small tmpfs mounted on `path` for one test; always unmounted (lazily if the sidecar still holds it)."""

    def __init__(self, path: Path, size: str = "6m"):
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)],
                           capture_output=True, text=True, timeout=10)
        if r.returncode != 0:
            pytest.fail(f"cannot mount a tmpfs for the data directory (needs root): {r.stderr.strip()}")

    def fill(self) -> int:
        """Writes a filler file until the filesystem is full; returns its size."""
        fd = os.open(self.path / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
        written = 0
        try:
            while True:
                written += os.write(fd, b"\0" * 65536)
        except OSError:
            pass
        finally:
            os.close(fd)
        return written

    def free(self) -> None:
        (self.path / "filler").unlink()

    def unmount(self) -> None:
        r = subprocess.run(["umount", str(self.path)], capture_output=True, timeout=10)
        if r.returncode != 0:
            subprocess.run(["umount", "-l", str(self.path)], capture_output=True, timeout=10)


@pytest.fixture
def tmpfs_factory():
    made: list[Tmpfs] = []

    def make(path: Path, size: str = "6m") -> Tmpfs:
        t = Tmpfs(path, size)
        made.append(t)
        return t
    yield make
    for t in made:
        t.unmount()


@pytest.mark.timeout(90)
def test_data_dir_full_refuses_records_keeps_sip_and_recovers(sidecar_factory, standin, tmpfs_factory, unique):
    sc = sidecar_factory(bluejay_url=standin.url, api_key=standin.api_key, start=False)
    disk = tmpfs_factory(sc.data_dir)
    try:
        _data_dir_full(sc, disk, standin, unique("full"))
    finally:
        sc.stop()


def _data_dir_full(sc, disk, standin, prefix):
    sc.start()
    agent = AgentClient(sc.socket_path, timeout=10)
    first = UdpCall(sc.sip_port, sim_id=f"{prefix}-a")
    assert first.invite() == 200
    acked = []
    for i in range(3):
        name = f"before_full_{i}"
        assert agent.request(A.tool_call(name, {"i": i}, None, call_id=first.call_id, start_offset_ms=i))["ok"] is True
        acked.append(name)

    disk.fill()
    big = "x" * 200_000
    replies = {}
    refused = 0
    for i in range(60):   # every answer is ok (then it must be flushed) or store_unavailable, never anything else
        name = f"while_full_{i}"
        r = agent.request(A.tool_call(name, {"pad": big}, None, call_id=first.call_id, start_offset_ms=100 + i))
        code = "ok" if r.get("ok") is True else r.get("error")
        replies[code] = replies.get(code, 0) + 1
        if code == "ok":
            acked.append(name)
        else:
            refused += 1
            assert code == "store_unavailable", r
            if refused >= 10:
                break
    assert refused >= 10, f"the full disk never refused a write: {replies}"
    # Kept full: after 5 s of commits failing in a row the writer replaces its connection, and that fresh
    # connection is the one that must recover below. (A small commit that still fits, such as the retention
    # pass 5 s after start, proves the old connection usable and starts the 5 s over: hence up to 15 s.)
    deadline = time.monotonic() + 15
    while "store connection reopened" not in sc.stderr_text():
        assert time.monotonic() < deadline, "no fresh connection after 15 s of failing commits"
        r = agent.request(A.tool_call("while_full_later", {"pad": big}, None, call_id=first.call_id))
        assert r.get("error") == "store_unavailable", r
        refused += 1
        time.sleep(0.5)
    small = agent.request(A.tool_call("small_while_full", {}, None, call_id=first.call_id))
    assert small.get("ok") is True or small.get("error") == "store_unavailable", small
    if small.get("ok") is True:
        acked.append("small_while_full")

    # SIP keeps working: a whole call while the disk is full
    second = UdpCall(sc.sip_port, sim_id=f"{prefix}-b")
    assert second.invite() == 200, "INVITE answered while the store is full"
    assert second.bye() == 200, "BYE answered while the store is full"
    assert sc.running

    disk.free()
    after = wait_until(lambda: agent.request(A.tool_call("after_free", {}, None, call_id=first.call_id)).get("ok"),
                       15, "a write acknowledged again once space returned", interval=0.3)
    assert after is True
    acked.append("after_free")
    assert first.bye() == 200
    standin.wait_for(2, timeout=20, status=200)
    standin.wait_quiet(quiet_s=1.0, timeout=10)
    bodies = standin.delivered_bodies()
    (a,) = bodies[f"{prefix}-a"]
    names = [t["name"] for t in a["tool_calls"]]
    assert all(n in names for n in acked) and len(names) == len(set(names)), (acked, names)
    assert len(names) == len(acked), "only acknowledged records are flushed (a refused one must not be there)"
    (b,) = bodies[f"{prefix}-b"]
    assert b["metadata"]["ended_by"] == "caller" and b["metadata"]["answered_at"], \
        "the call SIP answered while the disk was full is flushed once space returns"
    assert sorted(e["title"] for e in b["events"]) == ["call_answered", "call_ended"], \
        f"its SIP events, refused by the full store, were written once space returned: {b['events']}"
    assert standin.problems == []
    report("data directory full", calls=2, records_acked=len(acked), writes_refused=refused,
           store_connection_reopened=1, lost=0)
    first.close(); second.close(); agent.close()


@pytest.mark.timeout(60)
def test_read_only_data_dir_is_a_clear_start_failure(sidecar_factory, standin, tmpfs_factory):
    """Linux refuses to remount a filesystem read-only under an open writer (EBUSY), so a data directory goes
    read-only between runs: the sidecar must say so and stop (exit 70), not start without a store."""
    sc = sidecar_factory(bluejay_url=standin.url, api_key=standin.api_key, start=False)
    disk = tmpfs_factory(sc.data_dir)
    sc.start()
    sc.stop()
    r = subprocess.run(["mount", "-o", "remount,ro", str(disk.path)], capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, r.stderr
    try:
        with pytest.raises(AssertionError, match="exited with 70"):
            sc.start(timeout=15)
        text = sc.stderr_text()
        assert "readonly database" in text and str(sc.data_dir / "sidecar.sqlite") in text, text[-2000:]
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(disk.path)], capture_output=True, timeout=10)
    sc.start()
    call = UdpCall(sc.sip_port, sim_id="ro-recovered")
    assert call.invite() == 200 and call.bye() == 200
    standin.wait_for(1, timeout=10, status=200)
    call.close()


def test_store_of_a_newer_release_is_refused_and_left_untouched(sidecar_factory, standin):
    """A data directory written by a newer release (a higher schema version) is not rewritten by an older binary:
    it exits 70 naming the store and the versions, and the file is as it was."""
    sc = sidecar_factory(bluejay_url=standin.url, api_key=standin.api_key, start=False)
    sc.data_dir.mkdir(parents=True, exist_ok=True)
    store = sc.data_dir / "sidecar.sqlite"
    db = sqlite3.connect(store)
    db.execute("CREATE TABLE future(x)")
    db.execute("PRAGMA user_version=99")
    db.commit()
    db.close()
    with pytest.raises(AssertionError, match="exited with 70"):
        sc.start(timeout=15)
    text = sc.stderr_text()
    assert "schema version 99" in text and str(store) in text, text[-2000:]
    db = sqlite3.connect(store)
    assert db.execute("PRAGMA user_version").fetchone()[0] == 99
    assert [r[0] for r in db.execute("SELECT name FROM sqlite_master")] == ["future"]
    db.close()


# --- lossy network ----------------------------------------------------------------------------------------

# This machine's kernel is built without sch_netem, so the link is impaired with what it has, in the kernel
# all the same: nftables drops LOSS_PERCENT of the UDP packets arriving in either namespace (numgen random),
# and sends a quarter of each side's packets over a second veth pair shaped by a slow token bucket (tbf), so
# they arrive tens of milliseconds after packets sent later on the fast pair: reordering and jitter.
LOSS_PERCENT = 10
SLOW_PATH_SHARE = "1 in 4"
NFT_RULES = """table inet impair {
  chain reorder { type route hook output priority mangle; meta l4proto udp meta mark set numgen random mod 4; }
  chain loss { type filter hook input priority filter; meta l4proto udp numgen random mod 100 < %d counter drop; }
}
""" % LOSS_PERCENT


def _sh(*cmd: str, check: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess:
    r = subprocess.run(list(cmd), capture_output=True, text=True, timeout=20, input=stdin)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed: {r.stderr.strip()}")
    return r


@contextlib.contextmanager
def lossy_link():
    """Two network namespaces joined by two veth pairs, lossy and reordering in both directions; always deleted."""
    for tool in ("ip", "tc", "nft"):
        if subprocess.run(["sh", "-c", f"command -v {tool}"], capture_output=True).returncode != 0:
            pytest.fail(f"{tool} is not installed; the lossy-network test needs it (scripts/install-deps test)")
    tag = secrets.token_hex(3)
    a, b = f"bjA-{tag}", f"bjB-{tag}"
    net = f"10.{random.randint(64, 127)}.{random.randint(0, 255)}"
    created: list[str] = []
    try:
        for ns in (a, b):
            _sh("ip", "netns", "add", ns)
            created.append(ns)
            _sh("ip", "-n", ns, "link", "set", "lo", "up")
        fast, slow = (f"bja{tag}", f"bjb{tag}"), (f"bsa{tag}", f"bsb{tag}")
        for dev_a, dev_b in (fast, slow):
            _sh("ip", "link", "add", dev_a, "netns", a, "type", "veth", "peer", "name", dev_b, "netns", b)
        for ns, host, peer, devs in ((a, 1, 2, (fast[0], slow[0])), (b, 2, 1, (fast[1], slow[1]))):
            _sh("ip", "-n", ns, "addr", "add", f"{net}.{host}/24", "dev", devs[0])
            for dev in devs:
                _sh("ip", "-n", ns, "link", "set", dev, "up")
            # packets arriving on the slow pair carry the fast pair's addresses: no reverse-path filtering
            _sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv4.conf.all.rp_filter=0",
                f"net.ipv4.conf.{devs[0]}.rp_filter=0", f"net.ipv4.conf.{devs[1]}.rp_filter=0")
            _sh("ip", "-n", ns, "rule", "add", "fwmark", "1", "table", "100")
            _sh("ip", "-n", ns, "route", "add", f"{net}.{peer}/32", "dev", devs[1], "table", "100")
            _sh("ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", devs[1], "root", "tbf",
                "rate", "256kbit", "burst", "1600", "latency", "1s")
            _sh("ip", "netns", "exec", ns, "nft", "-f", "-", stdin=NFT_RULES)
        yield {"sidecar_ns": a, "sipp_ns": b, "sidecar_ip": f"{net}.1", "sipp_ip": f"{net}.2"}
    finally:
        for ns in created:
            _sh("ip", "netns", "del", ns, check=False)


def dropped_packets(ns: str) -> int:
    """Packets the loss rule dropped on arrival in ``ns`` (its nft counter)."""
    out = _sh("ip", "netns", "exec", ns, "nft", "list", "chain", "inet", "impair", "loss").stdout
    m = re.search(r"counter packets (\d+)", out)
    assert m, out
    return int(m.group(1))


@pytest.mark.timeout(150)
def test_lossy_network_calls_complete_through_retransmissions(tmp_path, require_sidecar_bin, require_sipp, unique):
    from sidecar import Sidecar
    import sipp as S
    from bluejay_standin import load_validator

    with lossy_link() as links:
        port = 5060
        sc = Sidecar(tmp_path / "sidecar", binary=require_sidecar_bin, api_key=None, transports=(),
                     args=["--sip", f"udp://{links['sidecar_ip']}:{port}"], netns=links["sidecar_ns"])
        sc.start()
        try:
            prefix = unique("lossy")
            sims = [f"{prefix}-{i}" for i in range(1, 31)]
            p = S.SippProcess("uac-basic.xml", f"{links['sidecar_ip']}:{port}", transport="u1", calls=len(sims), rate=10,
                              inf=[(s, prefix, 300) for s in sims], call_id_prefix=prefix, timeout=90,
                              workdir=tmp_path / "sipp", local_ip=links["sipp_ip"], netns=links["sipp_ns"],
                              local_port=5070)
            res = p.wait()
            assert res.ok and res.successful == len(sims), res.describe()
            dropped = {"to_sidecar": dropped_packets(links["sidecar_ns"]), "to_sipp": dropped_packets(links["sipp_ns"])}
            assert dropped["to_sidecar"] > 0 and dropped["to_sipp"] > 0, dropped
            assert (res.retransmissions or 0) > 0, f"no retransmissions: was anything lost? {res.describe()}"
            deadline = time.monotonic() + 15
            while len(sc.dry_run_files()) < len(sims) and time.monotonic() < deadline:
                time.sleep(0.2)
            files = sc.dry_run_files()
            validator = load_validator()
            seen = []
            for f in files:
                body = json.loads(f.read_text())
                assert [e.message for e in validator.iter_errors(body)] == [], f.name
                seen.append(body["simulation_result_id"])
                assert body["metadata"]["ended_by"] == "caller", body["metadata"]
            assert sorted(seen) == sorted(sims), f"flushed {len(seen)} of {len(sims)}"
            report(f"lossy network ({LOSS_PERCENT}% UDP loss each way, {SLOW_PATH_SHARE} packets reordered via a slow path)", calls=len(sims),
                   sipp_retransmissions=res.retransmissions, packets_dropped=dropped, flushed=len(seen), lost=0)
        finally:
            sc.cleanup()
