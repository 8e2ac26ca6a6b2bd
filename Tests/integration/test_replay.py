"""Bad input on the SIP interface, against the real binary: every fixture (RFC 4475/5118 torture messages
among them), truncated and mutated copies, and random garbage over UDP and TCP. Runs inside a loopback-only
network namespace because the sidecar answers to the (third-party) addresses written in those messages."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from sidecar import sidecar_bin

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent.parent / "sip-fixtures" / "messages"


@pytest.mark.timeout(120)
def test_torture_and_garbage_cost_nothing(netns):
    assert FIXTURES.is_dir() and any(FIXTURES.rglob("*.sip")), f"no fixtures under {FIXTURES}"
    res = netns(f"python3 {HERE / 'replay_fixtures.py'} {sidecar_bin()} {FIXTURES}", timeout=110)
    assert res.returncode == 0, res.stderr[-4000:]
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    detail = json.dumps(summary, indent=1)
    assert summary["files"] >= 90, detail
    assert summary["alive_after"] is True, detail
    assert summary["options_udp4"] == 200, detail
    assert summary["options_tcp4"] == 200, detail
    assert summary["options_udp6"] == 200, detail
    assert summary["tcp_keepalive_reply"] == "0d0a", detail
    assert summary["oversized"] == {"udp_65507_status": 200, "tcp_200k_closed": True}, detail
    call = summary["ipv6_call"]
    assert call["invite"][-1] == 200 and call["bye"] == 200, detail
    assert call["sdp_ipv6_inactive"] is True, detail
    assert call["flushed_sim"] == "sim-v6", detail
    assert summary["exit_code"] == 0, detail
    assert "Fatal error" not in summary["stderr_tail"], detail
