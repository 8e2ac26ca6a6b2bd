"""The admin API (/v1/calls, /v1/outbox, /v1/results), health routes, the admin
token, and the CLI subcommands that read them (calls / outbox / results)."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from datetime import datetime
from typing import Any, Optional

import pytest

import agent as A
import webhook_bodies as W
from expect import dump, standard_plan, write_plan
from sipp import call_id, free_port

pytestmark = pytest.mark.sidecar

CALL_LIST_KEYS = {"call_id", "simulation_result_id", "state", "invited_at", "answered_at", "ended_at",
                  "records", "flush_state"}
CALL_KEYS = {"call_id", "simulation_result_id", "state", "from", "to", "invited_at", "answered_at", "ended_at",
             "ended_by", "end_reason", "flush_state", "records", "outbox"}
OUTBOX_ITEM_KEYS = {"id", "call_id", "simulation_result_id", "state", "attempts", "next_attempt_at",
                    "last_status", "last_error"}
RESULT_KEYS = {"id", "kind", "status", "goal_success", "hallucination", "p50_agent_latency_ms",
               "p90_agent_latency_ms", "received_at"}
ADMIN_TOKEN = "adm_TEST_9d2f7c41e0"


def _time(v: Any) -> Optional[float]:
    """An ISO 8601 string or a number (epoch s/ms) -> comparable float; None for null."""
    if v is None:
        return None
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    assert isinstance(v, str), f"timestamp {v!r} is neither ISO 8601 nor a number"
    try:
        return datetime.fromisoformat(v.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise AssertionError(f"timestamp {v!r} is not ISO 8601") from None


def check_record_counts(records: dict, want: dict) -> None:
    """Agent record kinds exactly as written; other kinds (e.g. sip_event, written by the
    sidecar itself) may be present; ``total`` is the sum of every kind."""
    assert {k: records.get(k) for k in want} == want, records
    kinds = {k: v for k, v in records.items() if k != "total"}
    assert all(isinstance(v, int) and v >= 0 for v in kinds.values()), records
    assert records.get("total") == sum(kinds.values()), f"total is not the sum of the kinds: {records}"


def record_total(records: Any) -> int:
    if isinstance(records, dict):
        return records["total"]
    assert isinstance(records, int), f"records {records!r}"
    return records


def same_id(a: Any, b: Any) -> bool:
    return a is not None and str(a) == str(b)


# --- health ---------------------------------------------------------------------------------

@pytest.mark.timeout(20)
def test_health_routes_need_no_token(sidecar_factory, standin, admin_factory):
    sc = sidecar_factory(bluejay_url=standin.url, api_key=standin.api_key, args=["--admin-token", ADMIN_TOKEN])
    c = admin_factory(sc)
    r = c.get("/healthz", token=False)
    assert r.status == 200 and r.json() == {"status": "ok"}, r.describe()
    r = c.get("/readyz", token=False)
    assert r.status == 200 and r.json() == {"status": "ready"}, r.describe()
    r = c.get("/no/such/route", token=ADMIN_TOKEN)
    assert r.status == 404, r.describe()


@pytest.mark.timeout(30)
def test_readyz_503_while_draining(sidecar_factory, standin, admin_factory, run_sipp, unique):
    """After SIGTERM with a live call the sidecar drains (new INVITEs get 503): it is
    no longer ready for calls, so /readyz answers 503 while /healthz stays 200.
    (Interpretation of "503 when not ready".)"""
    sc = sidecar_factory(bluejay_url=standin.url, api_key=standin.api_key, args=["--drain-timeout", "10"])
    c = admin_factory(sc)
    prefix = unique("drain")
    first = run_sipp("uac-invite-only.xml", sc.sip_port, transport="u1", calls=1,
                     inf=[("7001", prefix, 0)], call_id_prefix=prefix, timeout=15)
    assert first.ok, first.describe()
    assert c.get("/readyz").status == 200
    sc.proc.send_signal(signal.SIGTERM)
    try:
        r = c.wait_until(lambda: (lambda r: r if r.status == 503 else None)(c.get("/readyz")), 3,
                         "/readyz 503 while draining")
        assert r.json() != {"status": "ready"}, r.describe()
        assert c.get("/healthz").status == 200
    finally:
        sc.kill9()


# --- calls ------------------------------------------------------------------------------------

@pytest.mark.timeout(45)
def test_calls_list_and_detail_after_real_calls(sidecar, standin, admin, agent_factory, start_sipp,
                                                run_sipp, unique):
    prefix = unique("adm")
    sims = ["7201", "7202"]
    plans = [standard_plan(i, s, call_id(prefix, i)) for i, s in enumerate(sims, start=1)]
    proc = start_sipp("uac-basic.xml", sidecar.sip_port, transport="u1", calls=2, rate=10,
                      inf=[(s, prefix, 1200) for s in sims], call_id_prefix=prefix, timeout=20)
    client = agent_factory(sidecar)
    for p in plans:
        write_plan(client, p)
    res = proc.wait()
    assert res.ok and res.successful == 2, res.describe()
    # a third call stays up
    up_prefix = unique("admUp")
    up_cid = call_id(up_prefix, 1)
    first = run_sipp("uac-invite-only.xml", sidecar.sip_port, transport="u1", calls=1,
                     inf=[("7203", up_prefix, 0)], call_id_prefix=up_prefix, timeout=15)
    assert first.ok, first.describe()
    client.wait_state(call_id=up_cid, timeout=10)
    assert client.request(A.tool_call("while_up", {"a": 1}, "ok", call_id=up_cid, start_offset_ms=5))["ok"]
    standin.wait_for(2, timeout=15, status=200)

    # list
    def listed() -> Optional[dict]:
        cs = {c["call_id"]: c for c in admin.calls()}
        ok = all(cs.get(p.call_id, {}).get("flush_state") == "flushed" for p in plans)
        return cs if ok and up_cid in cs else None
    calls = admin.wait_until(listed, 10, "both calls flushed in /v1/calls")
    for c in calls.values():
        assert CALL_LIST_KEYS <= set(c), f"missing {CALL_LIST_KEYS - set(c)} in {c}"
    for p in plans:
        c = calls[p.call_id]
        assert same_id(c["simulation_result_id"], p.sim_id) and c["state"] == "ended", c
        assert record_total(c["records"]) >= len(p.messages), c
        t_inv, t_ans, t_end = _time(c["invited_at"]), _time(c["answered_at"]), _time(c["ended_at"])
        assert t_inv is not None and t_ans is not None and t_end is not None, c
        assert t_inv <= t_ans <= t_end, c
    up = calls[up_cid]
    assert up["state"] == "active" and up["ended_at"] is None and up["flush_state"] == "open", up
    assert record_total(up["records"]) >= 1, up

    # detail
    for p in plans:
        d = admin.wait_call(p.call_id, lambda d: (d.get("outbox") or {}).get("state") == "delivered",
                            what=f"{p.call_id} delivered")
        assert CALL_KEYS <= set(d), f"missing {CALL_KEYS - set(d)} in {d}"
        assert d["call_id"] == p.call_id and same_id(d["simulation_result_id"], p.sim_id)
        assert "caller@" in d["from"] and "agent@" in d["to"], d
        assert d["ended_by"] == "caller" and d["end_reason"] == "bye", d
        assert d["flush_state"] == "flushed", d
        check_record_counts(d["records"], {"tool_call": 3, "event": 1, "transcript": 1, "metadata": 1, "tags": 0})
        assert d["records"]["total"] == record_total(calls[p.call_id]["records"]), (d["records"], calls[p.call_id])
        ob = d["outbox"]
        assert {"id", "state", "attempts", "last_status", "last_error"} <= set(ob), ob
        assert ob["attempts"] == 1 and ob["last_status"] == 200 and ob["last_error"] in (None, ""), ob
    d = admin.call(up_cid)
    assert d["state"] == "active" and d["outbox"] is None and d["ended_at"] is None, d
    check_record_counts(d["records"], {"tool_call": 1, "event": 0, "transcript": 0, "metadata": 0, "tags": 0})

    assert admin.call("no-such-call@bluejay-test", status=404)["error"] == "not_found"
    r = admin.get("/v1/calls/" + "%2F..%2Fx%20y%3B")
    assert r.is_error(404, "not_found"), r.describe()
    sidecar.kill9()   # a call is still up: skip the SIGTERM drain (--drain-timeout, 30 s) at teardown


@pytest.mark.timeout(30)
def test_call_detail_takes_percent_encoded_call_id(sidecar, standin, admin, run_sipp, unique):
    """A Call-ID may hold '/', '?', '+', '[', ']' and '@' (RFC 3261 `word`): the detail
    route takes it percent-encoded (every reserved character encoded, '@' as %40)."""
    prefix = unique("enc")
    cid = f"{prefix}/a?b+c[1]@bluejay-test"
    res = run_sipp("uac-basic.xml", sidecar.sip_port, transport="u1", calls=1,
                   inf=[("7290", prefix, 100)], cid_str=cid, timeout=15)
    assert res.ok, res.describe()
    standin.wait_for(1, timeout=10, status=200)
    assert cid in [c["call_id"] for c in admin.calls()], admin.calls()
    for strict in (True, False):
        path = admin.call_path(cid, strict=strict)
        r = admin.get(path)
        assert r.status == 200 and r.json().get("call_id") == cid, r.describe()


# --- outbox -----------------------------------------------------------------------------------

@pytest.mark.timeout(45)
def test_dead_letter_retried_by_admin(sidecar, standin, admin, start_sipp, unique):
    prefix = unique("dead")
    bad, good = "7501", "7502"
    standin.reject_ids({bad})
    res = start_sipp("uac-basic.xml", sidecar.sip_port, transport="u1", calls=2, rate=10,
                     inf=[(bad, prefix, 200), (good, prefix, 200)], call_id_prefix=prefix, timeout=20).wait()
    assert res.ok, res.describe()
    standin.wait_for(1, timeout=15, status=422)
    standin.wait_for(1, timeout=15, status=200)

    ob = admin.wait_outbox(lambda o: o["counts"].get("dead") == 1 and o["counts"].get("delivered") == 1,
                           what="one dead, one delivered")
    assert set(ob) >= {"counts", "pending", "retrying", "dead"}, ob
    assert ob["counts"] == {"pending": 0, "retrying": 0, "dead": 1, "delivered": 1}, \
        f"{json.dumps(ob)}\ncalls: {json.dumps(admin.calls())}\nstand-in: {standin.summary()}"
    assert ob["pending"] == [] and ob["retrying"] == [], ob
    (item,) = ob["dead"]
    assert OUTBOX_ITEM_KEYS <= set(item), f"missing {OUTBOX_ITEM_KEYS - set(item)}: {item}"
    assert item["call_id"] == call_id(prefix, 1) and same_id(item["simulation_result_id"], bad), item
    assert item["state"] == "dead" and item["attempts"] == 1 and item["last_status"] == 422, item
    detail = admin.call(call_id(prefix, 1))
    assert same_id(detail["outbox"]["id"], item["id"]) and detail["outbox"]["state"] == "dead", detail

    # Bluejay fixed: the dead letter goes back in line, due now
    standin.reject_ids(set())
    r = admin.retry(item["id"])
    assert r.status == 200, r.describe()
    assert r.json() == {"id": item["id"], "state": "pending"}, r.describe()
    reqs = standin.wait_for(2, timeout=10, predicate=lambda q: q.simulation_result_id == bad)
    assert [q.status for q in reqs] == [422, 200], standin.summary()
    assert reqs[0].body == reqs[1].body, "the retried body differs from the dead one"
    ob = admin.wait_outbox(lambda o: o["counts"].get("delivered") == 2, what="both delivered")
    assert ob["counts"] == {"pending": 0, "retrying": 0, "dead": 0, "delivered": 2}, \
        f"{json.dumps(ob)}\nstand-in: {standin.summary()}"
    d = admin.call(call_id(prefix, 1))["outbox"]
    assert d["state"] == "delivered" and d["attempts"] == 2 and d["last_status"] == 200, d

    r = admin.retry(item["id"])
    assert r.is_error(409, "already_delivered"), r.describe()
    r = admin.retry(987654)
    assert r.is_error(404, "not_found"), r.describe()
    r = admin.retry("not-a-number")
    assert r.status in (400, 404), r.describe()
    standin.wait_quiet(quiet_s=1.0, timeout=10)
    assert len(standin.requests) == 3, standin.summary()
    assert standin.problems == []


@pytest.mark.timeout(45)
def test_retrying_item_listed_and_retry_now(sidecar_factory, standin, admin_factory, start_sipp, unique):
    # slow retries, so that the item sits in "retrying" long enough to be seen and retried by hand
    sc = sidecar_factory(bluejay_url=standin.url, api_key=standin.api_key, default_args=False,
                         args=["--linger-ms", "200", "--log-level", "debug",
                               "--retry-initial-ms", "20000", "--retry-max-ms", "20000"])
    admin = admin_factory(sc)
    prefix = unique("retrying")
    standin.fail_all(503)
    res = start_sipp("uac-basic.xml", sc.sip_port, transport="u1", calls=1,
                     inf=[("7601", prefix, 200)], call_id_prefix=prefix, timeout=20).wait()
    assert res.ok, res.describe()
    standin.wait_for(1, timeout=10, predicate=lambda q: q.status == 503)
    ob = admin.wait_outbox(lambda o: o["counts"].get("retrying") == 1, what="one retrying")
    assert ob["counts"]["dead"] == 0 and ob["counts"]["delivered"] == 0, ob["counts"]
    (item,) = ob["retrying"]
    assert OUTBOX_ITEM_KEYS <= set(item), item
    assert item["attempts"] == 1 and item["last_status"] == 503, item
    assert item["state"] in ("pending", "retrying"), item
    assert _time(item["next_attempt_at"]) is not None, item
    standin.clear_failures()
    r = admin.retry(item["id"])
    assert r.status == 200 and r.json() == {"id": item["id"], "state": "pending"}, r.describe()
    # due now: well before the 20 s back-off
    standin.wait_for(1, timeout=5, status=200)
    ob = admin.wait_outbox(lambda o: o["counts"].get("delivered") == 1, what="delivered")
    assert ob["counts"] == {"pending": 0, "retrying": 0, "dead": 0, "delivered": 1}, ob["counts"]


# --- results ----------------------------------------------------------------------------------

@pytest.mark.timeout(45)
def test_results_show_evaluations_with_sent_tool_calls(sidecar, standin, admin, agent_factory, start_sipp,
                                                       unique):
    prefix = unique("res")
    sim = "7401"
    plan = standard_plan(1, sim, call_id(prefix, 1))
    proc = start_sipp("uac-basic.xml", sidecar.sip_port, transport="u1", calls=1,
                      inf=[(sim, prefix, 1000)], call_id_prefix=prefix, timeout=20)
    write_plan(agent_factory(sidecar), plan)
    assert proc.wait().ok
    (req,) = standin.wait_for(1, timeout=15, status=200)
    sent = req.body["tool_calls"]

    ev = W.simulation_result_evaluated(int(sim), goal_success=True, hallucination=False, p50=412.0, p90=880.0)
    obs = W.observability_call_evaluated("obs-7401", goal_success=False, hallucination=True, p50=350.0, p90=700.0)
    admin.webhook_ok(ev)
    admin.webhook_ok(obs)

    results = {str(r["id"]): r for r in admin.results()}
    assert set(results) == {sim, "obs-7401"}, results
    for r in results.values():
        assert RESULT_KEYS <= set(r), f"missing {RESULT_KEYS - set(r)}: {r}"
        assert _time(r["received_at"]) is not None, r
    s = results[sim]
    assert s["status"] == "COMPLETED" and s["goal_success"] is True and s["hallucination"] is False, s
    assert s["p50_agent_latency_ms"] == 412 and s["p90_agent_latency_ms"] == 880, s
    assert "simulation" in s["kind"], s
    o = results["obs-7401"]
    assert o["goal_success"] is False and o["hallucination"] is True, o
    assert o["p50_agent_latency_ms"] == 350 and o["p90_agent_latency_ms"] == 700, o
    assert "observability" in o["kind"], o

    d = admin.result(sim)
    assert RESULT_KEYS <= set(d) and d["event"] == ev, dump(d)
    assert d["tool_calls"]["evaluated"] == ev["tool_calls"], dump(d["tool_calls"])
    assert d["tool_calls"]["sent"] == sent, f"sent:\n{dump(d['tool_calls']['sent'])}\nflushed:\n{dump(sent)}"
    d = admin.result("obs-7401")
    assert d["event"] == obs and d["tool_calls"]["evaluated"] == obs["tool_calls"], dump(d)
    assert isinstance(d["tool_calls"]["sent"], list)

    assert admin.result(424242, status=404)["error"] == "not_found"


@pytest.mark.timeout(30)
def test_latencies_beyond_64_bit_integers_are_shown_not_fatal(sidecar, admin):
    """The schema allows any number as a latency; 1e19 is integral but beyond Int64, where
    converting it traps: the status page, which lists the latest results, must still render."""
    ev = W.simulation_result_evaluated(7402, p50=1e19, p90=1.5e300)
    admin.webhook_ok(ev)
    page = admin.get("/")
    assert page.status == 200, page.describe()
    text = page.body.decode()
    assert "7402" in text and "10000000000000000000.0" in text, text[-600:]
    (r,) = admin.results()
    assert r["p50_agent_latency_ms"] == 1e19 and r["p90_agent_latency_ms"] == 1.5e300, r
    assert sidecar.proc.poll() is None, "the sidecar exited"
    admin.wait_healthy()


@pytest.mark.timeout(20)
def test_empty_sidecar_answers_empty_lists(sidecar, admin):
    assert admin.calls() == []
    assert admin.results() == []
    ob = admin.outbox()
    assert ob["counts"] == {"pending": 0, "retrying": 0, "dead": 0, "delivered": 0}, ob
    assert ob["pending"] == [] and ob["retrying"] == [] and ob["dead"] == []


# --- admin token ------------------------------------------------------------------------------

ADMIN_ROUTES = ["/", "/metrics", "/v1/calls", "/v1/outbox", "/v1/results", "/v1/calls/x%40y", "/v1/results/1"]


@pytest.mark.timeout(30)
@pytest.mark.parametrize("via", ["flag", "env"])
def test_admin_token_required_when_configured(via, sidecar_factory, standin, admin_factory):
    if via == "flag":
        sc = sidecar_factory(bluejay_url=standin.url, api_key=standin.api_key, args=["--admin-token", ADMIN_TOKEN])
    else:
        sc = sidecar_factory(bluejay_url=standin.url, api_key=standin.api_key,
                             env={"BLUEJAY_SIDECAR_ADMIN_TOKEN": ADMIN_TOKEN})
    c = admin_factory(sc)
    for path in ADMIN_ROUTES:
        for label, hdrs in [("none", {}), ("wrong", {"Authorization": "Bearer nope"}),
                            ("prefix", {"Authorization": f"Bearer {ADMIN_TOKEN[:-1]}"}),
                            ("no-scheme", {"Authorization": ADMIN_TOKEN}),
                            ("basic", {"Authorization": f"Basic {ADMIN_TOKEN}"})]:
            r = c.get(path, token=False, headers=hdrs)
            assert r.is_error(401, "unauthorized"), f"{label} token on {path}: {r.describe()}"
        r = c.get(path, token=ADMIN_TOKEN)
        assert r.status in (200, 404), f"right token on {path}: {r.describe()}"
        if path in ("/", "/metrics", "/v1/calls", "/v1/outbox", "/v1/results"):
            assert r.status == 200, f"right token on {path}: {r.describe()}"
    r = c.post("/v1/outbox/1/retry", token=False)
    assert r.status == 401, r.describe()
    # open routes stay open
    assert c.get("/healthz", token=False).status == 200
    assert c.webhook(W.simulation_ended(5)).status == 200
    sc.stop()
    assert ADMIN_TOKEN not in sc.stderr_text(), "the admin token appears in the sidecar's stderr"


LOOPBACK_PROBE = r"""
import json, os, socket, subprocess, sys, time
binary, work, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
err = open(os.path.join(work, "stderr.log"), "wb")
p = subprocess.Popen([binary, "--sip", "udp://127.0.0.1:0", "--socket", os.path.join(work, "a.sock"),
                      "--data-dir", os.path.join(work, "data"), "--dry-run", os.path.join(work, "dry"),
                      "--http", "0.0.0.0:%d" % port], stdout=subprocess.DEVNULL, stderr=err)
