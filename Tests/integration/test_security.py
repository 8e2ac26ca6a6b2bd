"""Security end to end, against the real binary: ``--sip-allow``, the per-source limits, the ``tls://`` listener,
the agent socket's mode and peer credentials. (That no secret leaks anywhere: test_secrets.py.)"""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Optional

import pytest

from siptext import SDP, UdpCall

HOST = "127.0.0.1"


# --- small SIP helpers ------------------------------------------------------------------

def options_over_udp(port: int, source: str = HOST, wait: float = 1.0) -> Optional[bytes]:
    """One OPTIONS from ``source``; the response, or None if nothing came back within ``wait``."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind((source, 0))
        s.settimeout(wait)
        local = s.getsockname()[1]
        call_id = uuid.uuid4().hex
        s.sendto((f"OPTIONS sip:agent@{HOST}:{port} SIP/2.0\r\n"
                  f"Via: SIP/2.0/UDP {source}:{local};branch=z9hG4bK-{call_id[:10]};rport\r\n"
                  f"Max-Forwards: 70\r\nFrom: <sip:probe@{source}>;tag=p{call_id[:6]}\r\nTo: <sip:agent@{HOST}>\r\n"
                  f"Call-ID: {call_id}@t\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n").encode(), (HOST, port))
        try:
            return s.recvfrom(65535)[0]
        except socket.timeout:
            return None
    finally:
        s.close()


def options_over_udp6(port: int, wait: float = 1.0) -> Optional[bytes]:
    """One OPTIONS from [::1] to [::1]:port; the response, or None."""
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    try:
        s.bind(("::1", 0))
        s.settimeout(wait)
        local = s.getsockname()[1]
        cid = uuid.uuid4().hex
        s.sendto((f"OPTIONS sip:agent@[::1]:{port} SIP/2.0\r\nVia: SIP/2.0/UDP [::1]:{local};branch=z9hG4bK-{cid[:10]};rport\r\n"
                  f"Max-Forwards: 70\r\nFrom: <sip:probe@[::1]>;tag=p6\r\nTo: <sip:agent@[::1]>\r\nCall-ID: {cid}@t6\r\n"
                  f"CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n").encode(), ("::1", port))
        try:
            return s.recvfrom(65535)[0]
        except socket.timeout:
            return None
    finally:
        s.close()


def tcp_is_closed_at_accept(port: int) -> bool:
    """Connects and sends an OPTIONS; True when the sidecar closes the connection without a byte of answer."""
    with socket.create_connection((HOST, port), timeout=3) as s:
        s.settimeout(3)
        try:
            s.sendall(b"OPTIONS sip:a@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bK-x\r\n"
                      b"From: <sip:p@h>;tag=1\r\nTo: <sip:a@h>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")
            return s.recv(4096) == b""
        except (ConnectionResetError, BrokenPipeError):
            return True


def header(message: bytes, name: str) -> Optional[str]:
    for line in message.decode("utf-8", "replace").split("\r\n")[1:]:
        if line.lower().startswith(name.lower() + ":"):
            return line.split(":", 1)[1].strip()
    return None


def status_line(message: bytes) -> str:
    return message.split(b"\r\n", 1)[0].decode()


def invite(call: UdpCall) -> tuple[int, bytes]:
    """An INVITE on ``call``'s socket; the final response (a 200 is ACKed)."""
    call.sock.sendto(call._request("INVITE", SDP), (call.host, call.port))
    code, data = call._final()
    if code == 200:
        call.to_tag = header(data, "To").split(";tag=")[1].split(";")[0]
        call.sock.sendto(call._request("ACK"), (call.host, call.port))
    return code, data


def refused_total(admin, reason: str) -> float:
    return admin.metrics().value("bluejay_sidecar_sip_refused_total", default=0.0, reason=reason)



# --- --sip-allow ------------------------------------------------------------------------

