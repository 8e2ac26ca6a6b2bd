"""Replays every SIP fixture (RFC 4475/5118 torture messages included), truncated copies of them and
bounded pseudo-random garbage at a real sidecar, then checks it still answers and completes an IPv6 call.

Runs INSIDE a loopback-only network namespace (see test_replay.py): the fixtures name third-party
addresses, and the sidecar answers to the addresses written in each message.
Usage: python3 replay_fixtures.py SIDECAR_BIN FIXTURES_DIR   → prints one JSON summary line.
"""
from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PORT = 25060


def wait_ready(proc: subprocess.Popen, err_path: Path, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"sidecar exited {proc.returncode}: {err_path.read_text()[-4000:]}")
        if "bluejay-sidecar ready" in err_path.read_text(errors="replace"):
            return
        time.sleep(0.05)
    raise SystemExit("sidecar not ready: " + err_path.read_text()[-4000:])


def options(family: int, host: str, transport: str, n: int) -> int:
    """Sends an OPTIONS whose Via points back at us; returns the status code (0 = no answer)."""
    s = socket.socket(family, socket.SOCK_DGRAM if transport == "UDP" else socket.SOCK_STREAM)
    s.settimeout(3)
    s.bind((host, 0))
    local = s.getsockname()[1]
    via_host = f"[{host}]" if ":" in host else host
    msg = (f"OPTIONS sip:probe@{via_host}:{PORT} SIP/2.0\r\n"
           f"Via: SIP/2.0/{transport} {via_host}:{local};branch=z9hG4bK-probe-{n}-{transport}\r\n"
           f"Max-Forwards: 70\r\nFrom: <sip:p@{via_host}>;tag=p{n}\r\nTo: <sip:probe@{via_host}>\r\n"
           f"Call-ID: probe-{n}-{transport}@{via_host}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n").encode()
    try:
        if transport == "UDP":
            s.sendto(msg, (host, PORT))
            data, _ = s.recvfrom(65535)
        else:
            s.connect((host, PORT))
            s.sendall(msg)
            data = s.recv(65535)
        return int(data.split(b" ", 2)[1])
    except (OSError, ValueError, IndexError):
        return 0
    finally:
        s.close()


def oversized() -> dict:
    """The largest UDP datagram (a valid OPTIONS padded to 65,507 bytes) is answered; a 200 KB message on TCP,
    over the 64 KiB limit, gets its connection closed."""
    def padded(transport: str, local: int, size: int) -> bytes:
        head = (f"OPTIONS sip:probe@127.0.0.1:{PORT} SIP/2.0\r\n"
                f"Via: SIP/2.0/{transport} 127.0.0.1:{local};branch=z9hG4bK-big-{transport}\r\n"
                f"Max-Forwards: 70\r\nFrom: <sip:p@127.0.0.1>;tag=big\r\nTo: <sip:probe@127.0.0.1>\r\n"
                f"Call-ID: big-{transport}@127.0.0.1\r\nCSeq: 1 OPTIONS\r\nX-Pad: ").encode()
        tail = b"\r\nContent-Length: 0\r\n\r\n"
        return head + b"p" * (size - len(head) - len(tail)) + tail
    result = {}
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 0))
    u.settimeout(3)
    try:
        u.sendto(padded("UDP", u.getsockname()[1], 65507), ("127.0.0.1", PORT))
        result["udp_65507_status"] = int(u.recvfrom(65535)[0].split(b" ", 2)[1])
    except (OSError, ValueError, IndexError):
        result["udp_65507_status"] = 0
    finally:
        u.close()
    t = socket.create_connection(("127.0.0.1", PORT), timeout=5)
    try:
        t.sendall(padded("TCP", t.getsockname()[1], 200_000))
        result["tcp_200k_closed"] = t.recv(65535) == b""
    except ConnectionResetError:
        result["tcp_200k_closed"] = True
    except OSError:
        result["tcp_200k_closed"] = False
    finally:
        t.close()
    return result


def tcp_keepalive() -> bytes:
    """RFC 5626 §3.5.1: a CRLFCRLF ping on a SIP TCP connection is answered with CRLF."""
    c = socket.create_connection(("127.0.0.1", PORT), timeout=3)
    try:
        c.sendall(b"\r\n\r\n")
        return c.recv(16)
    except OSError:
        return b""
    finally:
        c.close()


