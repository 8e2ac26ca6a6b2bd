#!/usr/bin/env python3
"""Check every uac-*.xml scenario against a SIPp UAS standing in for the
sidecar (sip-fixtures/scenarios/test-uas-*.xml, an uas-agent-*.xml, or SIPp's built-in ``uas``),
on 127.0.0.1, over UDP and TCP. Needs only SIPp, not the sidecar binary.

    python3 Tests/integration/validate_scenarios.py            # all, both transports
    python3 Tests/integration/validate_scenarios.py -k cancel -t u1 -v

Also collected by pytest as test_scenarios_selfcheck.py (same cases).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sipp  # noqa: E402


@dataclass
class Case:
    name: str
    uac: str
    uas: Optional[str] = None          # scenario file, or None for builtin uas
    calls: int = 2
    pause_ms: int = 100
    no_retrans: bool = False
    uas_extra: list[str] = field(default_factory=list)


CASES = [
    Case("basic", "uac-basic.xml", "test-uas-basic.xml", calls=3),
    Case("no-header", "uac-no-header.xml", "test-uas-no-header.xml"),
    Case("cancel", "uac-cancel.xml", "test-uas-cancel.xml"),
    Case("cancel-487-first", "uac-cancel.xml", "test-uas-cancel-487first.xml"),
    Case("reinvite", "uac-reinvite.xml", "test-uas-reinvite.xml"),
    # The agent scenario of test_proxy stands in directly: 407 to the first INVITE, the retry is answered.
    Case("challenged", "uac-challenged.xml", "uas-agent-challenge.xml"),
    Case("retransmit", "uac-retransmit.xml", "test-uas-retransmit.xml", no_retrans=True),
    Case("ooddialog-bye", "uac-ooddialog-bye.xml", "test-uas-481.xml"),
    Case("options", "uac-options.xml", "test-uas-options.xml"),
    Case("unknown-method-405", "uac-unknown-method.xml", "test-uas-reject-405.xml"),
    Case("unknown-method-501", "uac-unknown-method.xml", "test-uas-reject-501.xml"),
]


def uas_fine(res: "sipp.SippResult", calls: int, transport: str) -> bool:
    """The stand-in UAS handled every call. Over TCP a SIPp UAS still in its
    final <timewait> when the UAC exits (closing the connection) counts that
    call as FailedTcpClosed: a SIPp artefact, tolerated."""
    if res.ok and res.successful == calls:
        return True
    closed = res._int("FailedTcpClosed(C)") or 0
    return (transport.startswith("t") and not res.timed_out and res.failed == closed
            and (res.successful or 0) + closed == calls)


def run_case(case: Case, transport: str, workdir: Path) -> tuple[bool, str]:
    uas = sipp.start_uas(case.uas, builtin=None if case.uas else "uas", transport=transport,
                         calls=case.calls, timeout=30, workdir=workdir, no_retrans=case.no_retrans,
                         extra=case.uas_extra)
    try:
        prefix = f"v-{case.name}-{transport}"
        rows = [(f"sim-{case.name}-{i}", prefix, case.pause_ms) for i in range(1, case.calls + 1)]
        uac = sipp.run_sipp(case.uac, uas.local_port, transport=transport, calls=case.calls, rate=20,
                            inf=rows, call_id_prefix=prefix, timeout=15, workdir=workdir,
                            no_retrans=case.no_retrans)
        uas_res = uas.wait(timeout=15)
    finally:
        uas.kill()
    good = uac.ok and uac.successful == case.calls and uas_fine(uas_res, case.calls, transport)
    detail = f"UAC: {uac.describe()}\nUAS: {uas_res.describe()}"
    return good, detail


def run_split(transport: str, workdir: Path) -> tuple[bool, str]:
    """uac-invite-only.xml, then uac-bye-only.xml from another SIPp process
    with the dialog identifiers that the first one logged. Two stand-in UASes
    (a SIPp UAS drops a TCP call when its connection closes and answers the
    address the call's first request came from, so one UAS cannot do both)."""
    prefix = f"v-split-{transport}"
    uas1 = sipp.start_uas("test-uas-invite-only.xml", transport=transport, calls=1, timeout=20,
                          workdir=workdir)
    try:
        first = sipp.run_sipp("uac-invite-only.xml", uas1.local_port, transport=transport, calls=1,
                              inf=[("sim-split-1", prefix, 0)], call_id_prefix=prefix, timeout=15,
                              workdir=workdir)
        uas1_res = uas1.wait(timeout=10)
    finally:
        uas1.kill()
    dialogs = sipp.parse_dialog_log(first.logs)
    if not first.ok or not uas_fine(uas1_res, 1, transport) or len(dialogs) != 1:
        return False, f"invite-only: {first.describe()}\nUAS: {uas1_res.describe()}\nlogs: {first.logs!r}"
    d = dialogs[0]
    ruri = d["contact"].split(";", 1)[0]
    uas2 = sipp.start_uas("test-uas-bye.xml", transport=transport, calls=1, timeout=20, workdir=workdir)
    try:
        second = sipp.run_sipp("uac-bye-only.xml", uas2.local_port, transport=transport, calls=1,
                               inf=[(d["sim_id"], prefix, 0, d["from_tag"], d["to_tag"], ruri)],
                               cid_str=d["call_id"], timeout=15, workdir=workdir)
        uas2_res = uas2.wait(timeout=10)
    finally:
        uas2.kill()
    bye = [m for m in sipp.sip_messages(second) if "\nBYE " in m]
    good = (second.ok and uas_fine(uas2_res, 1, transport)
            and d["call_id"] == sipp.call_id(prefix, 1) and d["sim_id"] == "sim-split-1"
            and d["from_tag"] == sipp.from_tag(prefix, 1) and d["to_tag"].endswith("SIPpTag011")
            and bye and f"tag={d['to_tag']}" in bye[0] and f"Call-ID: {d['call_id']}" in bye[0])
    return bool(good), (f"dialog={d}\nbye-only: {second.describe()}\nUAS: {uas2_res.describe()}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("-k", default="", help="only cases whose name contains this")
    ap.add_argument("-t", action="append", choices=["u1", "t1"], help="transport(s); default both")
    ap.add_argument("-v", action="store_true", help="print details of passing cases too")
    args = ap.parse_args()
    transports = args.t or ["u1", "t1"]
    workdir = Path(tempfile.mkdtemp(prefix="sipp-validate-"))
    failures = 0
    todo = [(c.name, c) for c in CASES] + [("split-invite-bye", None)]
    for name, case in todo:
        if args.k not in name:
            continue
        for t in transports:
            ok, detail = run_case(case, t, workdir) if case else run_split(t, workdir)
            print(f"{'PASS' if ok else 'FAIL'} {name} {t}", flush=True)
            if not ok or args.v:
                print(detail)
            failures += not ok
    print(f"logs in {workdir}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