@pytest.mark.timeout(60)
def test_sip_allow_drops_other_sources_and_is_reloaded_on_sighup(sidecar_factory, admin_factory, tmp_path, free_port):
    """Outside the allow list: UDP unanswered, TCP closed at accept, counted, logged at debug at most once per
    10 s whatever the flood. The list comes from the config file and a SIGHUP replaces it."""
    config = tmp_path / "sidecar.yaml"
    config.write_text('sip_allow:\n  - "192.0.2.0/24"\n  - "2001:db8::/32"\n')
    port6 = free_port("both")
    sc = sidecar_factory(args=["--config", str(config), "--sip", f"udp://[::1]:{port6}"], http=True)
    admin = admin_factory(sc)
    assert options_over_udp6(port6) is None, "a datagram from ::1, outside sip_allow, was answered"

    assert options_over_udp(sc.sip_port) is None, "a datagram from outside sip_allow was answered"
    assert tcp_is_closed_at_accept(sc.sip_port), "a TCP connection from outside sip_allow was served"
    flood = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for _ in range(200):  # a flood: counted, not logged line by line
        flood.sendto(b"OPTIONS sip:a@127.0.0.1 SIP/2.0\r\n\r\n", (HOST, sc.sip_port))
        time.sleep(0.001)
    flood.close()
    admin.wait_until(lambda: refused_total(admin, "not_allowed") >= 203, timeout=10, what="refusals counted")
    logged = [ln for ln in sc.stderr_text().splitlines() if "source not in sip_allow" in ln]
    assert 1 <= len(logged) <= 2, f"{len(logged)} log lines for 202 refused messages (expected rate-limited debug lines)"
    assert "source=::1" in logged[0] or '"source":"::1"' in logged[0], f"the refused source is not named: {logged[0]}"

    config.write_text('sip_allow: "127.0.0.0/8, ::1"\n')
    sc.proc.send_signal(signal.SIGHUP)
    sc.wait_for_log("configuration reloaded")
    deadline = time.monotonic() + 5
    answer = None
    while answer is None and time.monotonic() < deadline:
        answer = options_over_udp(sc.sip_port, wait=0.5)
    assert answer is not None and status_line(answer) == "SIP/2.0 200 OK", answer
    answer6 = options_over_udp6(port6)
    assert answer6 is not None and status_line(answer6) == "SIP/2.0 200 OK", answer6
    with socket.create_connection((HOST, sc.sip_port), timeout=3) as s:
        s.sendall(b"\r\n\r\n")  # a keep-alive ping is answered with a pong on an allowed connection
        assert s.recv(16) == b"\r\n"


