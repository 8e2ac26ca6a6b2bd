"""bench/run works end to end (issue 6): in its tiny mode, against the debug binary, every part runs and the
results file it writes holds real figures. Not a performance test: the figures are only checked to exist."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run_bench(tmp_path: Path, sidecar_bin: Path, *args: str) -> subprocess.CompletedProcess:
    """bench/run against `sidecar_bin` (no build), its results in `tmp_path`; asserts it succeeded."""
    r = subprocess.run([sys.executable, str(ROOT / "bench" / "run"), *args, "--no-build",
                        "--sidecar-bin", str(sidecar_bin), "--out", str(tmp_path)],
                       capture_output=True, text=True, timeout=140, env={**os.environ, "SWIFT_BACKTRACE": "enable=no"})
    assert r.returncode == 0, f"bench/run failed:\n{r.stdout[-3000:]}\n{r.stderr[-5000:]}"
    return r


@pytest.mark.timeout(150)
def test_bench_runs_end_to_end(tmp_path: Path, require_sidecar_bin: Path, require_sipp: None) -> None:
    parse_bin = require_sidecar_bin.parent / "bluejay-parse-bench"
    assert parse_bin.is_file(), f"{parse_bin} missing (swift build builds it)"
    _run_bench(tmp_path, require_sidecar_bin, "--tiny")
    reports = list(tmp_path.glob("results-*.md"))
    data = list(tmp_path.glob("results-*.json"))
    assert len(reports) == 1 and len(data) == 1, list(tmp_path.iterdir())
    res = json.loads(data[0].read_text())

    for peer in ("sidecar", "kamailio-stateless"):
        step = res["calls"][peer]["steps"][0]
        assert step["ok"] == step["calls"] > 0 and step["failed"] == 0, step
        assert step["cpu_ms_per_call"] > 0, step
        # Drops by the server's own socket, beside the system-wide count that holds SIPp's sockets too.
        assert isinstance(step["server_udp_drops"], int) and step["server_udp_drops"] >= 0, step
    assert res["calls"]["sidecar"]["steps"][0]["posts"] == res["calls"]["sidecar"]["steps"][0]["ok"]
    # Pages the store wrote to its log per call, from the sidecar's own counter: a call's first write alone is 3.
    assert res["calls"]["sidecar"]["steps"][0]["log_pages_per_call"] >= 3, res["calls"]["sidecar"]["steps"][0]
    assert all(run["rate"] > 0 and run["errors"] == 0 and run["p99_us"] > 0 for run in res["ledger"]["runs"])
    assert all(raw["rate"] > 0 and raw["cpu_us_per_row"] > 0 for raw in res["ledger"]["raw"])
    # The report states where 8 connections meet both ledger targets (none at --tiny's sizes is a valid answer).
    assert "8 connections, both targets (≥ 100,000 acked records/s and ack p99 < 5,000 µs) hold at:" in reports[0].read_text()
    assert res["flush"]["matched"] == res["flush"]["ok"] > 0 and res["flush"]["p99_ms"] >= 0
    concurrent = res["scale"]["concurrent"]
    assert concurrent["rss_mb"] > 0 and concurrent["records"] == concurrent["calls"] * 5, concurrent
    assert res["scale"]["long"]["ok"] == res["scale"]["long"]["calls"]
    tenths = [t for t in res["scale"]["long"]["rss_tenths_mb"] if t]
    assert len(res["scale"]["long"]["rss_tenths_mb"]) == 10 and tenths, res["scale"]["long"]
    assert all(0 < low <= high for low, high in tenths), tenths
    assert res["parser"]["swift_instructions_per_message"] > 0 and res["parser"]["c_instructions_per_message"] > 0
    text = reports[0].read_text()
    for heading in ("## Call cost and capacity", "## Ledger ingest", "## Flush latency", "## Scale", "## Parser overhead"):
        assert heading in text, text


def _processes_naming(text: str) -> dict[int, str]:
    """Running processes whose command line contains `text`: pid → command line."""
    found = {}
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in args:
            found[int(cmdline.parent.name)] = args
    return found


def _running(program: str, run_dir: str) -> bool:
    """Whether a process of the run runs `program` (the script's own command line names the directory too)."""
    return any(args.split(" ", 1)[0].endswith(program) for args in _processes_naming(run_dir).values())


@pytest.mark.timeout(120)
def test_bench_stopped_by_sigterm_leaves_no_server_running(tmp_path: Path, require_sidecar_bin: Path,
                                                           require_sipp: None) -> None:
    """Its servers run in sessions of their own: SIGTERM to the script must still stop them."""
    run_dir = str(tmp_path / "out")
    log_path = tmp_path / "bench.log"
    with log_path.open("w") as log:
        bench = subprocess.Popen([sys.executable, str(ROOT / "bench" / "run"), "--parts", "calls", "--peers", "sidecar",
                                  "--rates", "200", "--probe", "", "--step-seconds", "60", "--no-build",
                                  "--sidecar-bin", str(require_sidecar_bin), "--out", run_dir],
                                 stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "SWIFT_BACKTRACE": "enable=no"})
    try:
        # Calls under way: the sidecar, nginx and SIPp all run.
        deadline = time.monotonic() + 60
        while not (_running("bluejay-sidecar", run_dir) and _running("sipp", run_dir)) and time.monotonic() < deadline:
            assert bench.poll() is None, log_path.read_text()[-3000:]
            time.sleep(0.2)
        assert _running("bluejay-sidecar", run_dir) and _running("sipp", run_dir), "the bench's calls never began"
        bench.send_signal(signal.SIGTERM)
        assert bench.wait(timeout=45) == 128 + signal.SIGTERM, log_path.read_text()[-3000:]
        deadline = time.monotonic() + 10
        while _processes_naming(run_dir) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _processes_naming(run_dir) == {}, "left running after SIGTERM"
    finally:
        if bench.poll() is None:
            bench.kill()
        for pid in _processes_naming(run_dir):  # what a failure left behind
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.mark.timeout(150)
def test_bench_rounds_report_medians(tmp_path: Path, require_sidecar_bin: Path, require_sipp: None) -> None:
    """--rounds alternates the peers and reports, per rate, the round with the median CPU per call, every round's
    figure beside it, and ratios of the medians."""
    r = _run_bench(tmp_path, require_sidecar_bin, "--parts", "calls", "--peers", "sidecar,kamailio-stateless",
                   "--rates", "500", "--probe", "", "--step-seconds", "2", "--rounds", "3")
    # The peers alternate: sidecar, Kamailio, sidecar, … (not three sidecar rounds, then three Kamailio rounds).
    order = [line.split("calls: ", 1)[1].split(" (")[0] for line in r.stderr.splitlines() + r.stdout.splitlines()
             if "calls: " in line and "(round" in line]
    assert order == ["sidecar", "kamailio-stateless"] * 3, order
    res = json.loads(next(tmp_path.glob("results-*.json")).read_text())
    for peer in ("sidecar", "kamailio-stateless"):
        d = res["calls"][peer]
        assert d["rounds"] == 3 and len(d["highest_clean_rate_rounds"]) == 3, d
        step = d["steps"][0]
        each = step["cpu_ms_per_call_rounds"]
        assert len(each) == 3 and all(x > 0 for x in each), step
        assert step["cpu_ms_per_call"] == sorted(each)[1], step
        assert sorted(d["highest_clean_rate_rounds"])[1] == d["highest_clean_rate"], d
    side = res["calls"]["sidecar"]["steps"][0]["cpu_ms_per_call"]
    stateless = res["calls"]["kamailio-stateless"]["steps"][0]["cpu_ms_per_call"]
    text = next(tmp_path.glob("results-*.md")).read_text()
    assert "CPU per call, sidecar / Kamailio (medians):" in text, text
    assert f"| 500 | {side / stateless:.2f} | – |" in text, text
    assert "3 rounds, peers alternated in each" in text, text