def ipv6_call(work: Path) -> dict:
    """A whole call over IPv6 UDP, by hand: INVITE → 100/200 → ACK → BYE → 200."""
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.settimeout(3)
    s.bind(("::1", 0))
    lp = s.getsockname()[1]
    cid = "v6call@[::1]"
    sdp = "v=0\r\no=- 1 1 IN IP6 ::1\r\ns=-\r\nc=IN IP6 ::1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"

    def req(method: str, cseq: int, branch: str, to_tag: str = "", body: str = "", extra: str = "") -> bytes:
        ctype = "Content-Type: application/sdp\r\n" if body else ""
        to = f"<sip:agent@[::1]:{PORT}>" + (f";tag={to_tag}" if to_tag else "")
        return (f"{method} sip:agent@[::1]:{PORT} SIP/2.0\r\nVia: SIP/2.0/UDP [::1]:{lp};branch={branch}\r\n"
                f"Max-Forwards: 70\r\nFrom: <sip:caller@[::1]>;tag=v6ft\r\nTo: {to}\r\nCall-ID: {cid}\r\n"
                f"CSeq: {cseq} {method}\r\nContact: <sip:caller@[::1]:{lp}>\r\n{extra}{ctype}"
                f"Content-Length: {len(body.encode())}\r\n\r\n{body}").encode()

    def status(data: bytes) -> int:
        return int(data.split(b" ", 2)[1])

    s.sendto(req("INVITE", 1, "z9hG4bK-v6inv", body=sdp, extra="X-Simulation-Result-Id: sim-v6\r\n"), ("::1", PORT))
    codes, to_tag, answer = [], "", b""
    while not codes or codes[-1] < 200:
        data, _ = s.recvfrom(65535)
        codes.append(status(data))
        answer = data
    for line in answer.split(b"\r\n"):
        if line.lower().startswith(b"to:") and b";tag=" in line:
            to_tag = line.split(b";tag=")[1].split(b";")[0].decode()
    s.sendto(req("ACK", 1, "z9hG4bK-v6ack", to_tag), ("::1", PORT))
    s.sendto(req("BYE", 2, "z9hG4bK-v6bye", to_tag), ("::1", PORT))
    bye = status(s.recvfrom(65535)[0])
    s.close()
    sdp_ok = b"c=IN IP6" in answer and b"a=inactive" in answer
    deadline = time.time() + 10
    files: list[Path] = []
    while time.time() < deadline and not files:
        files = sorted((work / "data" / "dry-run").glob("*sim-v6.json"))
        time.sleep(0.1)
    body = json.loads(files[0].read_text()) if files else None
    return {"invite": codes, "bye": bye, "sdp_ipv6_inactive": sdp_ok,
            "flushed_sim": body and body.get("simulation_result_id")}


def main() -> None:
    binary, fixtures = sys.argv[1], Path(sys.argv[2])
    work = Path(tempfile.mkdtemp(prefix="bj-replay-"))
    err = work / "stderr.log"
    proc = subprocess.Popen([binary, "--sip", f"udp://127.0.0.1:{PORT}", "--sip", f"tcp://127.0.0.1:{PORT}",
                             "--sip", f"udp://[::1]:{PORT}", "--socket", str(work / "a.sock"),
                             "--data-dir", str(work / "data"), "--linger-ms", "0", "--http", "off",
                             # torture INVITEs leave answered calls up: do not wait for them at exit
                             "--drain-timeout", "0"],
                            stdout=subprocess.DEVNULL, stderr=err.open("w"), stdin=subprocess.DEVNULL)
    summary: dict = {}
    try:
        wait_ready(proc, err)
        files = sorted(p for p in fixtures.rglob("*") if p.is_file() and p.suffix in (".sip", ".dat"))
        blobs = [p.read_bytes() for p in files]
        rng = random.Random(4475)
        truncated = [b[: rng.randrange(1, len(b))] for b in blobs if len(b) > 1]
        garbage = [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 1500))) for _ in range(500)]
        mutated = []
        for _ in range(1500):
            b = bytearray(rng.choice(blobs))
            for _ in range(rng.randrange(1, 8)):
                if b:
                    b[rng.randrange(len(b))] = rng.randrange(256)
            mutated.append(bytes(b))
        datagrams = blobs + truncated + garbage + mutated

        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for i, d in enumerate(datagrams):
            udp.sendto(d[:65507], ("127.0.0.1", PORT))
            if i % 200 == 0:
                time.sleep(0.01)  # let the listener keep up; this is a robustness test, not a flood
        udp.close()
        tcp_sent = 0
        for d in blobs + truncated[:40]:
            c = socket.create_connection(("127.0.0.1", PORT), timeout=3)
            c.sendall(d)
            c.close()
            tcp_sent += 1
        # A stream that lies about Content-Length, then closes.
        c = socket.create_connection(("127.0.0.1", PORT), timeout=3)
        c.sendall(b"OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nContent-Length: 99999999\r\n\r\nabc")
        c.close()
        time.sleep(0.5)
        summary = {
            "oversized": oversized(),
            "files": len(files), "datagrams": len(datagrams), "tcp_connections": tcp_sent,
            "alive_after": proc.poll() is None,
            "options_udp4": options(socket.AF_INET, "127.0.0.1", "UDP", 1),
            "options_tcp4": options(socket.AF_INET, "127.0.0.1", "TCP", 2),
            "options_udp6": options(socket.AF_INET6, "::1", "UDP", 3),
            "tcp_keepalive_reply": tcp_keepalive().hex(),
            "ipv6_call": ipv6_call(work),
        }
    finally:
        proc.terminate()
        try:
            summary["exit_code"] = proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            summary["exit_code"] = "killed"
        summary["stderr_tail"] = err.read_text(errors="replace")[-1500:]
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
