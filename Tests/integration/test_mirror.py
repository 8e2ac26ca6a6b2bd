"""Mirror mode end to end: the sidecar receives COPIES of a call's SIP signalling on one UDP port (HEP v3
from capture agents, and/or plain SIP datagrams from a port mirror), answers nothing, follows the call
(INVITE / 200 / BYE) and flushes one body per simulated call, exactly as in the other modes.

The sidecar runs as ``--mode mirror --mirror udp://127.0.0.1:<port>``, without SIP listeners of its own
(``transports=()``); the agent writes records by Call-ID during the call; the stand-in receives the body.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import pytest

import hep as H
from expect import check_body, dump, standard_plan, write_plan
from sipp import HOST, call_id, free_port, start_uas

pytestmark = pytest.mark.sidecar

MIRROR_TRANSPORTS: tuple = ()   # the mirror has no SIP listeners of its own
TALK_S = 1.5                    # between the mirrored ACK and BYE: the agent writes during this


@pytest.fixture
def mirror(sidecar_factory, standin):
    """A mirror-mode sidecar delivering to the stand-in; returns (sidecar, mirror_port)."""
    port = free_port("udp")
    sc = sidecar_factory(bluejay_url=standin.url, api_key=standin.api_key, transports=MIRROR_TRANSPORTS,
                         args=["--mode", "mirror", "--mirror", f"udp://{HOST}:{port}"])
    return sc, port


@pytest.fixture
def sender_factory():
    made: list[H.MirrorSender] = []

    def make(port: int) -> H.MirrorSender:
        s = H.MirrorSender(port)
        made.append(s)
        return s

    try:
        yield make
    finally:
        for s in made:
            s.close()


def _one_body(standin, sim_id: str, timeout: float = 15) -> dict:
    standin.wait_for(1, timeout=timeout, status=200)
    standin.wait_quiet(quiet_s=1.0, timeout=10)
    assert standin.problems == [], standin.problems
    reqs = standin.requests
    assert len(reqs) == 1, f"want exactly one POST: {standin.summary()}"
    assert reqs[0].simulation_result_id == sim_id, standin.summary()
    return reqs[0].body


def _mirror_call(sc, port: int, standin, agent_factory, sender_factory, unique, *, how: str,
                 duplicates: bool = False, garbage=(), caller=(HOST, 5070), callee=(HOST, 5080),
                 ip_proto: int = 17) -> tuple[dict, "H.MirroredCall"]:
    """Mirror one whole call (setup, agent writes, teardown) and return the one body flushed."""
    prefix = unique(f"mirror-{how}")
    sim, cid = f"{prefix}-sim", f"{prefix}-1@bluejay-test"
    call = H.MirroredCall(cid, sim, caller=caller, callee=callee,
                          extra_headers={"X-Bluejay-Test": "yes", "X-Bluejay-Call-Ref": f"{prefix}-1"})
    plan = standard_plan(1, sim, cid)
    tx = sender_factory(port)
    if ip_proto != 17:
        for m in call.setup():
            tx.hep(m, ip_proto=ip_proto)
            time.sleep(0.02)
    else:
        tx.send(call.setup(), how=how, duplicates=duplicates, garbage=garbage)
    client = agent_factory(sc)
    write_plan(client, plan, wait_timeout=10)
    time.sleep(TALK_S)
    if ip_proto != 17:
        for m in call.teardown():
            tx.hep(m, ip_proto=ip_proto)
            time.sleep(0.02)
    else:
        tx.send(call.teardown(), how=how, duplicates=duplicates, garbage=garbage)
    body = _one_body(standin, sim)
    try:
        check_body(body, plan, expect_headers={"X-Simulation-Result-Id": sim, "X-Bluejay-Test": "yes",
                                               "X-Bluejay-Call-Ref": f"{prefix}-1"})
    except AssertionError as e:
        raise AssertionError(f"{e}\nbody:\n{dump(body)}") from None
    assert body["metadata"]["duration_ms"] >= int(TALK_S * 1000) - 300, dump(body)
    tx.assert_silent(0.3)
    assert sc.running, "the mirror exited"
    return body, call


# --- one call, each source ------------------------------------------------------------------------

@pytest.mark.timeout(60)
@pytest.mark.parametrize("variant", ["v4-udp", "v6-tcp"])
def test_hep_call_flushes_one_body(variant, mirror, standin, agent_factory, sender_factory, unique):
    sc, port = mirror
    if variant == "v4-udp":
        _mirror_call(sc, port, standin, agent_factory, sender_factory, unique, how="hep")
    else:   # IPv6 endpoints inside the HEP chunks and the SIP text, captured on TCP
        _mirror_call(sc, port, standin, agent_factory, sender_factory, unique, how="hep",
                     caller=("2001:db8::10", 5070), callee=("2001:db8::20", 5080), ip_proto=6)


@pytest.mark.timeout(60)
def test_plain_sip_copies_flush_one_body(mirror, standin, agent_factory, sender_factory, unique):
    sc, port = mirror
    _mirror_call(sc, port, standin, agent_factory, sender_factory, unique, how="plain")


@pytest.mark.timeout(60)
def test_duplicate_copies_processed_once(mirror, standin, agent_factory, sender_factory, unique):
    """Every message arrives four times: HEP from two capture agents and two plain mirror copies.
    One call, one body, and the SIP-derived events (call_answered, call_ended) once each (check_body)."""
    sc, port = mirror
    body, call = _mirror_call(sc, port, standin, agent_factory, sender_factory, unique, how="both",
                              duplicates=True)
    titles = [e.get("title") for e in body.get("events") or []]
    assert titles.count("call_answered") <= 1 and titles.count("call_ended") <= 1, dump(body)


# --- robustness -----------------------------------------------------------------------------------

@pytest.mark.timeout(90)
def test_garbage_and_truncated_hep_do_not_stop_the_mirror(mirror, standin, agent_factory, sender_factory, unique):
    sc, port = mirror
    tx = sender_factory(port)
    junk = H.garbage_packets(seed=7)
    for g in junk:
        tx.raw(g)
    # A truncation of every real Kamailio packet, too.
    for d in H.load_fixture("kamailio-5.6-siptrace-call.hex"):
        for n in (4, 6, 7, 20, len(d) // 2, len(d) - 1):
            tx.raw(d[:n])
    time.sleep(0.5)
    assert sc.running, f"the mirror exited after garbage:\n{sc.stderr_text()[-3000:]}"
    # It still follows the next call, with garbage interleaved between the messages.
    _mirror_call(sc, port, standin, agent_factory, sender_factory, unique, how="hep", garbage=junk[:12])
    standin.reset()
    _mirror_call(sc, port, standin, agent_factory, sender_factory, unique, how="plain", garbage=junk[12:24])


@pytest.mark.timeout(40)
def test_call_without_header_posts_nothing(mirror, standin, agent_factory, sender_factory, unique):
    sc, port = mirror
    prefix = unique("mirror-nohdr")
    cid = f"{prefix}-1@bluejay-test"
    call = H.MirroredCall(cid, None)
    tx = sender_factory(port)
    tx.send(call.setup(), how="hep", duplicates=True)
    client = agent_factory(sc)
    st = client.wait_state(call_id=cid, states=("active",), timeout=10)
    assert st.get("simulation_result_id") is None, st
    tx.send(call.teardown(), how="hep", duplicates=True)
    standin.wait_quiet(quiet_s=2.0, timeout=10)
    assert standin.requests == [], standin.summary()
    assert sc.dry_run_files() == []
    tx.assert_silent(0.3)


@pytest.mark.timeout(30)
def test_mirror_answers_nothing(mirror, standin, sender_factory, unique):
    """Requests that a UAS would answer (INVITE → 100/200, OPTIONS → 200, BYE without a dialog → 481)
    arrive as plain SIP and as HEP: nothing comes back to the sender's socket."""
    sc, port = mirror
    tx = sender_factory(port)
    call = H.MirroredCall(unique("mirror-silent") + "@bluejay-test", unique("sim-silent"),
                          caller=(HOST, tx.sock.getsockname()[1]))
    inv, bye = call.setup()[0], call.teardown()[0]
    options = H.Msg("OPTIONS", inv.data.replace(b"INVITE", b"OPTIONS"), inv.src, inv.dst)
    for m in (inv, options, bye):
        tx.plain(m)
        tx.hep(m)
    tx.assert_silent(2.0)
    assert sc.running