out = {}
try:
    deadline = time.time() + 15
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close(); break
        except OSError:
            time.sleep(0.05)
    def get(addr, path, src=None):
        s = socket.create_connection((addr, port), timeout=5, source_address=(src, 0) if src else None)
        s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % path).encode())
        data = b""
        while True:
            c = s.recv(65536)
            if not c: break
            data += c
        s.close()
        head, _, body = data.partition(b"\r\n\r\n")
        return int(head.split()[1]), body.decode("utf-8", "replace")
    out["loopback"] = get("127.0.0.1", "/v1/calls")
    out["remote"] = get("192.0.2.10", "/v1/calls", src="192.0.2.10")
    out["remote_metrics"] = get("192.0.2.10", "/metrics", src="192.0.2.10")
    out["remote_health"] = get("192.0.2.10", "/healthz", src="192.0.2.10")
finally:
    p.terminate()
    try: p.wait(5)
    except subprocess.TimeoutExpired: p.kill()
print("RESULT " + json.dumps(out))
"""


@pytest.mark.timeout(40)
def test_admin_loopback_only_without_token(netns, require_http, require_sidecar_bin, tmp_path):
    """Without a token, admin routes answer loopback peers only. Run in a private
    network namespace holding only lo plus a documentation address (192.0.2.10/32)
    on it: a peer at 192.0.2.10 is not loopback, and nothing leaves the namespace."""
    script = tmp_path / "probe.py"
    script.write_text(LOOPBACK_PROBE)
    port = free_port("tcp")
    r = netns(f"ip addr add 192.0.2.10/32 dev lo && python3 {script} {require_sidecar_bin} {tmp_path} {port}",
              timeout=35)
    line = next((ln for ln in r.stdout.splitlines() if ln.startswith("RESULT ")), None)
    assert line, f"probe failed: rc={r.returncode}\nstdout:{r.stdout}\nstderr:{r.stderr[-3000:]}\n" \
                 f"sidecar stderr:{(tmp_path / 'stderr.log').read_text(errors='replace')[-3000:]}"
    out = json.loads(line[len("RESULT "):])
    assert out["loopback"][0] == 200, out
    assert out["remote"][0] == 403, out
    assert out["remote_metrics"][0] == 403, out
    assert out["remote_health"][0] == 200, out


# --- CLI ----------------------------------------------------------------------------------------

def cli(sc, *args: str, env: Optional[dict] = None, timeout: float = 15) -> subprocess.CompletedProcess:
    e = {k: v for k, v in os.environ.items() if k != "BLUEJAY_SIDECAR_ADMIN_TOKEN"}
    e.update(env or {})
    return subprocess.run([str(sc.binary), *args], capture_output=True, text=True, timeout=timeout, env=e,
                          stdin=subprocess.DEVNULL)


def show(p: subprocess.CompletedProcess) -> str:
    return f"rc={p.returncode}\nstdout:\n{p.stdout[-3000:]}\nstderr:\n{p.stderr[-3000:]}"


@pytest.mark.timeout(60)
def test_cli_subcommands(sidecar_factory, standin, admin_factory, start_sipp, unique):
    sc = sidecar_factory(bluejay_url=standin.url, api_key=standin.api_key, args=["--admin-token", ADMIN_TOKEN])
    admin = admin_factory(sc, token=ADMIN_TOKEN)
    hp = f"127.0.0.1:{sc.http_port}"
    prefix = unique("cli")
    bad, good = "7701", "7702"
    standin.reject_ids({bad})
    res = start_sipp("uac-basic.xml", sc.sip_port, transport="u1", calls=2, rate=10,
                     inf=[(bad, prefix, 200), (good, prefix, 200)], call_id_prefix=prefix, timeout=20).wait()
    assert res.ok, res.describe()
    ob = admin.wait_outbox(lambda o: o["counts"].get("dead") == 1 and o["counts"].get("delivered") == 1)
    dead_id = ob["dead"][0]["id"]
    admin.webhook_ok(W.simulation_result_evaluated(int(good), p50=412.0, p90=880.0))
    tok = ["--admin-token", ADMIN_TOKEN]

    # calls: a table naming both calls; --json parses to the API's shape
    p = cli(sc, "calls", "--http", hp, *tok)
    assert p.returncode == 0, show(p)
    for i in (1, 2):
        assert call_id(prefix, i) in p.stdout, f"call id missing from the table:\n{show(p)}"
    assert not p.stdout.lstrip().startswith("{"), f"the default output should be a table:\n{show(p)}"
    p = cli(sc, "calls", "--http", hp, "--json", *tok)
    assert p.returncode == 0, show(p)
    j = json.loads(p.stdout)
    assert {c["call_id"] for c in j["calls"]} == {call_id(prefix, 1), call_id(prefix, 2)}, j

    # the token from the environment
    p = cli(sc, "calls", "--http", hp, "--json", env={"BLUEJAY_SIDECAR_ADMIN_TOKEN": ADMIN_TOKEN})
    assert p.returncode == 0 and json.loads(p.stdout)["calls"], show(p)
    # no token: non-zero, and says why
    p = cli(sc, "calls", "--http", hp)
    assert p.returncode != 0, show(p)
    assert re.search(r"401|unauthori[sz]ed|token", p.stdout + p.stderr, re.I), show(p)

    # outbox: counts and the dead letter
    p = cli(sc, "outbox", "--http", hp, *tok)
    assert p.returncode == 0, show(p)
    assert "dead" in p.stdout.lower() and call_id(prefix, 1) in p.stdout, show(p)
    p = cli(sc, "outbox", "--http", hp, "--json", *tok)
    assert p.returncode == 0 and json.loads(p.stdout)["counts"]["dead"] == 1, show(p)

    # outbox --retry ID: back in line, delivered
    standin.reject_ids(set())
    p = cli(sc, "outbox", "--retry", str(dead_id), "--http", hp, *tok)
    assert p.returncode == 0, show(p)
    standin.wait_for(2, timeout=10, status=200)
    admin.wait_outbox(lambda o: o["counts"].get("delivered") == 2, what="retried letter delivered")
    p = cli(sc, "outbox", "--retry", str(dead_id), "--http", hp, *tok)
    assert p.returncode != 0 and re.search(r"already|409|delivered", p.stdout + p.stderr, re.I), show(p)
    p = cli(sc, "outbox", "--retry", "987654", "--http", hp, *tok)
    assert p.returncode != 0 and re.search(r"not.?found|404|no such|no outbox item|unknown", p.stdout + p.stderr, re.I), show(p)

    # results
    p = cli(sc, "results", "--http", hp, *tok)
    assert p.returncode == 0 and good in p.stdout and "412" in p.stdout, show(p)
    p = cli(sc, "results", good, "--http", hp, "--json", *tok)
    assert p.returncode == 0, show(p)
    j = json.loads(p.stdout)
    assert str(j["id"]) == good and j["event"]["id"] == int(good), j
    p = cli(sc, "results", "424242", "--http", hp, *tok)
    assert p.returncode != 0, show(p)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("sub", [["calls"], ["outbox"], ["results"], ["outbox", "--retry", "1"], ["calls", "--json"]])
def test_cli_unreachable_sidecar(sub, require_http, require_sidecar_bin):
    port = free_port("tcp")   # nobody listens there

    class _Bin:
        binary = require_sidecar_bin
    p = cli(_Bin, *sub, "--http", f"127.0.0.1:{port}", timeout=20)
    assert p.returncode != 0, show(p)
    msg = (p.stderr + p.stdout).lower()
    assert f"127.0.0.1:{port}" in msg or "unreachable" in msg or "connect" in msg or "refused" in msg, show(p)
    assert "fatal error" not in msg and "stack dump" not in msg, f"crashed instead of a message:\n{show(p)}"
