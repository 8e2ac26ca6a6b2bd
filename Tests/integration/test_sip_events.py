"""SIP-derived events (mode uas): what the caller did in SIP reaches Bluejay as events[] without the agent
writing them: call_answered, dtmf (INFO), hold / resume (re-INVITE), call_ended with the Reason header."""
from __future__ import annotations

import pytest

from siptext import SDP, UdpCall


def sdp(direction: str) -> str:
    return SDP + f"a={direction}\r\n"


@pytest.mark.timeout(40)
def test_dtmf_hold_resume_and_end_become_events(sidecar, standin):
    call = UdpCall(sidecar.sip_port, sim_id="events-1")
    assert call.invite() == 200
    assert call.in_dialog("INFO", "Signal=5\r\nDuration=160\r\n", content_type="application/dtmf-relay") == 200
    assert call.in_dialog("INFO", "#", content_type="application/dtmf") == 200
    assert call.in_dialog("INVITE", sdp("sendonly")) == 200
    assert call.in_dialog("INVITE", sdp("sendrecv")) == 200
    assert call.bye(extra='Reason: Q.850;cause=16;text="Normal call clearing"\r\n') == 200
    (req,) = standin.wait_for(1, timeout=10, status=200)
    assert standin.problems == []
    events = req.body["events"]
    assert [e["title"] for e in events] == ["call_answered", "dtmf", "dtmf", "hold", "resume", "call_ended"], events
    assert all(e["tags"] == ["sip"] and e["start_offset_ms"] >= 0 for e in events)
    assert events[1]["metadata"] == {"digit": "5", "duration": "160"}
    assert events[2]["metadata"]["digit"] == "#"
    assert events[3]["metadata"]["direction"] == "sendonly"
    ended = events[5]["metadata"]
    assert ended["ended_by"] == "caller" and ended["end_reason"] == "bye"
    assert ended["reason_header"].startswith("Q.850;cause=16"), ended
    offsets = [e["start_offset_ms"] for e in events]
    assert offsets == sorted(offsets), "events in the order they happened"
    call.close()


@pytest.mark.timeout(30)
def test_sip_events_off(sidecar_factory, standin):
    sc = sidecar_factory(bluejay_url=standin.url, api_key=standin.api_key, args=["--sip-events", "off"])
    call = UdpCall(sc.sip_port, sim_id="events-off")
    assert call.invite() == 200
    assert call.in_dialog("INFO", "Signal=1\r\n", content_type="application/dtmf-relay") == 200
    assert call.bye() == 200
    (req,) = standin.wait_for(1, timeout=10, status=200)
    assert req.body["events"] == []
    call.close()
