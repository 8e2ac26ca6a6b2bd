"""Peers that stall, trickle or never read: each is cut off or held back on its own, and everyone else is
served meanwhile. The read timeout is shortened (``--read-timeout 2``) so the cut-offs show in seconds."""
from __future__ import annotations

import json
import socket
import sqlite3
import threading
import time

import pytest

import agent as A
from siptext import UdpCall

pytestmark = pytest.mark.sidecar

READ_TIMEOUT = 2


def closed_by_peer(sock: socket.socket, within: float) -> float:
    """Seconds until the server closes ``sock`` (EOF or reset); fails after ``within``."""
    sock.settimeout(within)
    started = time.monotonic()
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return time.monotonic() - started
    except ConnectionResetError:
        return time.monotonic() - started
    except socket.timeout:
        pytest.fail(f"connection still open after {within}s")


def http_get(port: int, path: str) -> tuple[int, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def write_until_held_back(sock: socket.socket, line: bytes, max_lines: int, within: float) -> tuple[int, bytes, bool]:
    """Writes ``line`` again and again without reading, until the peer stops reading (a write blocked for 1 s),
    ``max_lines`` or ``within`` seconds. Returns the whole lines written, what is left of a line cut short, and
    whether the peer held the writer back. Leaves ``sock`` non-blocking."""
    sock.setblocking(False)
    sent_lines, pending, blocked_since = 0, b"", None
    deadline = time.monotonic() + within
    while time.monotonic() < deadline and sent_lines < max_lines:
        if not pending:
            pending = line
        try:
            pending = pending[sock.send(pending):]
            if not pending:
                sent_lines += 1
            blocked_since = None
        except BlockingIOError:
            blocked_since = blocked_since or time.monotonic()
            if time.monotonic() - blocked_since > 1.0:
                return sent_lines, pending, True
            time.sleep(0.01)
    return sent_lines, pending, False


@pytest.fixture
def slow_sidecar(sidecar_factory, standin):
    return sidecar_factory(bluejay_url=standin.url, api_key=standin.api_key, args=["--read-timeout", str(READ_TIMEOUT)])


@pytest.mark.timeout(40)
def test_http_stalled_trickling_and_idle_clients_are_cut_off(slow_sidecar):
    port = slow_sidecar.http_port
    # 1. Half a request head, then nothing.
    stalled_head = socket.create_connection(("127.0.0.1", port))
    stalled_head.sendall(b"POST /webhooks/events_webhook HTTP/1.1\r\nHost: x\r\nContent-Le")
    # 2. A whole head promising a body that trickles in a byte a second (never idle, never done).
    trickle = socket.create_connection(("127.0.0.1", port))
    trickle.sendall(b"POST /webhooks/events_webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 100000\r\n\r\n{")
    # 3. A keep-alive connection that answered once and then sits idle.
    idle = socket.create_connection(("127.0.0.1", port))
    idle.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    first = idle.recv(65536)
    assert first.startswith(b"HTTP/1.1 200"), first

    # Everyone else is served while those three hang on.
    status, body = http_get(port, "/healthz")
    assert status == 200, body

    started = time.monotonic()
    trickled = 0
    trickle.settimeout(0.05)
    while time.monotonic() - started < READ_TIMEOUT * 5:
        try:
            trickle.sendall(b" ")
            trickled += 1
        except (BrokenPipeError, ConnectionResetError):
            break
        try:
            if trickle.recv(65536) == b"":
                break
        except socket.timeout:
            pass
        except ConnectionResetError:
            break
        time.sleep(0.5)
    trickle_lasted = time.monotonic() - started
    assert trickled >= 2, "the trickling client got to send for a while"
    assert trickle_lasted < READ_TIMEOUT * 3, f"a trickled body is cut off at the read timeout, lasted {trickle_lasted:.1f}s"

    assert closed_by_peer(stalled_head, READ_TIMEOUT * 3) < READ_TIMEOUT * 3
    assert closed_by_peer(idle, READ_TIMEOUT * 3) < READ_TIMEOUT * 3
    for s in (stalled_head, trickle, idle):
        s.close()

    # Nothing was stored from the cut-off requests, and the listener still serves.
    status, body = http_get(port, "/healthz")
    assert status == 200, body
    assert slow_sidecar.running


@pytest.mark.timeout(60)
def test_agent_that_never_reads_replies_is_held_back_alone(slow_sidecar, standin, agent_factory):
    call = UdpCall(slow_sidecar.sip_port, sim_id="never-reads")
    assert call.invite() == 200
    # A client that writes line after line and never reads a reply: once its replies fill the socket
    # buffers, the sidecar stops reading it, so its writes block instead of growing the sidecar's memory.
    hog = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    hog.connect(str(slow_sidecar.socket_path))
    line = (json.dumps(A.tool_call("hog", {"pad": "x" * 200}, None, call_id=call.call_id, start_offset_ms=1)) + "\n").encode()
    sent_lines, pending, held = write_until_held_back(hog, line, max_lines=400_000, within=20)
    assert held, f"the hog was never held back after {sent_lines} lines"

    rss_kib = int(next(l for l in open(f"/proc/{slow_sidecar.proc.pid}/status") if l.startswith("VmRSS:")).split()[1])
    assert rss_kib < 400 * 1024, f"sidecar RSS {rss_kib} KiB while a client does not read"

    # Another agent is answered at once meanwhile.
    other = agent_factory(slow_sidecar)
    t0 = time.monotonic()
    assert other.request(A.tool_call("other", {}, None, call_id=call.call_id, start_offset_ms=2))["ok"] is True
    assert time.monotonic() - t0 < 1.0

    # When the hog finally reads, every line it wrote was answered, in order, and none was lost.
    hog.setblocking(True)
    hog.settimeout(20)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.extend(iter(lambda: hog.recv(1 << 20), b"")))
    reader.start()
    if pending:
        hog.sendall(pending)
        sent_lines += 1
    hog.shutdown(socket.SHUT_WR)
    reader.join(30)
    assert not reader.is_alive(), "the replies were all read"
    lines = b"".join(received).splitlines()
    assert len(lines) == sent_lines, (len(lines), sent_lines)
    assert all(json.loads(l).get("ok") is True for l in lines[:50] + lines[-50:])
    hog.close()

    assert call.bye() == 200
    (req,) = standin.wait_for(1, timeout=30, status=200)
    names = [t["name"] for t in req.body["tool_calls"]]
    assert names.count("hog") == sent_lines and "other" in names
    call.close()


