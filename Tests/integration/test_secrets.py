"""No secret (BLUEJAY_API_KEY, BLUEJAY_WEBHOOK_SECRET, the admin token) ever reaches a log line, an error,
a metric, the status page or an admin/webhook answer: the real binary at debug level, in both log formats,
through calls and flushes (delivered, refused 401, failed 500), webhooks and admin requests with wrong and right
secrets, `config check` and a SIGHUP reload; then everything it said is searched for the three values."""
from __future__ import annotations

import os
import secrets
import signal
import subprocess
import time

import pytest

import webhook_bodies as wb
from siptext import UdpCall


@pytest.mark.timeout(90)
def test_no_secret_in_logs_errors_metrics_pages_or_answers(sidecar_factory, admin_factory, standin, unique,
                                                           require_sidecar_bin, tmp_path):
    api_key = standin.api_key
    webhook_secret = "whsec_LEAK_" + secrets.token_hex(12)
    admin_token = "admtok_LEAK_" + secrets.token_hex(12)
    values = {"BLUEJAY_API_KEY": api_key, "BLUEJAY_WEBHOOK_SECRET": webhook_secret, "admin token": admin_token}
    said: list[tuple[str, str]] = []  # (where, text) of everything the sidecar answered or printed

    def keep(where: str, response) -> object:
        said.append((where, f"{response.status} {response.headers} {response.text}"))
        return response

    for log_format in ("text", "json"):
        sc = sidecar_factory(bluejay_url=standin.url, api_key=api_key, api_key_via="env", http=True,
                             env={"BLUEJAY_WEBHOOK_SECRET": webhook_secret, "BLUEJAY_SIDECAR_ADMIN_TOKEN": admin_token},
                             args=["--log-format", log_format])
        admin = admin_factory(sc, token=admin_token)
        sims = []
        # Flushes: refused (401, a dead letter), failed then retried (500), delivered.
        for status in (401, 500, None):
            if status is not None:
                standin.fail_next(1, status=status)
            sim = unique(f"sim-{log_format}-{status}")
            sims.append(sim)
            call = UdpCall(sc.sip_port, sim_id=sim)
            assert call.invite() == 200
            assert call.bye() == 200
            call.close()
            standin.wait_for(1, timeout=15, predicate=lambda r, sim=sim: r.simulation_result_id == sim and
                             (status is None or r.status == status))
        standin.wait_for(1, timeout=15, status=200, predicate=lambda r: r.simulation_result_id == sims[1])
        admin.wait_outbox(lambda o: o["counts"]["dead"] >= 1, timeout=15, what="the 401 flush as a dead letter")

        body = wb.simulation_ended(4242)
        for secret in ("wrong-" + webhook_secret[::-1], None):
            keep("webhook (wrong secret)", admin.webhook(body, secret=secret))
        keep("webhook (right secret)", admin.webhook(body, secret=webhook_secret))
        for path in ("/v1/calls", "/v1/outbox", "/v1/results", "/metrics", "/"):
            keep(f"GET {path} (wrong token)", admin.get(path, token="wrong-" + admin_token[::-1]))
            keep(f"GET {path} (no token)", admin.get(path, token=False))
            response = keep(f"GET {path}", admin.get(path))
            assert response.status == 200, response.describe()
        keep("retry of a missing outbox item", admin.post("/v1/outbox/999999/retry"))
        keep("a missing call", admin.get("/v1/calls/no-such-call"))
        for token in (admin_token, "wrong-" + admin_token[::-1]):  # the admin CLI, right and wrong token
            env = {**os.environ, "BLUEJAY_SIDECAR_ADMIN_TOKEN": token}
            r = subprocess.run([str(require_sidecar_bin), "calls", "--http", f"127.0.0.1:{sc.http_port}", "--json"],
                               capture_output=True, timeout=20, env=env, stdin=subprocess.DEVNULL)
            said.append(("admin CLI calls", (r.stdout + r.stderr).decode("utf-8", "replace")))
            assert (r.returncode == 0) == (token == admin_token), r

        sc.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while "configuration reloaded" not in sc.stderr_text():
            assert time.monotonic() < deadline, "SIGHUP reload not logged"
            time.sleep(0.05)

        env = {**os.environ, "BLUEJAY_API_KEY": api_key, "BLUEJAY_WEBHOOK_SECRET": webhook_secret,
               "BLUEJAY_SIDECAR_ADMIN_TOKEN": admin_token}
        for args in ([], ["--log-format", log_format, "--log-level", "debug"], ["--linger-ms", "nope"]):
            r = subprocess.run([str(require_sidecar_bin), "config", "check", "--socket", str(tmp_path / "c.sock"), *args],
                               capture_output=True, timeout=20, env=env, stdin=subprocess.DEVNULL)
            said.append((f"config check {args}", (r.stdout + r.stderr).decode("utf-8", "replace")))
            assert (r.returncode == 0) == (args != ["--linger-ms", "nope"]), r
        assert "<redacted>" in said[-2][1], said[-2][1]  # config check shows the secrets are set, not what they are

        assert sc.stop() == 0
        said.append((f"stderr ({log_format})", sc.stderr_text()))
        said.append((f"stdout ({log_format})", sc.stdout_path.read_text(errors="replace")))
        assert "simulation" in sc.stderr_text() and "debug" in sc.stderr_text().lower()

    leaks = [(where, name) for where, text in said for name, value in values.items() if value in text]
    assert leaks == [], f"secrets found: {leaks}"
    assert len(said) > 40


@pytest.mark.timeout(30)
@pytest.mark.parametrize("line", ["admin_token: @{token}", "admin_token: {token}: x", "admin_token: \"{token}"])
def test_a_configuration_file_that_does_not_parse_is_named_without_its_text(require_sidecar_bin, tmp_path, line):
    """YAML's parser quotes the line it stopped at, and that line may be the admin token's: the error says
    where the file is wrong (line and column) and what is wrong, never the text."""
    token = "admtok_LEAK_" + secrets.token_hex(12)
    path = tmp_path / "sidecar.yaml"
    path.write_text("log_level: info\n" + line.format(token=token) + "\nlinger_ms: 0\n")
    r = subprocess.run([str(require_sidecar_bin), "config", "check", "--config", str(path),
                        "--socket", str(tmp_path / "c.sock")],
                       capture_output=True, timeout=20, stdin=subprocess.DEVNULL)
    said = (r.stdout + r.stderr).decode("utf-8", "replace")
    assert r.returncode != 0, said
    assert f"configuration file {path} does not parse" in said and ("2:" in said or "line 2" in said), said
    assert token not in said and token[:12] not in said, said
