"""Operators' side: configuration precedence and errors, graceful drain on SIGTERM, SIGHUP reload,
JSON logs, and the emit command — against the real binary."""
from __future__ import annotations

import json
import signal
import subprocess
import time

import pytest

from agent import AgentClient
from siptext import UdpCall



def run_cli(sidecar_bin, *args, env=None, timeout=20):
    return subprocess.run([str(sidecar_bin), *args], capture_output=True, text=True, timeout=timeout, env=env,
                          stdin=subprocess.DEVNULL)


@pytest.mark.timeout(30)
def test_config_precedence_and_errors(require_sidecar_bin, tmp_path):
    cfg = tmp_path / "bluejay-sidecar.yaml"
    cfg.write_text("sip:\n  - udp://127.0.0.1:5999\nlinger_ms: 500\nretry_initial_ms: 250\nlog_level: debug\n")
    env = {"PATH": "/usr/bin:/bin", "BLUEJAY_SIDECAR_LINGER_MS": "700", "BLUEJAY_API_KEY": "key-that-must-not-print"}
    res = run_cli(require_sidecar_bin, "config", "check", "--config", str(cfg), "--log-level", "warning", env=env)
    assert res.returncode == 0, res.stderr
    rows = {line.split()[0]: line for line in res.stdout.splitlines() if line and not line.startswith("configuration")}
    assert "udp://127.0.0.1:5999" in rows["sip"] and "(file)" in rows["sip"]
    assert "700" in rows["linger_ms"] and "env" in rows["linger_ms"], "env beats the file"
    assert "warning" in rows["log_level"] and "(flag)" in rows["log_level"], "a flag beats env and file"
    assert "250" in rows["retry_initial_ms"] and "(file)" in rows["retry_initial_ms"]
    assert "10000" in rows["max_calls"] and "(default)" in rows["max_calls"]
    assert "<redacted>" in rows["api_key"]
    assert "key-that-must-not-print" not in res.stdout + res.stderr

    bad = run_cli(require_sidecar_bin, "config", "check", env={**env, "BLUEJAY_SIDECAR_MAX_CALLS": "lots"})
    assert bad.returncode == 64
    assert "max_calls" in bad.stderr and "'lots'" in bad.stderr and "whole number" in bad.stderr, bad.stderr

    started = run_cli(require_sidecar_bin, "run", "--http", "nowhere", "--socket", str(tmp_path / "s.sock"),
                      "--data-dir", str(tmp_path / "d"), env=env)
    assert started.returncode == 64, "an invalid value stops start-up"
    assert "http" in started.stderr and "nowhere" in started.stderr, started.stderr


@pytest.mark.timeout(60)
def test_sigterm_drains_live_calls_then_exits(sidecar_factory, standin):
    sc = sidecar_factory(bluejay_url=standin.url, api_key=standin.api_key, args=["--drain-timeout", "20"])
    live = UdpCall(sc.sip_port, sim_id="drain-1")
    assert live.invite() == 200
    agent = AgentClient(sc.socket_path, timeout=5)
    assert agent.request({"type": "tool_call", "call_id": live.call_id, "name": "before_sigterm"})["ok"] is True

    sc.proc.send_signal(signal.SIGTERM)
    sc.wait_for_log("draining: new calls are refused")
    assert sc.proc.poll() is None, "a live call keeps the sidecar up while it drains"
    late = UdpCall(sc.sip_port, sim_id="drain-2")
    assert late.invite() == 503, "new calls are refused while draining"
    assert agent.request({"type": "tool_call", "call_id": live.call_id, "name": "during_drain"})["ok"] is True
    assert live.bye() == 200, "in-dialog requests still work while draining"
    assert sc.proc.wait(timeout=15) == 0, sc.stderr_text()[-3000:]

    (req,) = standin.wait_for(1, timeout=5, status=200)
    names = [t["name"] for t in req.body["tool_calls"]]
    assert names == ["before_sigterm", "during_drain"], req.body
    assert req.body["simulation_result_id"] == "drain-1"
    assert standin.requests_for("drain-2") == []
    live.close(); late.close(); agent.close()


@pytest.mark.timeout(60)
def test_drain_timeout_bounds_shutdown_and_flushes_what_it_has(sidecar_factory, standin):
    sc = sidecar_factory(bluejay_url=standin.url, api_key=standin.api_key, args=["--drain-timeout", "1"])
    call = UdpCall(sc.sip_port, sim_id="drain-timeout")
    assert call.invite() == 200
    agent = AgentClient(sc.socket_path, timeout=5)
    assert agent.request({"type": "tool_call", "call_id": call.call_id, "name": "acked"})["ok"] is True
    started = time.monotonic()
    sc.proc.send_signal(signal.SIGTERM)
    assert sc.proc.wait(timeout=15) == 0
    assert time.monotonic() - started < 10, "the drain timeout bounds the shutdown"
    text = sc.stderr_text()
    assert "drain timeout" in text, text[-2000:]
    # The call is still open in the store: a restart answers its BYE and flushes the acknowledged record.
    sc.start()
    assert call.bye() == 200
    (req,) = standin.wait_for(1, timeout=10, status=200)
    assert [t["name"] for t in req.body["tool_calls"]] == ["acked"]
    call.close(); agent.close()