@pytest.mark.timeout(60)
def test_a_pipelining_agent_is_read_no_further_than_the_store_keeps_up(slow_sidecar, standin):
    """While the store cannot commit (here another process holds its write lock, as a stalled disk would), an
    agent that pipelines without waiting is read only up to a bound (4,096 lines, 16 MiB of lines waiting for
    replies): the rest waits in its own socket, not in the sidecar's memory. Once the store commits again, every
    line it wrote is answered, in order, and kept."""
    sc = slow_sidecar
    agent = A.AgentClient(sc.socket_path)
    start = agent.request({"type": "start", "simulation_result_id": "slow-store"})
    assert start.get("ok") is True, start
    cid = start["call_id"]
    line = (json.dumps(A.tool_call("piped", {"pad": "x" * 60_000}, None, call_id=cid, start_offset_ms=1)) + "\n").encode()
    lock = sqlite3.connect(str(sc.data_dir / "sidecar.sqlite"), timeout=10, isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")  # the sidecar's commits now wait (its busy timeout is 5 s)
    try:
        sent_lines, pending, held = write_until_held_back(agent.sock, line, max_lines=1_000, within=3)  # 60 MB
        accepted = sent_lines * len(line)
        assert held, f"never held back: {sent_lines} lines ({accepted >> 20} MiB) taken in"
        assert accepted < 24 << 20, f"{accepted >> 20} MiB of lines taken in while the store could not commit"
    finally:
        lock.execute("COMMIT")
        lock.close()
    agent.sock.setblocking(True)
    agent.sock.settimeout(30)
    if pending:
        agent.sock.sendall(pending)
        sent_lines += 1
    replies = [agent.read_reply(30) for _ in range(sent_lines)]
    assert all(r.get("ok") is True for r in replies), [r for r in replies if r.get("ok") is not True][:3]
    assert agent.request(A.end(call_id=cid)).get("ok") is True
    (req,) = standin.wait_for(1, timeout=30, status=200)
    assert [t["name"] for t in req.body["tool_calls"]].count("piped") == sent_lines
    agent.close()


def sip_options(port: int, tag: str) -> bytes:
    return (f"OPTIONS sip:agent@127.0.0.1:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bK-{tag}\r\nMax-Forwards: 70\r\n"
            f"From: <sip:probe@127.0.0.1>;tag={tag}\r\nTo: <sip:agent@127.0.0.1>\r\nCall-ID: {tag}@slow\r\n"
            f"CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n").encode()


@pytest.mark.timeout(40)
def test_sip_tcp_streams_that_stall_or_lie_about_content_length_are_closed(slow_sidecar):
    port = slow_sidecar.sip_port
    # Stops in the middle of its headers.
    stalled = socket.create_connection(("127.0.0.1", port))
    stalled.sendall(sip_options(port, "stall")[:60])
    # Declares a 500-byte body and sends 10.
    liar = socket.create_connection(("127.0.0.1", port))
    liar.sendall(sip_options(port, "liar").replace(b"Content-Length: 0", b"Content-Type: application/sdp\r\nContent-Length: 500")
                 + b"v=0\r\no=- 1")
    # A connection that completes its message keeps working and is not cut off for idling.
    good = socket.create_connection(("127.0.0.1", port))
    good.settimeout(5)
    good.sendall(sip_options(port, "good1"))
    assert good.recv(65536).startswith(b"SIP/2.0 200"), "a well-behaved peer is answered meanwhile"

    assert closed_by_peer(stalled, READ_TIMEOUT * 3) < READ_TIMEOUT * 3
    assert closed_by_peer(liar, READ_TIMEOUT * 3) < READ_TIMEOUT * 3
    stalled.close(); liar.close()

    good.sendall(sip_options(port, "good2"))
    assert good.recv(65536).startswith(b"SIP/2.0 200"), "an idle complete connection stays open past the read timeout"
    good.close()
    assert "message not completed within the read timeout" in slow_sidecar.stderr_text()
    assert slow_sidecar.running
