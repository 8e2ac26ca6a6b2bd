"""Bluejay's events webhook (POST /webhooks/events_webhook and /webhooks/bluejay):
every variant and every example of the doc, invalid bodies (400 naming the
field), the shared secret, duplicates, oversize bodies, unknown types, and the
two effects end to end: outbound_simulation_started ties header-less calls to
their simulation results by the dialled number, and simulation_ended flushes a
call whose BYE never came."""
from __future__ import annotations

import json

import pytest

import agent as A
import sipp as sipp_mod
import validate_scenarios as V
import webhook_bodies as W
from admin import WEBHOOK_PATHS, post_oversize
from expect import check_body, dump, standard_plan, write_plan
from sipp import call_id

MiB = 1024 * 1024
EVALUATED = ("simulation_result_evaluated", "observability_call_evaluated")
EVENTS_METRIC = "bluejay_sidecar_webhook_events_total"


# --- the bodies agree with the schema (no binary needed) ------------------------------------

VALID = [(e.name, e.body) for e in W.doc_examples()] + W.valid_bodies() + W.minimal_bodies()
INVALID = W.invalid_bodies()


def test_doc_has_an_example_of_every_variant():
    types = {e.type for e in W.doc_examples()}
    assert types == set(W.VARIANTS), f"examples found in the doc: {sorted(types)}"


@pytest.mark.parametrize("name,body", VALID, ids=[n for n, _ in VALID])
def test_valid_body_passes_schema(name, body):
    assert W.schema_errors(body) == []


@pytest.mark.parametrize("inv", INVALID, ids=[i.name for i in INVALID])
def test_invalid_body_fails_schema(inv):
    if isinstance(inv.body, bytes):
        with pytest.raises(ValueError):
            json.loads(inv.body)
        return
    assert W.schema_errors(inv.body), f"{inv.name} passes the schema"
    if inv.field is not None:
        fields = W.schema_fields(inv.body)
        assert inv.field in fields, f"schema complains about {sorted(fields)}, not {inv.field}"


def test_required_fields_match_schema():
    schema = json.loads(W.schema_path().read_text())
    names = {"simulation_result_evaluated": "WebhookSimulationResultEvaluated",
             "observability_call_evaluated": "WebhookObservabilityCallEvaluated",
             "simulation_ended": "WebhookSimulationResultEnded",
             "outbound_simulation_started": "WebhookOutboundSimulationStarted"}
    for t, d in names.items():
        assert set(schema["$defs"][d]["required"]) == set(W.REQUIRED[t]), t


# --- the dial-number scenario itself, against a SIPp UAS (no binary needed) ----------------

DIAL_UAS = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<!-- Validation helper for uac-dial-number.xml: INVITE without X-Simulation-Result-Id;
     logs DIAL|call-id|Request-URI user|To user. -->