@pytest.mark.timeout(40)
def test_sighup_reloads_log_level_and_linger(sidecar_factory, standin, tmp_path):
    cfg = tmp_path / "live.yaml"
    cfg.write_text("log_level: notice\nlinger_ms: 0\n")
    sc = sidecar_factory(bluejay_url=standin.url, api_key=standin.api_key, args=["--config", str(cfg)], log_level=None)
    call = UdpCall(sc.sip_port, sim_id="hup-1")
    assert call.invite() == 200
    assert "call started" not in sc.stderr_text(), "info lines are below notice"
    cfg.write_text("log_level: info\nlinger_ms: 0\n")
    sc.proc.send_signal(signal.SIGHUP)
    sc.wait_for_log("configuration reloaded")
    assert call.bye() == 200
    sc.wait_for_log("call ended")   # an info line: shown only after the reload
    assert sc.proc.poll() is None, "SIGHUP does not stop the sidecar"
    cfg.write_text("log_level: [broken\n")
    sc.proc.send_signal(signal.SIGHUP)
    sc.wait_for_log("not reloaded")
    assert sc.proc.poll() is None, "a bad file keeps the running config"
    call.close()


@pytest.mark.timeout(30)
def test_json_logs_are_one_object_per_line_without_secrets(sidecar_factory, standin):
    sc = sidecar_factory(bluejay_url=standin.url, api_key=standin.api_key, args=["--log-format", "json"])
    call = UdpCall(sc.sip_port, sim_id="json-log")
    assert call.invite() == 200 and call.bye() == 200
    standin.wait_for(1, timeout=10, status=200)
    sc.stop()
    lines = [l for l in sc.stderr_text().splitlines() if l.strip()]
    objects = [json.loads(l) for l in lines]
    assert all({"ts", "level", "message"} <= set(o) for o in objects)
    started = [o for o in objects if o["message"] == "call started"]
    assert started and started[0]["call_id"] == call.call_id and started[0]["simulation_result_id"] == "json-log"
    assert standin.api_key not in sc.stderr_text()
    # The binary links mimalloc in place of glibc's malloc (README "Performance"); the ready line says which
    # library the process's malloc resolved to, read from the process's own mappings.
    ready = [o for o in objects if o["message"] == "bluejay-sidecar ready"]
    assert ready and ready[0]["allocator"].startswith("libmimalloc.so"), ready
    call.close()


@pytest.mark.timeout(30)
def test_emit_prints_the_reply_and_fails_on_ok_false(sidecar_factory, standin, require_sidecar_bin):
    sc = sidecar_factory(bluejay_url=standin.url, api_key=standin.api_key)
    sock = str(sc.socket_path)
    res = run_cli(require_sidecar_bin, "emit", "--socket", sock, "--simulation-result-id", "emit-1", "--start")
    assert res.returncode == 0 and json.loads(res.stdout)["state"] == "active", res.stdout + res.stderr
    res = run_cli(require_sidecar_bin, "emit", "--socket", sock, "--simulation-result-id", "emit-1",
                  "--tool", "lookup_order", "--params", '{"order_id": "A-1"}', "--output", '{"total": 1500.00}')
    assert res.returncode == 0 and json.loads(res.stdout) == {"ok": True}
    res = run_cli(require_sidecar_bin, "emit", "--socket", sock, "--simulation-result-id", "emit-1", "--event", "escalated")
    assert res.returncode == 0
    res = run_cli(require_sidecar_bin, "emit", "--socket", sock, "--call-id", "nobody", "--event", "x")
    assert res.returncode == 1 and json.loads(res.stdout)["error"] == "unknown_call"
    res = run_cli(require_sidecar_bin, "emit", "--socket", sock, "--call-id", "x", "--tool", "t", "--params", "{bad")
    assert res.returncode == 64 and "--params" in res.stderr
    res = run_cli(require_sidecar_bin, "emit", "--socket", sock + ".missing", "--call-id", "x", "--end")
    assert res.returncode == 69 and "cannot reach" in res.stderr
    res = run_cli(require_sidecar_bin, "emit", "--socket", sock, "--simulation-result-id", "emit-1", "--end")
    assert res.returncode == 0
    (req,) = standin.wait_for(1, timeout=10, status=200)
    assert req.body["simulation_result_id"] == "emit-1"
    assert [t["name"] for t in req.body["tool_calls"]] == ["lookup_order"]
    assert req.body["tool_calls"][0]["parameters"] == {"order_id": "A-1"}
    assert [e["title"] for e in req.body["events"]] == ["escalated"]
    assert req.body["metadata"]["ended_by"] == "agent"


@pytest.mark.timeout(40)
def test_sighup_swaps_the_webhook_secret(sidecar_factory, standin, tmp_path):
    import urllib.error
    import urllib.request
    secret = tmp_path / "webhook-secret"
    secret.write_text("first-secret\n")
    cfg = tmp_path / "hup.yaml"
    cfg.write_text(f"webhook_secret_file: {secret}\n")
    sc = sidecar_factory(bluejay_url=standin.url, api_key=standin.api_key, args=["--config", str(cfg)])
    body = json.dumps({"type": "simulation_ended", "id": 4242, "digital_human_id": 1, "simulation_run_id": 2}).encode()

    def post(with_secret: str) -> int:
        req = urllib.request.Request(sc.http_url + "/webhooks/events_webhook", data=body, method="POST",
                                     headers={"x-webhook-secret": with_secret, "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code

    assert post("second-secret") == 401
    assert post("first-secret") == 200
    secret.write_text("second-secret\n")
    sc.proc.send_signal(signal.SIGHUP)
    sc.wait_for_log("configuration reloaded")
    assert post("first-secret") == 401, "the old secret no longer opens the webhook"
    assert post("second-secret") == 200
    text = sc.stderr_text()
    assert "first-secret" not in text and "second-secret" not in text
