"""Delivery to Bluejay: retries, dead letters, timeouts, restarts, dry-run, secrecy."""
from __future__ import annotations

import json
import re
import time

import pytest

import agent as A
from bluejay_standin import load_validator
from sipp import call_id

pytestmark = pytest.mark.sidecar


def one_call(start_sipp, sc, prefix, sim, pause_ms=200, transport="u1"):
    return start_sipp("uac-basic.xml", sc.sip_port, transport=transport, calls=1,
                      inf=[(sim, prefix, pause_ms)], call_id_prefix=prefix, timeout=20)


def calls(start_sipp, sc, prefix, sims, pause_ms=200):
    return start_sipp("uac-basic.xml", sc.sip_port, transport="u1", calls=len(sims), rate=20,
                      inf=[(s, prefix, pause_ms) for s in sims], call_id_prefix=prefix, timeout=20)


@pytest.mark.timeout(45)
def test_503_with_retry_after_then_delivered_once(sidecar, standin, agent, start_sipp, unique):
    prefix = unique("r503")
    sim = f"{prefix}-sim"
    standin.fail_all(503, retry_after=1)
    proc = one_call(start_sipp, sidecar, prefix, sim, pause_ms=500)
    agent.wait_state(call_id=call_id(prefix, 1), timeout=10)
    assert agent.request(A.tool_call("t", {"a": 1}, "o", call_id=call_id(prefix, 1), start_offset_ms=3))["ok"]
    res = proc.wait()
    assert res.ok, res.describe()
    standin.wait_for(2, timeout=15, predicate=lambda r: r.status == 503)
    standin.clear_failures()
    standin.wait_for(1, timeout=15, status=200)
    standin.wait_quiet(quiet_s=1.5, timeout=10)
    reqs = standin.requests_for(sim)
    assert [r.status for r in reqs].count(200) == 1, standin.summary()
    assert all(r.status == 503 for r in reqs[:-1]) and reqs[-1].status == 200, standin.summary()
    # every attempt carried the same body
    assert len({json.dumps(r.body, sort_keys=True) for r in reqs}) == 1
    assert standin.problems == []


@pytest.mark.timeout(45)
def test_retry_after_is_honoured(sidecar, standin, start_sipp, unique):
    """503 + Retry-After: 1 -> the next attempt waits about a second, although
    --retry-initial-ms is 100."""
    prefix = unique("rafter")
    sim = f"{prefix}-sim"
    standin.fail_next(3, 503, retry_after=1)
    res = one_call(start_sipp, sidecar, prefix, sim).wait()
    assert res.ok, res.describe()
    standin.wait_for(1, timeout=20, status=200)
    reqs = standin.requests_for(sim)
    assert [r.status for r in reqs] == [503, 503, 503, 200], standin.summary()
    gaps = [round(b.time - a.time, 2) for a, b in zip(reqs, reqs[1:])]
    assert all(g >= 0.8 for g in gaps), f"retries ignored Retry-After: 1 (gaps {gaps} s)"


@pytest.mark.timeout(45)
def test_422_is_dead_letter_others_delivered(sidecar, standin, start_sipp, unique):
    prefix = unique("r422")
    sims = [f"{prefix}-sim-{i}" for i in range(1, 5)]
    bad = sims[1]
    standin.reject_ids({bad})
    res = calls(start_sipp, sidecar, prefix, sims).wait()
    assert res.ok, res.describe()
    standin.wait_for(3, timeout=15, status=200)
    standin.wait_for(1, timeout=15, status=422)
    # retry-initial-ms is 100: a retry of the 422 would show up well within this
    standin.wait_quiet(quiet_s=2.5, timeout=15)
    assert len(standin.requests_for(bad)) == 1, f"422 must not be retried: {standin.summary()}"
    for s in sims:
        if s != bad:
            assert [r.status for r in standin.requests_for(s)] == [200], standin.summary()
    assert standin.problems == []
    assert sidecar.running


