"""The SIPp scenarios themselves, against SIPp stand-in UASes (no sidecar
needed): keeps sip-fixtures/scenarios known-good. Same cases as
validate_scenarios.py."""
from __future__ import annotations

import pytest

import validate_scenarios as V


@pytest.mark.timeout(40)
@pytest.mark.parametrize("transport", ["u1", "t1"])
@pytest.mark.parametrize("case", V.CASES, ids=[c.name for c in V.CASES])
def test_scenario_against_sipp_uas(case, transport, require_sipp, tmp_path):
    ok, detail = V.run_case(case, transport, tmp_path)
    assert ok, detail


@pytest.mark.timeout(60)
@pytest.mark.parametrize("transport", ["u1", "t1"])
def test_invite_only_then_bye_only(transport, require_sipp, tmp_path):
    ok, detail = V.run_split(transport, tmp_path)
    assert ok, detail


def test_netns_helper_isolates(netns):
    r = netns("ip -o link show | wc -l; ip -o addr show | grep -c 'inet '", timeout=20)
    assert r.returncode == 0, r.stderr
    links, inet = r.stdout.split()
    assert links == "1" and inet == "1", r.stdout   # only lo, only 127.0.0.1