@pytest.mark.timeout(60)
def test_sip_allow_in_mode_proxy_still_hears_the_upstream(sidecar_factory, admin_factory, free_port):
    """Mode proxy: a caller outside sip_allow reaches nobody; an allowed caller's INVITE is relayed, and the
    upstream's answer (from an address not in sip_allow) comes back: the upstream is always allowed."""
    upstream = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    upstream.bind((HOST, 0))
    upstream.settimeout(3)
    up_port = upstream.getsockname()[1]
    sc = sidecar_factory(args=["--mode", "proxy", "--upstream", f"sip:{HOST}:{up_port}", "--sip-allow", "127.0.0.3",
                               "--sip-calls-per-source", "1"], transports=("udp",), http=True)
    admin = admin_factory(sc)

    def caller_invite(source: str) -> socket.socket:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((source, 0))
        s.settimeout(3)
        local = s.getsockname()[1]
        cid = uuid.uuid4().hex
        s.sendto((f"INVITE sip:agent@{HOST}:{sc.sip_port} SIP/2.0\r\n"
                  f"Via: SIP/2.0/UDP {source}:{local};branch=z9hG4bK-{cid[:10]};rport\r\nMax-Forwards: 70\r\n"
                  f"From: <sip:caller@{source}>;tag=c{cid[:6]}\r\nTo: <sip:agent@{HOST}>\r\nCall-ID: {cid}@t\r\n"
                  f"CSeq: 1 INVITE\r\nContact: <sip:caller@{source}:{local}>\r\nContent-Type: application/sdp\r\n"
                  f"Content-Length: {len(SDP)}\r\n\r\n{SDP}").encode(), (HOST, sc.sip_port))
        return s

    refused = caller_invite("127.0.0.2")
    refused.settimeout(1)
    with pytest.raises(socket.timeout):
        refused.recvfrom(65535)
    refused.close()

    allowed = caller_invite("127.0.0.3")
    relayed, proxy_addr = upstream.recvfrom(65535)
    assert relayed.startswith(b"INVITE "), relayed[:80]
    assert b"127.0.0.2" not in relayed, "the refused caller's INVITE reached the upstream"
    # While that call rings, the same caller's next call is over its limit of 1: refused by the proxy itself.
    second = caller_invite("127.0.0.3")
    over = second.recvfrom(65535)[0]
    assert status_line(over) == "SIP/2.0 503 Too Many Calls From Source" and header(over, "Retry-After") == "5", over
    second.close()
    # The upstream (127.0.0.1, not in sip_allow) answers 486: the proxy must take it and relay it.
    lines = relayed.decode().split("\r\n")
    keep = [ln for ln in lines if ln.split(":", 1)[0].lower() in ("via", "from", "call-id", "cseq")]
    to = next(ln for ln in lines if ln.lower().startswith("to:"))
    upstream.sendto(("SIP/2.0 486 Busy Here\r\n" + "\r\n".join(keep) + f"\r\n{to};tag=agent1\r\nContent-Length: 0\r\n\r\n")
                    .encode(), proxy_addr)
    codes = []
    while not codes or codes[-1] < 200:
        codes.append(int(allowed.recvfrom(65535)[0].split(b" ", 2)[1]))
    assert codes[-1] == 486, codes
    allowed.close()
    upstream.settimeout(0.3)
    later = []
    try:
        while len(later) < 20:
            later.append(upstream.recvfrom(65535)[0])
    except socket.timeout:
        pass
    upstream.close()
    assert not [m for m in later if m.startswith(b"INVITE")], "a refused INVITE reached the upstream"
    assert refused_total(admin, "not_allowed") >= 1
    assert refused_total(admin, "source_calls") == 1


@pytest.mark.timeout(60)
def test_sip_allow_in_mode_mirror_names_who_may_send_copies(sidecar_factory, admin_factory, free_port, tmp_path):
    config = tmp_path / "mirror.yaml"
    config.write_text('sip_allow: ["192.0.2.0/24"]\n')
    port = free_port("udp")
    sc = sidecar_factory(args=["--mode", "mirror", "--mirror", f"udp://{HOST}:{port}", "--config", str(config)],
                         transports=(), http=True)
    admin = admin_factory(sc)

    def copy_of_invite(call_id: str) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto((f"INVITE sip:agent@192.0.2.9 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-{call_id}\r\n"
                      f"Max-Forwards: 70\r\nFrom: <sip:bluejay@192.0.2.1>;tag=m1\r\nTo: <sip:agent@192.0.2.9>\r\nCall-ID: {call_id}\r\n"
                      f"CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n").encode(), (HOST, port))

    copy_of_invite("refused-copy")
    admin.wait_until(lambda: refused_total(admin, "not_allowed") == 1, timeout=5, what="the copy refused")
    config.write_text('sip_allow: ["127.0.0.1"]\n')
    sc.proc.send_signal(signal.SIGHUP)
    sc.wait_for_log("configuration reloaded")
    sent = []

    def followed() -> list:  # the new list reaches the SIP thread just after the reload line: copies until one is taken
        sent.append(f"taken-copy-{len(sent)}")
        copy_of_invite(sent[-1])
        time.sleep(0.1)
        return [c["call_id"] for c in admin.calls() if c["call_id"].startswith("taken-copy")]

    assert admin.wait_until(followed, timeout=5, what="an allowed copy followed")
    assert "refused-copy" not in [c["call_id"] for c in admin.calls()]
    assert refused_total(admin, "not_allowed") == 1


# --- per-source limits --------------------------------------------------------------------