@pytest.mark.timeout(45)
def test_hang_is_retried_after_http_timeout(sidecar_factory, standin, start_sipp, unique):
    sc = sidecar_factory(bluejay_url=standin.url, api_key=standin.api_key, args=["--http-timeout-ms", "1000"])
    prefix = unique("hang")
    sim = f"{prefix}-sim"
    standin.hang_next(1, seconds=6)
    res = one_call(start_sipp, sc, prefix, sim).wait()
    assert res.ok, res.describe()
    standin.wait_for(1, timeout=20, status=200)
    standin.wait_quiet(quiet_s=1.0, timeout=10)
    reqs = standin.requests_for(sim)
    assert reqs[0].outcome == "hung" and reqs[-1].status == 200, standin.summary()
    assert [r.status for r in reqs].count(200) == 1, standin.summary()
    gap = reqs[1].time - reqs[0].time
    assert 0.8 <= gap < 6, f"retry {gap:.2f}s after the hung request; --http-timeout-ms is 1000"
    assert standin.problems == []


@pytest.mark.timeout(60)
def test_delivery_survives_restart(sidecar, standin, start_sipp, unique):
    prefix = unique("restart")
    sims = [f"{prefix}-sim-{i}" for i in range(1, 3)]
    standin.stop()  # Bluejay unreachable: connection refused
    res = calls(start_sipp, sidecar, prefix, sims).wait()
    assert res.ok, res.describe()
    time.sleep(1.5)  # linger (200 ms) + a few failed attempts
    sidecar.kill9()
    standin.start()  # same port again
    sidecar.restart()
    standin.wait_for(len(sims), timeout=20, status=200)
    standin.wait_quiet(quiet_s=1.0, timeout=10)
    for s in sims:
        assert [r.status for r in standin.requests_for(s)] == [200], standin.summary()
    assert standin.problems == []


@pytest.mark.timeout(45)
def test_dry_run_writes_body_files(sidecar_factory, agent_factory, start_sipp, unique):
    sc = sidecar_factory(api_key=None)  # no key -> --dry-run DIR
    client = agent_factory(sc)
    prefix = unique("dry")
    sims = [f"{prefix}/../sim:{i}" for i in range(1, 4)]   # must be sanitised in file names
    proc = calls(start_sipp, sc, prefix, sims, pause_ms=600)
    for i in range(1, 4):
        client.wait_state(call_id=call_id(prefix, i), timeout=10)
        assert client.request(A.tool_call("dry_tool", {"i": i}, None, call_id=call_id(prefix, i),
                                          start_offset_ms=i))["ok"] is True
    res = proc.wait()
    assert res.ok, res.describe()
    deadline = time.monotonic() + 10
    while len(sc.dry_run_files()) < len(sims) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)  # nothing more may appear
    files = sc.dry_run_files()
    names = [p.name for p in files]
    assert len(files) == len(sims), names
    assert [p for p in sc.dry_run_dir.rglob("*") if p.is_dir()] == [], "dry-run must not create folders"
    validator = load_validator()
    seen = set()
    for p in files:
        assert re.fullmatch(r"\d{12}-[^/]+\.json", p.name), p.name
        body = json.loads(p.read_text())
        errs = [e.message for e in validator.iter_errors(body)]
        assert errs == [], (p.name, errs)
        seen.add(body["simulation_result_id"])
        assert [t["name"] for t in body["tool_calls"]] == ["dry_tool"]
    assert seen == set(sims)


@pytest.mark.timeout(45)
@pytest.mark.parametrize("via", ["file", "env"])
def test_api_key_never_logged(via, sidecar_factory, standin, start_sipp, unique):
    sc = sidecar_factory(bluejay_url=standin.url, api_key=standin.api_key, api_key_via=via,
                         log_level="debug")
    prefix = unique(f"key-{via}")
    sim = f"{prefix}-sim"
    standin.fail_next(1, 503)  # make it log a failed attempt too
    res = one_call(start_sipp, sc, prefix, sim).wait()
    assert res.ok, res.describe()
    (req,) = standin.wait_for(1, timeout=15, status=200)
    assert req.headers.get("x-api-key") == standin.api_key
    sc.stop()
    text = sc.stderr_text()
    assert text, "expected some log output at debug level"
    assert standin.api_key not in text, "the API key appears in the sidecar's stderr"
    assert standin.api_key[-12:] not in text, "a fragment of the API key appears in stderr"
    assert standin.api_key not in sc.stdout_path.read_text(errors="replace")