<scenario name="test uas dial number">
  <recv request="INVITE">
    <action>
      <ereg regexp="[^[:space:]]" search_in="hdr" header="X-Simulation-Result-Id:" check_it_inverse="true" assign_to="simid" />
      <ereg regexp="^[[:space:]]*yes[[:space:]]*$" search_in="hdr" header="X-Bluejay-Test:" check_it="true" assign_to="btest" />
      <ereg regexp="^INVITE sip:([^@;>[:space:]]+)@" search_in="msg" check_it="true" assign_to="ruri_all,ruri_user" />
      <ereg regexp="sip:([^@;>[:space:]]+)@" search_in="hdr" header="To:" check_it="true" assign_to="to_all,to_user" />
      <log message="DIAL|[call_id]|[$ruri_user]|[$to_user]" />
    </action>
  </recv>
  <send>
    <![CDATA[

      SIP/2.0 180 Ringing
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>
  <send>
    <![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:agent@[local_ip]:[local_port];transport=[transport]>
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=- 1 1 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0 101
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000
      a=inactive

    ]]>
  </send>
  <recv request="ACK" />
  <recv request="BYE" />
  <send>
    <![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>
  <Reference variables="simid,btest,ruri_all,to_all" />
</scenario>
"""


@pytest.mark.timeout(40)
@pytest.mark.parametrize("transport", ["u1", "t1"])
def test_dial_number_scenario_against_sipp_uas(transport, require_sipp, tmp_path):
    uas_file = tmp_path / "test-uas-dial-number.xml"
    uas_file.write_text(DIAL_UAS)
    rows = [("x", "v-dial", 100, "14155550100", "14155550100"),
            ("x", "v-dial", 100, "+14155550100", "agent")]
    uas = sipp_mod.start_uas(uas_file, transport=transport, calls=len(rows), timeout=20, workdir=tmp_path)
    try:
        uac = sipp_mod.run_sipp("uac-dial-number.xml", uas.local_port, transport=transport, calls=len(rows),
                                rate=20, inf=rows, call_id_prefix="v-dial", timeout=15, workdir=tmp_path)
        uas_res = uas.wait(timeout=15)
    finally:
        uas.kill()
    assert uac.ok and uac.successful == len(rows), uac.describe()
    assert V.uas_fine(uas_res, len(rows), transport), uas_res.describe()
    dials = sorted(line.split("|")[1:] for line in uas_res.logs.splitlines() if line.startswith("DIAL|"))
    assert dials == [[call_id("v-dial", 1), "14155550100", "14155550100"],
                     [call_id("v-dial", 2), "+14155550100", "agent"]], uas_res.logs


# --- helpers --------------------------------------------------------------------------------

def result_ids(admin) -> list[str]:
    return [str(r.get("id")) for r in admin.results()]


def events_count(admin, type_: str) -> float:
    return admin.metrics().total(EVENTS_METRIC, type=type_)


def expect_invalid(resp, field):
    """400 {"error":"invalid_body","field":...,"message":...}; returns a problem string or None."""
    if resp.status != 400:
        return f"status {resp.status} (want 400): {resp.body[:300]!r}"
    try:
        j = resp.json()
    except AssertionError as e:
        return str(e)
    if not isinstance(j, dict) or j.get("error") != "invalid_body":
        return f"body {j!r} (want error=invalid_body)"
    if not isinstance(j.get("message"), str) or not j["message"]:
        return f"no message: {j!r}"
    if field is not None and j.get("field") != field:
        return f"field {j.get('field')!r}, want {field!r} ({j.get('message')!r})"
    return None


# --- accepted bodies ------------------------------------------------------------------------

@pytest.mark.timeout(20)
@pytest.mark.parametrize("name,body", VALID, ids=[n for n, _ in VALID])
def test_valid_body_received_and_stored(name, body, sidecar, admin):
    r = admin.webhook_ok(body)
    assert r.headers.get("content-type", "").startswith("application/json"), r.headers
    t = body["type"]
    assert events_count(admin, t) == 1, admin.metrics().describe()
    if t in EVALUATED:
        rid = str(body["id"])
        assert rid in result_ids(admin), admin.results()
        stored = admin.result(rid)
        assert stored["event"] == body, f"stored event differs:\n{dump(stored['event'])}"
        assert str(stored["id"]) == rid
    else:
        assert admin.results() == [], "only evaluations are results"
    assert sidecar.running


@pytest.mark.timeout(20)
def test_both_paths_are_the_same_endpoint(sidecar, admin):
    b1 = W.simulation_result_evaluated(501)
    b2 = W.simulation_result_evaluated(502, goal_success=False)
    admin.webhook_ok(b1, path=WEBHOOK_PATHS[0])
    admin.webhook_ok(b2, path=WEBHOOK_PATHS[1])
    assert sorted(result_ids(admin)) == ["501", "502"]
    # a duplicate is recognised across the two paths
    admin.webhook_ok(b2, path=WEBHOOK_PATHS[0], want="duplicate")
    incomplete = W.simulation_ended(503)
    del incomplete["digital_human_id"]
    bad = admin.webhook(incomplete, path=WEBHOOK_PATHS[1])
    assert expect_invalid(bad, "digital_human_id") is None, bad.describe()


@pytest.mark.timeout(20)
def test_unknown_type_received_and_counted(sidecar, admin):
    admin.webhook_ok(W.unknown_type("agent_deployed"))
    admin.webhook_ok(W.unknown_type("billing_updated", id="abc", extra={"n": 1}))
    m = admin.metrics()
    assert m.total(EVENTS_METRIC, type="unknown") == 2, m.describe()
    assert m.total(EVENTS_METRIC, type="agent_deployed") == 0, "unknown types share the label 'unknown'"
    assert admin.results() == []


@pytest.mark.timeout(20)
def test_duplicate_stored_once(sidecar, admin):
    sre = W.simulation_result_evaluated(611)
    obs = W.observability_call_evaluated("obs-dup-1")
    admin.webhook_ok(sre)
    admin.webhook_ok(obs)
    admin.webhook_ok(sre, want="duplicate")
    admin.webhook_ok(obs, want="duplicate", path=WEBHOOK_PATHS[1])
    ids = result_ids(admin)
    assert sorted(ids) == ["611", "obs-dup-1"], admin.results()
    assert admin.result(611)["event"] == sre
    # stored once: the evaluation counters did not move for the duplicate
    m = admin.metrics()
    assert m.total("bluejay_sidecar_evaluation_goal_success_total") == 2, m.describe()


@pytest.mark.timeout(20)
def test_duplicate_recognised_when_reserialised(sidecar, admin):
    """A redelivery of the same event need not be byte-identical (key order,
    whitespace): it is still the same event. (Interpretation of "same event".)"""
    obs = W.observability_call_evaluated("obs-dup-2")
    admin.webhook_ok(obs)
    admin.webhook_ok(json.dumps(obs, indent=2, sort_keys=True).encode(), want="duplicate")
    assert result_ids(admin) == ["obs-dup-2"], admin.results()


# --- rejected bodies ------------------------------------------------------------------------

GROUPS = sorted({i.group for i in INVALID})


@pytest.mark.timeout(30)
@pytest.mark.parametrize("group", GROUPS)
def test_invalid_bodies_rejected_naming_the_field(group, sidecar, admin):
    problems = []
    cases = [i for i in INVALID if i.group == group]
    for inv in cases:
        r = admin.webhook(W.encode(inv.body))
        p = expect_invalid(r, inv.field)
        if p:
            problems.append(f"{inv.name}: {p}")
    assert not problems, f"{len(problems)}/{len(cases)} bodies not rejected as specified:\n" + "\n".join(problems)
    assert admin.results() == [], "an invalid body was stored"
    m = admin.metrics()
    for t in W.VARIANTS + ("unknown",):
        assert m.total(EVENTS_METRIC, type=t) == 0, f"an invalid body was counted as {t}:\n{m.describe()}"
    assert sidecar.running


@pytest.mark.timeout(20)
def test_invalid_outbound_has_no_effect(sidecar, standin, admin, agent, run_sipp, unique):
    """A rejected outbound_simulation_started must not map the number."""
    bad = W.outbound_simulation_started([W.digital_human("+14155550100", [931]),
                                         {"id": 2, "name": "no number"}])
    r = admin.webhook(bad)
    assert expect_invalid(r, "digital_humans[1].phone_number") is None, r.describe()
    prefix = unique("dial-bad")
    res = run_sipp("uac-dial-number.xml", sidecar.sip_port, calls=1,
                   inf=[("x", prefix, 300, "14155550100", "14155550100")], call_id_prefix=prefix, timeout=15)
    assert res.ok, res.describe()
    standin.wait_quiet(quiet_s=1.0, timeout=10)
    assert standin.requests == [], standin.summary()


# --- the shared secret -----------------------------------------------------------------------

SECRET = "whsec_TEST_4f1c2a9e"


@pytest.mark.timeout(30)
@pytest.mark.parametrize("via", ["env", "file"])
def test_secret_required_when_configured(via, sidecar_factory, standin, admin_factory, tmp_path):
    if via == "env":
        sc = sidecar_factory(bluejay_url=standin.url, api_key=standin.api_key,
                             env={"BLUEJAY_WEBHOOK_SECRET": SECRET})
    else:
        f = tmp_path / "webhook-secret"
        f.write_text(SECRET + "\n")
        f.chmod(0o600)
        sc = sidecar_factory(bluejay_url=standin.url, api_key=standin.api_key,
                             args=["--webhook-secret-file", str(f)])
    admin = admin_factory(sc)
    body = W.simulation_result_evaluated(701)
    for label, secret in [("none", None), ("wrong", "whsec_wrong"), ("empty", ""),
                          ("prefix", SECRET[:-1]), ("longer", SECRET + "x"), ("case", SECRET.upper())]:
        for path in WEBHOOK_PATHS:
            r = admin.webhook(body, secret=secret, path=path)
            assert r.is_error(401, "unauthorized"), f"secret {label}: {r.describe()}"
    # the secret is checked before the body: an invalid body without it is 401, not 400
    r = admin.webhook(b"not json", secret=None)
    assert r.status == 401, r.describe()
    # nothing stored, nothing counted
    assert admin.results() == []
    m = admin.metrics()
    assert m.total(EVENTS_METRIC) == 0, m.describe()
    # the right secret
    admin.webhook_ok(body, secret=SECRET)
    assert result_ids(admin) == ["701"]
    assert admin.metrics().total(EVENTS_METRIC, type="simulation_result_evaluated") == 1
    # the secret never shows up in the logs
    sc.stop()
    assert SECRET not in sc.stderr_text() and SECRET not in sc.stdout_path.read_text(errors="replace")


@pytest.mark.timeout(20)
def test_no_secret_configured_accepts_any_header(sidecar, admin):
    admin.webhook_ok(W.simulation_ended(801), secret="anything")
    admin.webhook_ok(W.simulation_ended(802))


# --- oversize ---------------------------------------------------------------------------------

@pytest.mark.timeout(40)
def test_body_over_10_mib_is_413(sidecar, admin):
    r = post_oversize("127.0.0.1", sidecar.http_port, WEBHOOK_PATHS[0], 10 * MiB + 1)
    assert r.is_error(413, "too_large"), f"10 MiB + 1: {r.describe()}"
    assert admin.metrics().total(EVENTS_METRIC) == 0
    # exactly 10 MiB is allowed (an unknown type: accepted as received)
    r = post_oversize("127.0.0.1", sidecar.http_port, WEBHOOK_PATHS[0], 10 * MiB,
                      prefix=b'{"type":"padding_probe","pad":"')
    assert r.status == 200 and r.json() == {"status": "received"}, f"exactly 10 MiB: {r.describe()}"
    admin.wait_healthy(timeout=5)
    admin.webhook_ok(W.simulation_ended(901))
    assert sidecar.running


# --- effect: outbound_simulation_started ------------------------------------------------------

@pytest.mark.timeout(40)
def test_outbound_simulation_ties_calls_to_results_by_number(sidecar, standin, admin, agent_factory,
                                                              start_sipp, unique):
    admin.webhook_ok(W.outbound_simulation_started([W.digital_human("+1 (415) 555-0100", [901, 902])]))
    prefix = unique("dial")
    rows = [("x", prefix, 1200, "14155550100", "14155550100")] * 2
    proc = start_sipp("uac-dial-number.xml", sidecar.sip_port, transport="u1", calls=2, rate=5,
                      inf=rows, call_id_prefix=prefix, timeout=20)
    client = agent_factory(sidecar)
    for i in (1, 2):
        cid = call_id(prefix, i)
        st = client.wait_state(call_id=cid, timeout=10)
        assert st.get("simulation_result_id") == str(900 + i), f"call {i} mapped to {st}"
        r = client.request(A.tool_call("dialled_tool", {"call": i}, f"out-{i}", call_id=cid,
                                       start_offset_ms=100 * i))
        assert r.get("ok") is True, r
    res = proc.wait()
    assert res.ok and res.successful == 2, res.describe()
    standin.wait_for(2, timeout=15, status=200)
    standin.wait_quiet(quiet_s=1.0, timeout=10)
    assert standin.problems == [], standin.problems
    assert sorted(r.simulation_result_id for r in standin.requests) == ["901", "902"], standin.summary()
    for i in (1, 2):
        (req,) = standin.requests_for(str(900 + i))
        body = req.body
        assert body["metadata"]["sip_call_id"] == call_id(prefix, i), dump(body)
        assert [(t["name"], t["parameters"]) for t in body["tool_calls"]] == [("dialled_tool", {"call": i})], dump(body)
    calls = {c["call_id"]: c for c in admin.calls()}
    assert str(calls[call_id(prefix, 1)]["simulation_result_id"]) == "901", calls


@pytest.mark.timeout(40)
def test_outbound_matches_to_user_once_per_id(sidecar, standin, admin, start_sipp, unique):
    """To user '+14155550100' (Request-URI 'agent') matches '+1 (415) 555-0100'; a
    different number gets nothing; once its ids are used up the number gets nothing."""
    admin.webhook_ok(W.outbound_simulation_started([W.digital_human("+1 (415) 555-0100", [911], dh_id=1),
                                                    W.digital_human("+44 20 7946 0958", [912], dh_id=2)]))
    prefix = unique("dial2")
    rows = [("x", prefix, 300, "agent", "+14155550100"),      # -> 911 (To user)
            ("x", prefix, 300, "14155550199", "14155550199"),  # no such number -> nothing
            ("x", prefix, 300, "14155550100", "14155550100"),  # 911 already used -> nothing
            ("x", prefix, 300, "442079460958", "agent")]       # -> 912 (Request-URI)
    res = start_sipp("uac-dial-number.xml", sidecar.sip_port, transport="u1", calls=len(rows), rate=5,
                     inf=rows, call_id_prefix=prefix, timeout=20).wait()
    assert res.ok and res.successful == len(rows), res.describe()
    standin.wait_for(2, timeout=15, status=200)
    standin.wait_quiet(quiet_s=1.0, timeout=10)
    got = {r.simulation_result_id: r.body["metadata"]["sip_call_id"] for r in standin.requests}
    assert got == {"911": call_id(prefix, 1), "912": call_id(prefix, 4)}, standin.summary()
    assert standin.problems == []



@pytest.mark.timeout(60)
def test_an_outbound_id_a_call_took_is_not_handed_out_again_after_a_restart(sidecar, standin, admin, start_sipp,
                                                                             unique):
    """Bluejay may announce an id again in a later body (another run listing the same digital human). After a
    crash and restart the sidecar still knows a call took it, and gives the next call the next id."""
    admin.webhook_ok(W.outbound_simulation_started([W.digital_human("+1 (415) 555-0100", [921])]))
    prefix = unique("dial3")
    first = start_sipp("uac-dial-number.xml", sidecar.sip_port, transport="u1", calls=1, rate=5,
                       inf=[("x", prefix, 300, "14155550100", "14155550100")], call_id_prefix=prefix,
                       timeout=20).wait()
    assert first.ok and first.successful == 1, first.describe()
    standin.wait_for(1, timeout=15, status=200, predicate=lambda r: r.simulation_result_id == "921")

    sidecar.kill9()
    sidecar.restart()
    admin.wait_healthy()
    admin.webhook_ok(W.outbound_simulation_started([W.digital_human("+1 (415) 555-0100", [921, 922], dh_id=32)]))
    prefix2 = unique("dial4")
    second = start_sipp("uac-dial-number.xml", sidecar.sip_port, transport="u1", calls=1, rate=5,
                        inf=[("x", prefix2, 300, "14155550100", "14155550100")], call_id_prefix=prefix2,
                        timeout=20).wait()
    assert second.ok and second.successful == 1, second.describe()
    standin.wait_for(2, timeout=15, status=200)
    standin.wait_quiet(quiet_s=1.0, timeout=10)
    # a set: the first body may come twice, identical, when the kill fell within 100 ms of its delivery (README)
    got = sorted({(r.simulation_result_id, r.body["metadata"]["sip_call_id"]) for r in standin.requests})
    assert got == [("921", call_id(prefix, 1)), ("922", call_id(prefix2, 1))], standin.summary()

# --- effect: simulation_ended -----------------------------------------------------------------

@pytest.mark.timeout(40)
def test_simulation_ended_flushes_call_whose_bye_never_came(sidecar, standin, admin, agent_factory,
                                                             run_sipp, unique):
    prefix = unique("noBye")
    sim = "7301"
    cid = call_id(prefix, 1)
    first = run_sipp("uac-invite-only.xml", sidecar.sip_port, transport="u1", calls=1,
                     inf=[(sim, prefix, 0)], call_id_prefix=prefix, timeout=15)
    assert first.ok, first.describe()
    client = agent_factory(sidecar)
    plan = standard_plan(1, sim, cid)
    write_plan(client, plan)
    standin.wait_quiet(quiet_s=0.6, timeout=5)
    assert standin.requests == [], "nothing may go out while the call is up"
    assert admin.call(cid)["state"] == "active"

    admin.webhook_ok(W.simulation_ended(int(sim)))
    (req,) = standin.wait_for(1, timeout=10, status=200)
    standin.wait_quiet(quiet_s=1.0, timeout=10)
    assert len(standin.requests) == 1, standin.summary()
    assert standin.problems == []
    try:
        check_body(req.body, plan, ended_by=None, expect_headers={"X-Simulation-Result-Id": sim})
    except AssertionError as e:
        raise AssertionError(f"{e}\nbody:\n{dump(req.body)}") from None
    assert req.body["metadata"].get("end_reason") == "simulation_ended", dump(req.body["metadata"])
    detail = admin.call(cid)
    assert detail["state"] == "ended" and detail["end_reason"] == "simulation_ended", detail
    # a late agent record is refused or ignored, never a second POST
    client.request(A.event("too_late", call_id=cid, start_offset_ms=1))
    standin.wait_quiet(quiet_s=1.0, timeout=10)
    assert len(standin.requests) == 1, standin.summary()


@pytest.mark.timeout(40)
def test_a_redelivered_simulation_ended_still_ends_its_open_call(sidecar, standin, admin, run_sipp, unique):
    """A body stored before is answered "duplicate", but ending a simulation's call is safe to do twice and
    must still happen: when a crash came between storing the first delivery and keeping what it started,
    Bluejay's redelivery is the only thing left that ends the call before --max-call-duration."""
    prefix = unique("redelivered")
    sim = "7303"
    cid = call_id(prefix, 1)
    body = W.simulation_ended(int(sim))
    admin.webhook_ok(body)  # no call of it yet: stored, nothing to end
    first = run_sipp("uac-invite-only.xml", sidecar.sip_port, transport="u1", calls=1,
                     inf=[(sim, prefix, 0)], call_id_prefix=prefix, timeout=15)
    assert first.ok, first.describe()
    assert admin.call(cid)["state"] == "active"

    admin.webhook_ok(body, want="duplicate")
    (req,) = standin.wait_for(1, timeout=10, status=200)
    assert req.simulation_result_id == sim, standin.summary()
    detail = admin.call(cid)
    assert detail["state"] == "ended" and detail["end_reason"] == "simulation_ended", detail
    admin.webhook_ok(body, want="duplicate")  # the call is flushed now: nothing more goes out
    standin.wait_quiet(quiet_s=1.0, timeout=10)
    assert len(standin.requests) == 1 and standin.problems == [], standin.summary()


@pytest.mark.timeout(30)
def test_simulation_ended_after_normal_bye_changes_nothing(sidecar, standin, admin, run_sipp, unique):
    prefix = unique("endedAfter")
    res = run_sipp("uac-basic.xml", sidecar.sip_port, transport="u1", calls=1,
                   inf=[("7302", prefix, 200)], call_id_prefix=prefix, timeout=15)
    assert res.ok, res.describe()
    standin.wait_for(1, timeout=10, status=200)
    admin.webhook_ok(W.simulation_ended(7302))
    admin.webhook_ok(W.simulation_ended(7399))   # no such call: still received
    standin.wait_quiet(quiet_s=1.0, timeout=10)
    assert [r.simulation_result_id for r in standin.requests] == ["7302"], standin.summary()
    assert admin.call(call_id(prefix, 1))["end_reason"] == "bye"