@pytest.mark.timeout(60)
def test_rate_limit_per_source_answers_503_with_retry_after(sidecar_factory, admin_factory):
    sc = sidecar_factory(args=["--sip-rate-limit", "2"], transports=("udp",), http=True)
    admin = admin_factory(sc)
    calls = [UdpCall(sc.sip_port) for _ in range(6)]
    start = time.monotonic()
    answers = [invite(c) for c in calls]
    elapsed = time.monotonic() - start
    admitted = [c for c, (code, _) in zip(calls, answers) if code == 200]
    limited = [data for code, data in answers if code == 503]
    assert len(admitted) + len(limited) == 6, [code for code, _ in answers]
    assert 2 <= len(admitted) <= 2 + int(elapsed * 2) + 1, (len(admitted), elapsed)
    assert limited, "6 INVITEs in a burst of 2 a second: none was limited"
    for data in limited:
        assert status_line(data) == "SIP/2.0 503 Source Rate Limited", status_line(data)
        assert 1 <= int(header(data, "Retry-After")) <= 2, header(data, "Retry-After")
    assert refused_total(admin, "rate_limited") == len(limited)
    time.sleep(1.1)  # the bucket refills: a new call is taken again
    again = UdpCall(sc.sip_port)
    assert invite(again)[0] == 200
    for c in admitted + [again]:
        assert c.bye() == 200
        c.close()


@pytest.mark.timeout(60)
def test_concurrent_calls_per_source_limited_and_released_at_bye(sidecar_factory, admin_factory):
    sc = sidecar_factory(args=["--sip-calls-per-source", "2"], transports=("udp",), http=True)
    admin = admin_factory(sc)
    a, b, c = UdpCall(sc.sip_port), UdpCall(sc.sip_port), UdpCall(sc.sip_port)
    assert invite(a)[0] == 200 and invite(b)[0] == 200
    code, data = invite(c)
    assert code == 503 and status_line(data) == "SIP/2.0 503 Too Many Calls From Source", status_line(data)
    assert header(data, "Retry-After") == "5"
    assert refused_total(admin, "source_calls") == 1
    assert a.bye() == 200
    d = UdpCall(sc.sip_port)
    deadline = time.monotonic() + 5
    while True:  # the slot comes back once the end is durable (milliseconds)
        code, _ = invite(d)
        if code == 200 or time.monotonic() > deadline:
            break
        d.close()
        d = UdpCall(sc.sip_port)
        time.sleep(0.1)
    assert code == 200, "the ended call's slot was not given back"
    for call in (b, d):
        assert call.bye() == 200
    for call in (a, b, c, d):
        call.close()


# --- configuration errors ---------------------------------------------------------------

def openssl(*args: str, cwd: Path) -> None:
    r = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr.decode()


@pytest.fixture
def tls_files(tmp_path: Path) -> dict[str, Path]:
    """A throwaway self-signed certificate and key made for this test, and a second key that does not match."""
    d = tmp_path / "tls"
    d.mkdir()
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-keyout", "key.pem", "-out", "cert.pem", cwd=d)
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-out", "other-key.pem", cwd=d)
    (d / "garbage.pem").write_text("not a certificate\n")
    return {"cert": d / "cert.pem", "key": d / "key.pem", "other_key": d / "other-key.pem", "garbage": d / "garbage.pem"}