# --- real HEP from Kamailio -----------------------------------------------------------------------

@pytest.mark.timeout(60)
def test_recorded_kamailio_hep_replayed(mirror, standin, agent_factory, sender_factory):
    """The byte-exact packets Kamailio 5.6 siptrace sent for one call (sip-fixtures/hep), replayed with
    the call's pause: the replies there are doubled (two traces of each), as from two capture points."""
    sc, port = mirror
    dgs = H.load_fixture("kamailio-5.6-siptrace-call.hex")
    firsts = [H.decode_hep(d)["payload"].split(b"\r\n", 1)[0] for d in dgs]
    bye_at = next(i for i, f in enumerate(firsts) if f.startswith(b"BYE "))
    tx = sender_factory(port)
    for d in dgs[:bye_at]:
        tx.raw(d)
        time.sleep(0.02)
    client = agent_factory(sc)
    cid, sim = "hepfx-1@bluejay-test", "sim-hep-fixture-1"
    plan = standard_plan(1, sim, cid)
    write_plan(client, plan, wait_timeout=10)
    time.sleep(0.5)
    for d in dgs[bye_at:]:
        tx.raw(d)
        time.sleep(0.02)
    body = _one_body(standin, sim)
    try:
        check_body(body, plan, expect_headers={"X-Simulation-Result-Id": sim, "X-Bluejay-Test": "yes"})
    except AssertionError as e:
        raise AssertionError(f"{e}\nbody:\n{dump(body)}") from None
    assert body["metadata"]["sip_call_id"] == cid
    tx.assert_silent(0.3)