@pytest.mark.timeout(150)
def test_bench_sidecar_and_kamailio_full_log_each_call_alike(tmp_path: Path, require_sidecar_bin: Path,
                                                             require_sipp: None) -> None:
    """Both peers do the same logging work: the sidecar at its default level writes one line at each call's start
    and one at its end, and Kamailio full writes the same two (and not the dialog module's per-call "Faked reply")."""
    _run_bench(tmp_path, require_sidecar_bin, "--parts", "calls", "--peers", "sidecar,kamailio-full",
               "--rates", "50", "--probe", "", "--step-seconds", "2", "--rounds", "1")
    res = json.loads(next(tmp_path.glob("results-*.json")).read_text())
    run = next(tmp_path.glob("run-*"))
    logs = {"sidecar": run / "sidecar-calls" / "sidecar.log", "kamailio-full": run / "kamailio-full" / "kamailio.log"}
    for peer, log in logs.items():
        ok = res["calls"][peer]["steps"][0]["ok"]
        assert ok >= 50, res["calls"][peer]
        lines = log.read_text(errors="replace").splitlines()
        started = [line for line in lines if "call started" in line and "call_id=" in line]
        ended = [line for line in lines if "call ended" in line and "call_id=" in line]
        assert len(started) == ok and len(ended) == ok, (peer, ok, len(started), len(ended))
        assert not any("Faked reply" in line for line in lines), peer


def test_server_socket_drops_count_only_that_sockets_overflow() -> None:
    """The per-socket drop count the bench reports beside the system-wide one: a socket that never reads and has a
    small buffer drops what overflows it, and a socket on another port that reads everything counts none."""
    import importlib.util
    import socket
    from importlib.machinery import SourceFileLoader
    loader = SourceFileLoader("bench_run", str(ROOT / "bench" / "run"))
    bench = importlib.util.module_from_spec(importlib.util.spec_from_loader("bench_run", loader))
    loader.exec_module(bench)
    full = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    full.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    full.bind(("127.0.0.1", 0))
    other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    other.bind(("127.0.0.1", 0))
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        before_full = bench.udp_socket_drops(full.getsockname()[1])
        before_other = bench.udp_socket_drops(other.getsockname()[1])
        for _ in range(200):
            sender.sendto(b"x" * 1000, full.getsockname())
            sender.sendto(b"y", other.getsockname())
            other.recv(16)
        assert bench.udp_socket_drops(full.getsockname()[1]) - before_full > 100
        assert bench.udp_socket_drops(other.getsockname()[1]) == before_other == 0
    finally:
        for s in (full, other, sender):
            s.close()