@pytest.mark.timeout(60)
def test_bad_security_settings_name_key_value_and_what_is_allowed(require_sidecar_bin, tls_files, tmp_path):
    def check(*args: str, env: Optional[dict] = None) -> tuple[int, str]:
        r = subprocess.run([str(require_sidecar_bin), "config", "check", "--socket", str(tmp_path / "s.sock"), *args],
                           capture_output=True, timeout=20, env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL)
        return r.returncode, (r.stdout + r.stderr).decode()

    cases = [
        (["--sip-allow", "10.0.0.1/8"], None, ["sip_allow", "10.0.0.1/8", "host bits"]),
        (["--sip-allow", "not-an-address"], None, ["sip_allow", "not-an-address", "CIDR"]),
        (["--sip-allow", "10.0.0.0/33"], None, ["sip_allow", "10.0.0.0/33", "0 to 32"]),
        (["--sip-allow", "2001:db8::1/32"], None, ["sip_allow", "2001:db8::1/32", "host bits"]),
        ([], {"BLUEJAY_SIDECAR_SIP_ALLOW": "192.0.2.0/24,bogus"}, ["sip_allow", "bogus"]),
        (["--sip-rate-limit=-1"], None, ["sip_rate_limit", "-1", "0 to 100000"]),
        (["--sip-calls-per-source", "many"], None, ["sip_calls_per_source", "many", "whole number"]),
        (["--sip", "tls://127.0.0.1:5061"], None, ["sip", "tls://127.0.0.1:5061", "tls_cert", "tls_key"]),
        (["--sip", "tls://127.0.0.1:5061", "--tls-cert", str(tls_files["cert"])], None, ["tls_key", "required"]),
        (["--tls-cert", str(tmp_path / "missing.pem"), "--tls-key", str(tls_files["key"])], None,
         ["tls_cert", "missing.pem", "does not exist"]),
        (["--tls-cert", str(tls_files["garbage"]), "--tls-key", str(tls_files["key"])], None,
         ["tls_cert", "garbage.pem", "no PEM certificate"]),
        (["--tls-cert", str(tls_files["cert"]), "--tls-key", str(tls_files["garbage"])], None,
         ["tls_key", "garbage.pem", "no unencrypted PEM private key"]),
        (["--tls-cert", str(tls_files["cert"]), "--tls-key", str(tls_files["other_key"])], None,
         ["tls_key", "other-key.pem", "does not match", "cert.pem"]),
        (["--mode", "proxy", "--upstream", "sip:127.0.0.1:5070", "--advertise-host", "127.0.0.1",
          "--sip", "tls://127.0.0.1:5061"], None, ["sip", "tls://", "mode uas"]),
        (["--socket-allow-uid", "no-such-user-here"], None, ["socket_allow_uid", "no-such-user-here", "numeric uid"]),
        (["--socket-allow-gid", "no-such-group-here"], None, ["socket_allow_gid", "no-such-group-here", "numeric gid"]),
    ]
    for args, env, expected in cases:
        rc, out = check(*args, env=env)
        assert rc == 64, f"{args} {env}: exit {rc}\n{out}"
        for text in expected:
            assert text in out, f"{args} {env}: {text!r} not in the error:\n{out}"
        key_text = tls_files["key"].read_text()
        assert key_text.splitlines()[1] not in out, "the private key's contents appear in an error"
    rc, out = check("--sip-allow", "192.0.2.0/24", "--sip-allow", "2001:db8::/32", "--sip-rate-limit", "5",
                    "--sip", "tls://127.0.0.1:5061", "--tls-cert", str(tls_files["cert"]), "--tls-key", str(tls_files["key"]),
                    "--socket-allow-uid", "root", "--socket-allow-gid", "0")
    assert rc == 0, out
    assert "192.0.2.0/24 2001:db8::/32" in out and "sip_rate_limit" in out, out


# --- TLS ----------------------------------------------------------------------------------

class TlsSipClient:
    """SIP over one TLS connection, framed by Content-Length."""

    def __init__(self, port: int, cafile: Path):
        ctx = ssl.create_default_context(cafile=str(cafile))
        ctx.check_hostname = False  # the test certificate names 127.0.0.1 as CN only
        raw = socket.create_connection((HOST, port), timeout=5)
        self.sock = ctx.wrap_socket(raw, server_hostname=HOST)
        self.local = self.sock.getsockname()[1]
        self.buffer = b""
        self.pongs = 0

    def send(self, message: str) -> None:
        self.sock.sendall(message.encode())

    def read(self) -> bytes:
        while True:
            while self.buffer.startswith(b"\r\n"):  # a keep-alive pong (RFC 5626 §3.5.1)
                self.buffer = self.buffer[2:]
                self.pongs += 1
            if b"\r\n\r\n" in self.buffer:
                break
            chunk = self.sock.recv(65535)
            assert chunk, "TLS connection closed"
            self.buffer += chunk
        head, rest = self.buffer.split(b"\r\n\r\n", 1)
        length = int(header(head + b"\r\n", "Content-Length") or 0)
        while len(rest) < length:
            rest += self.sock.recv(65535)
        self.buffer = rest[length:]
        return head + b"\r\n\r\n" + rest[:length]

    def final(self) -> bytes:
        while True:
            m = self.read()
            if int(m.split(b" ", 2)[1]) >= 200:
                return m