@pytest.fixture
def require_kamailio() -> None:
    if not H.kamailio_available():
        pytest.fail("kamailio (with siptrace.so) not installed: scripts/install-deps test installs it")


@pytest.mark.timeout(90)
def test_kamailio_siptrace_feeds_the_mirror(require_kamailio, mirror, standin, agent_factory, start_sipp,
                                            unique, tmp_path: Path):
    """Kamailio on 127.0.0.1 proxies a SIPp call (uac-basic.xml → Kamailio → SIPp UAS) and sends every
    request and reply it receives as HEP v3 (siptrace, hep_version 3) to the mirror: one body."""
    sc, port = mirror
    uas_port, kam_port = free_port("udp"), free_port("udp")
    kam = H.Kamailio(tmp_path / "kamailio", kam_port, port, uas_port)
    kam.check()
    kam.start()
    uas = None
    try:
        uas = start_uas(builtin="uas", port=uas_port, timeout=40, workdir=tmp_path / "uas")
        prefix = unique("mirror-kam")
        sim, cid = f"{prefix}-sim", call_id(prefix, 1)
        plan = standard_plan(1, sim, cid)
        proc = start_sipp("uac-basic.xml", kam_port, transport="u1", calls=1, inf=[(sim, prefix, 3000)],
                          call_id_prefix=prefix, timeout=30)
        write_plan(agent_factory(sc), plan, wait_timeout=15)
        res = proc.wait()
        assert res.ok and res.successful == 1, f"{res.describe()}\nkamailio:\n{kam.log_text()[-3000:]}"
        body = _one_body(standin, sim)
        try:
            check_body(body, plan, expect_headers={"X-Simulation-Result-Id": sim, "X-Bluejay-Test": "yes",
                                                   "X-Bluejay-Call-Ref": f"{prefix}-1"})
        except AssertionError as e:
            raise AssertionError(f"{e}\nbody:\n{dump(body)}") from None
        assert body["metadata"]["duration_ms"] >= 2500, dump(body)
    finally:
        if uas is not None:
            uas.kill()
        kam.stop()
    assert sc.running