@pytest.mark.timeout(60)
def test_tls_listener_carries_a_call_and_its_flush(sidecar_factory, standin, tls_files, free_port, unique):
    tls_port = free_port("tcp")
    sc = sidecar_factory(bluejay_url=standin.url, api_key=standin.api_key, transports=("udp",),
                         args=["--sip", f"tls://{HOST}:{tls_port}", "--tls-cert", str(tls_files["cert"]),
                               "--tls-key", str(tls_files["key"])])
    assert f"tls://{HOST}:{tls_port}" in sc.stderr_text()
    # Plain TCP on the TLS port: the handshake fails (a TLS alert at most), no SIP is answered, it is closed.
    with socket.create_connection((HOST, tls_port), timeout=3) as plain:
        plain.settimeout(3)
        plain.sendall(b"OPTIONS sip:a@127.0.0.1 SIP/2.0\r\nContent-Length: 0\r\n\r\n")
        got = b""
        try:
            while chunk := plain.recv(4096):
                got += chunk
        except ConnectionResetError:
            pass
        assert b"SIP/2.0" not in got

    sim = unique("sim-tls")
    c = TlsSipClient(tls_port, tls_files["cert"])
    cid = uuid.uuid4().hex + "@tls"

    def request(method: str, cseq: int, to_tag: str = "", extra: str = "", body: str = "") -> str:
        to = f"<sip:agent@{HOST}>" + (f";tag={to_tag}" if to_tag else "")
        ctype = "Content-Type: application/sdp\r\n" if body else ""
        return (f"{method} sip:agent@{HOST}:{tls_port};transport=tls SIP/2.0\r\n"
                f"Via: SIP/2.0/TLS {HOST}:{c.local};branch=z9hG4bK-{uuid.uuid4().hex[:10]}\r\nMax-Forwards: 70\r\n"
                f"From: <sip:bluejay@{HOST}>;tag=tlsft\r\nTo: {to}\r\nCall-ID: {cid}\r\nCSeq: {cseq} {method}\r\n"
                f"Contact: <sip:bluejay@{HOST}:{c.local};transport=tls>\r\n{extra}{ctype}"
                f"Content-Length: {len(body)}\r\n\r\n{body}")

    c.send(request("INVITE", 1, extra=f"X-Simulation-Result-Id: {sim}\r\n", body=SDP))
    ok = c.final()
    assert status_line(ok) == "SIP/2.0 200 OK", ok
    assert ";transport=tls" in header(ok, "Contact"), header(ok, "Contact")
    assert header(ok, "Via").startswith("SIP/2.0/TLS"), header(ok, "Via")
    tag = header(ok, "To").split(";tag=")[1]
    c.send(request("ACK", 1, to_tag=tag))
    c.send("\r\n\r\n")  # keep-alive: the pong comes back over TLS too
    c.send(request("BYE", 2, to_tag=tag))
    bye_ok = c.final()
    assert status_line(bye_ok) == "SIP/2.0 200 OK" and "BYE" in header(bye_ok, "CSeq")
    assert c.pongs == 1, "the keep-alive was not answered over TLS"
    c.sock.close()
    got = standin.wait_for(1, timeout=15, status=200, predicate=lambda r: r.simulation_result_id == sim)
    assert got and got[0].simulation_result_id == sim
    assert standin.problems == []

    # SIGHUP re-reads the files: a key that does not match keeps the running identity; a renewed pair is served.
    old_cert = tls_files["cert"].read_bytes()
    tls_files["key"].write_bytes(tls_files["other_key"].read_bytes())
    sc.proc.send_signal(signal.SIGHUP)
    sc.wait_for_log("configuration not reloaded")
    assert "does not match" in sc.stderr_text()
    TlsSipClient(tls_port, tls_files["cert"]).sock.close()  # still the first certificate
    renewed = tls_files["cert"].parent / "renewed"
    renewed.mkdir()
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-keyout", "key.pem", "-out", "cert.pem", cwd=renewed)
    tls_files["key"].write_bytes((renewed / "key.pem").read_bytes())
    tls_files["cert"].write_bytes((renewed / "cert.pem").read_bytes())
    sc.proc.send_signal(signal.SIGHUP)
    sc.wait_for_log("TLS certificate and key re-read")
    TlsSipClient(tls_port, renewed / "cert.pem").sock.close()
    (renewed / "old.pem").write_bytes(old_cert)
    with pytest.raises(ssl.SSLCertVerificationError):
        TlsSipClient(tls_port, renewed / "old.pem")


# --- the agent socket ---------------------------------------------------------------------

CLIENT = r"""
import json, os, socket, sys
uid, gid, groups, path = int(sys.argv[1]), int(sys.argv[2]), json.loads(sys.argv[3]), sys.argv[4]
os.setgroups(groups); os.setgid(gid); os.setuid(uid)
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
try:
    s.connect(path)
except OSError as e:
    print(json.dumps({"connect_error": e.errno})); sys.exit(0)
try:
    s.sendall(b'{"type":"lookup","call_id":"no-such-call"}\n')
except (BrokenPipeError, ConnectionResetError):
    pass  # a refused peer may be closed before it writes; its one reply line is still there to read
data = b""
while not data.endswith(b"\n"):
    chunk = s.recv(4096)
    if not chunk: break
    data += chunk
s.settimeout(1)
try:
    closed = s.recv(4096) == b""  # EOF: the sidecar closed the connection
except ConnectionResetError:
    closed = True  # closed with our request unread: a reset, after the reply line
except socket.timeout:
    closed = False
print(json.dumps({"reply": data.decode(), "closed": closed}))
"""


def agent_as(uid: int, gid: int, groups: list[int], path: Path) -> dict:
    r = subprocess.run([sys.executable, "-c", CLIENT, str(uid), str(gid), json.dumps(groups), str(path)],
                       capture_output=True, timeout=20)
    assert r.returncode == 0, r.stderr.decode()
    return json.loads(r.stdout)


@pytest.mark.timeout(60)
def test_agent_socket_mode_0660_and_peer_credentials(sidecar_factory):
    if os.geteuid() != 0:
        pytest.fail("this test changes uid/gid in a child process: run the suite as root (as CI does)")
    sc = sidecar_factory(args=["--socket-allow-uid", "12345", "--socket-allow-gid", "4242"], transports=("udp",))
    assert os.stat(sc.socket_path).st_mode & 0o777 == 0o660
    os.chmod(sc.socket_path.parent, 0o711)  # let other uids reach the socket; its own mode still applies

    allowed_by_uid = agent_as(12345, 99, [0], sc.socket_path)
    allowed_by_gid = agent_as(23456, 4242, [0], sc.socket_path)
    for result in (allowed_by_uid, allowed_by_gid):
        assert not result["closed"], result
        reply = json.loads(result["reply"])
        assert reply["ok"] is False and reply["error"] == "unknown_call", result  # the protocol, as usual

    refused = agent_as(23456, 99, [0], sc.socket_path)
    reply = json.loads(refused["reply"])
    assert reply["ok"] is False and reply["error"] == "permission_denied", refused
    assert "uid 23456 gid 99" in reply["message"], reply
    assert refused["closed"] and refused["reply"].count("\n") == 1, refused

    root = agent_as(0, 0, [0], sc.socket_path)
    assert json.loads(root["reply"])["error"] == "permission_denied", root

    no_group = agent_as(23456, 99, [], sc.socket_path)
    assert no_group == {"connect_error": 13}, no_group  # EACCES: mode 0660 keeps out other users
    assert "agent connection refused" in sc.stderr_text()
