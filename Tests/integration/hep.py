"""HEP v3 for the mirror-mode tests: build packets around SIP messages, send a whole call's messages as
HEP and/or plain-UDP copies (with duplicates, truncated and garbage packets mixed in), and run Kamailio
with ``siptrace`` as a real HEP source.

Encoding (same as Sources/BluejayHEP): "HEP3", UInt16 total length (including the 6-byte header), then
chunks ``vendor UInt16 | type UInt16 | length UInt16 (including these 6 bytes) | value``, big-endian.
Generic chunks (vendor 0): 1 family (2 v4, 10 v6), 2 ip proto (17 UDP, 6 TCP), 3/4 IPv4 src/dst,
5/6 IPv6 src/dst, 7/8 ports, 9/10 time s/us, 11 protocol type (1 SIP), 12 capture id, 15 payload,
17 correlation id.

Also a script: ``python3 hep.py decode FILE.hex`` prints the packets of a fixture;
``python3 hep.py capture OUT.hex`` records a real Kamailio siptrace call (see ``capture_kamailio_call``).
"""
from __future__ import annotations

import ipaddress
import os
import random
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional, Sequence, Union

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
FIXTURE_DIR = REPO_ROOT / "sip-fixtures" / "hep"
HOST = "127.0.0.1"

MAGIC = b"HEP3"
PROTO_SIP = 1


# --- encoding / decoding --------------------------------------------------------------

def _chunk(ctype: int, value: bytes, vendor: int = 0) -> bytes:
    return struct.pack("!HHH", vendor, ctype, len(value) + 6) + value


def encode_hep(payload: Optional[bytes], *, src: tuple[str, int] = (HOST, 5070), dst: tuple[str, int] = (HOST, 5060),
               ip_proto: int = 17, proto_type: Optional[int] = PROTO_SIP, capture_id: Optional[int] = 2001,
               ts: Optional[float] = None, correlation_id: Optional[str] = None,
               extra_chunks: Sequence[bytes] = ()) -> bytes:
    """One HEP v3 packet. ``ts`` defaults to now; ``extra_chunks`` (e.g. ``_chunk(99, b'x', vendor=7)``)
    are inserted before the payload (receivers must skip unknown chunks)."""
    sa, da = ipaddress.ip_address(src[0]), ipaddress.ip_address(dst[0])
    v6 = sa.version == 6
    t = time.time() if ts is None else ts
    body = _chunk(1, bytes([10 if v6 else 2])) + _chunk(2, bytes([ip_proto]))
    body += _chunk(5 if v6 else 3, sa.packed) + _chunk(6 if da.version == 6 else 4, da.packed)
    body += _chunk(7, struct.pack("!H", src[1])) + _chunk(8, struct.pack("!H", dst[1]))
    body += _chunk(9, struct.pack("!I", int(t))) + _chunk(10, struct.pack("!I", int((t % 1) * 1e6)))
    if proto_type is not None:
        body += _chunk(11, bytes([proto_type]))
    if capture_id is not None:
        body += _chunk(12, struct.pack("!I", capture_id))
    if correlation_id is not None:
        body += _chunk(17, correlation_id.encode())
    for c in extra_chunks:
        body += c
    if payload is not None:
        body += _chunk(15, payload)
    total = len(body) + 6
    if total > 0xFFFF:
        raise ValueError(f"HEP packet too large ({total} bytes)")
    return MAGIC + struct.pack("!H", total) + body


class HEPDecodeError(ValueError):
    pass


def decode_hep(data: bytes) -> dict:
    """Decode one HEP v3 packet into a dict (keys: family, ip_proto, src, dst, sport, dport, ts_s, ts_us,
    proto_type, capture_id, payload, correlation_id, unknown=[(vendor, type, len)]). Strict, like the Swift
    decoder: raises HEPDecodeError on anything malformed."""
    if data[:4] != MAGIC:
        raise HEPDecodeError("not HEP3")
    if len(data) < 6:
        raise HEPDecodeError("truncated header")
    total = struct.unpack("!H", data[4:6])[0]
    if total != len(data):
        raise HEPDecodeError(f"total length {total} != datagram {len(data)}")
    out: dict = {"unknown": []}
    off = 6
    while off < total:
        if total - off < 6:
            raise HEPDecodeError(f"truncated chunk header at {off}")
        vendor, ctype, ln = struct.unpack("!HHH", data[off:off + 6])
        if ln < 6 or off + ln > total:
            raise HEPDecodeError(f"bad chunk length {ln} at {off}")
        v = data[off + 6:off + ln]
        off += ln
        if vendor != 0:
            out["unknown"].append((vendor, ctype, ln))
            continue
        if ctype == 1: out["family"] = v[0]
        elif ctype == 2: out["ip_proto"] = v[0]
        elif ctype in (3, 5): out["src"] = str(ipaddress.ip_address(bytes(v)))
        elif ctype in (4, 6): out["dst"] = str(ipaddress.ip_address(bytes(v)))
        elif ctype == 7: out["sport"] = struct.unpack("!H", v)[0]
        elif ctype == 8: out["dport"] = struct.unpack("!H", v)[0]
        elif ctype == 9: out["ts_s"] = struct.unpack("!I", v)[0]
        elif ctype == 10: out["ts_us"] = struct.unpack("!I", v)[0]
        elif ctype == 11: out["proto_type"] = v[0]
        elif ctype == 12: out["capture_id"] = int.from_bytes(v, "big")
        elif ctype == 15: out["payload"] = bytes(v)
        elif ctype == 17: out["correlation_id"] = bytes(v).decode("utf-8", "replace")
        else: out["unknown"].append((vendor, ctype, ln))
    return out


def load_fixture(path: Union[str, os.PathLike]) -> list[bytes]:
    """A ``sip-fixtures/hep/*.hex`` file: '#' comment lines, then one datagram per line in hex."""
    p = Path(path)
    if not p.is_absolute() and not p.exists():
        p = FIXTURE_DIR / p
    out = []
    for line in p.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            out.append(bytes.fromhex(line))
    return out


def save_fixture(path: Union[str, os.PathLike], datagrams: Iterable[bytes], comment: str = "") -> Path:
    p = Path(path)
    lines = [f"# {ln}" for ln in comment.splitlines()] + [d.hex() for d in datagrams]
    p.write_text("\n".join(lines) + "\n")
    return p


# --- a call's SIP messages --------------------------------------------------------------

@dataclass
class Msg:
    """One SIP message on the wire, from ``src`` to ``dst``."""
    name: str           # "INVITE", "100", "200-INVITE", "ACK", "BYE", "200-BYE"
    data: bytes
    src: tuple[str, int]
    dst: tuple[str, int]


@dataclass
class MirroredCall:
    """The messages of one call between a caller (Bluejay) and an agent's PBX, as a port mirror or a
    capture agent would see them: INVITE (with X-Simulation-Result-Id unless ``sim_id`` is None), 100,
    200 (with To-tag and SDP), ACK, then later BYE (from the caller) and its 200.

    ``setup()`` gives INVITE..ACK, ``teardown()`` BYE and 200; ``messages()`` all six.
    Metadata matches ``expect.check_body``: From has ``caller@``, To has ``agent@``."""
    call_id: str
    sim_id: Optional[str]
    caller: tuple[str, int] = (HOST, 5070)
    callee: tuple[str, int] = (HOST, 5080)
    extra_headers: dict = field(default_factory=dict)
    from_tag: str = field(default_factory=lambda: "ft-" + uuid.uuid4().hex[:10])
    to_tag: str = field(default_factory=lambda: "tt-" + uuid.uuid4().hex[:10])

    def _hp(self, a: tuple[str, int]) -> str:
        return f"[{a[0]}]:{a[1]}" if ":" in a[0] else f"{a[0]}:{a[1]}"

    def _from(self) -> str:
        return f"From: \"Bluejay Test\" <sip:caller@{self._hp(self.caller)}>;tag={self.from_tag}\r\n"

    def _to(self, tagged: bool) -> str:
        return f"To: <sip:agent@{self._hp(self.callee)}>" + (f";tag={self.to_tag}" if tagged else "") + "\r\n"

    def _sdp(self, who: tuple[str, int], port: int) -> str:
        fam = "IP6" if ":" in who[0] else "IP4"
        return (f"v=0\r\no=- 1 1 IN {fam} {who[0]}\r\ns=-\r\nc=IN {fam} {who[0]}\r\nt=0 0\r\n"
                f"m=audio {port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n")

    def _req(self, method: str, cseq: int, branch: str, tagged: bool, body: str = "", extra: str = "") -> bytes:
        ctype = "Content-Type: application/sdp\r\n" if body else ""
        ruri = f"sip:agent@{self._hp(self.callee)}"
        return (f"{method} {ruri} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP {self._hp(self.caller)};branch={branch};rport\r\n"
                f"Max-Forwards: 70\r\n{self._from()}{self._to(tagged)}"
                f"Call-ID: {self.call_id}\r\nCSeq: {cseq} {method}\r\n"
                f"Contact: <sip:caller@{self._hp(self.caller)}>\r\n{extra}{ctype}"
                f"Content-Length: {len(body.encode())}\r\n\r\n{body}").encode()

    def _resp(self, code: int, reason: str, req_method: str, cseq: int, branch: str, tagged: bool,
              body: str = "") -> bytes:
        ctype = "Content-Type: application/sdp\r\n" if body else ""
        contact = f"Contact: <sip:agent@{self._hp(self.callee)}>\r\n" if code == 200 and req_method == "INVITE" else ""
        return (f"SIP/2.0 {code} {reason}\r\n"
                f"Via: SIP/2.0/UDP {self._hp(self.caller)};branch={branch};rport={self.caller[1]};received={self.caller[0]}\r\n"
                f"{self._from()}{self._to(tagged)}Call-ID: {self.call_id}\r\nCSeq: {cseq} {req_method}\r\n"
                f"{contact}{ctype}Content-Length: {len(body.encode())}\r\n\r\n{body}").encode()

    def setup(self) -> list[Msg]:
        b1, b2 = "z9hG4bK-" + uuid.uuid4().hex[:12], "z9hG4bK-" + uuid.uuid4().hex[:12]
        extra = "".join(f"{k}: {v}\r\n" for k, v in self.extra_headers.items())
        if self.sim_id is not None:
            extra = f"X-Simulation-Result-Id: {self.sim_id}\r\n" + extra
        c, a = self.caller, self.callee
        return [
            Msg("INVITE", self._req("INVITE", 1, b1, False, self._sdp(c, 40000), extra), c, a),
            Msg("100", self._resp(100, "Trying", "INVITE", 1, b1, False), a, c),
            Msg("200-INVITE", self._resp(200, "OK", "INVITE", 1, b1, True, self._sdp(a, 41000)), a, c),
            Msg("ACK", self._req("ACK", 1, b2, True), c, a),
        ]

    def teardown(self) -> list[Msg]:
        b = "z9hG4bK-" + uuid.uuid4().hex[:12]
        c, a = self.caller, self.callee
        return [
            Msg("BYE", self._req("BYE", 2, b, True), c, a),
            Msg("200-BYE", self._resp(200, "OK", "BYE", 2, b, True), a, c),
        ]

    def messages(self) -> list[Msg]:
        return self.setup() + self.teardown()


# --- noise ---------------------------------------------------------------------------------

def garbage_packets(seed: int = 1, sample: Optional[bytes] = None) -> list[bytes]:
    """Datagrams a mirror must survive: random bytes, empty, bare magic, wrong lengths, chunk lengths below
    6 or past the end, every-other truncation of a real HEP packet, HEP of another protocol type (RTCP),
    HEP without payload, a huge vendor chunk, SIP-looking garbage and a truncated SIP message."""
    rnd = random.Random(seed)
    sample = sample or encode_hep(b"OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nCall-ID: garbage@x\r\n\r\n")
    out = [b"", b"H", b"HEP", MAGIC, MAGIC + b"\x00", MAGIC + b"\x00\x06",
           MAGIC + b"\x00\x05", MAGIC + b"\xff\xff" + b"\x00" * 20,
           MAGIC + struct.pack("!H", 12) + struct.pack("!HHH", 0, 15, 3),          # chunk length 3 < 6
           MAGIC + struct.pack("!H", 12) + struct.pack("!HHH", 0, 15, 500),        # chunk past the end
           MAGIC + struct.pack("!H", 13) + struct.pack("!HHH", 0, 3, 7) + b"\x01", # IPv4 chunk of 1 byte
           sample + b"trailing",
           encode_hep(b"\x81\xc8\x00\x0c" + bytes(44), proto_type=5, correlation_id="rtcp@x"),
           encode_hep(None),
           encode_hep(b"INVITE sip:x SIP/2.0\r\n\r\n", extra_chunks=[_chunk(777, bytes(1000), vendor=0x1234)]),
           b"INVITE sip:nobody SIP/2.0\r\n", b"SIP/2.0 200\r\n\r\n", b"\x00" * 64,
           b"INVITE sip:agent@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bK1\r\nCall-"]
    out += [sample[:n] for n in range(0, len(sample), 7)]
    for _ in range(20):
        out.append(bytes(rnd.getrandbits(8) for _ in range(rnd.randint(1, 300))))
    for _ in range(20):
        b = bytearray(sample)
        for _ in range(rnd.randint(1, 4)):
            b[rnd.randrange(len(b))] = rnd.getrandbits(8)
        out.append(bytes(b))
    return out


# --- sending ----------------------------------------------------------------------------------

class MirrorSender:
    """A UDP socket on 127.0.0.1 that plays capture agents / a port mirror towards ``port``.

    The mirror must answer nothing: ``received()`` returns whatever came back to this socket, and
    ``assert_silent()`` fails if anything did."""

    def __init__(self, port: int, host: str = HOST):
        self.addr = (host, port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.sock.setblocking(False)
        self.sent = 0
        self._rx: list[bytes] = []

    def raw(self, data: bytes) -> None:
        self.sock.sendto(data, self.addr)
        self.sent += 1

    def hep(self, msg: Msg, capture_id: int = 2001, ip_proto: int = 17, ts: Optional[float] = None) -> bytes:
        pkt = encode_hep(msg.data, src=msg.src, dst=msg.dst, ip_proto=ip_proto, capture_id=capture_id, ts=ts)
        self.raw(pkt)
        return pkt

    def plain(self, msg: Msg) -> None:
        self.raw(msg.data)

    def send(self, msgs: Iterable[Msg], *, how: str = "hep", duplicates: bool = False,
             garbage: Sequence[bytes] = (), gap_s: float = 0.02, capture_ids: Sequence[int] = (2001, 2002)) -> None:
        """Send each message as ``how`` = "hep" | "plain" | "both" (one HEP and one plain copy).
        ``duplicates``: each message twice more, from a second capture agent (HEP) / a second mirror copy.
        ``garbage``: datagrams interleaved round-robin, one after each message. ``gap_s`` between messages
        (keeps the order of a real call: the sidecar may process datagrams concurrently)."""
        g = list(garbage)
        for i, m in enumerate(msgs):
            now = time.time()
            if how in ("hep", "both"):
                self.hep(m, capture_ids[0], ts=now)
                if duplicates:
                    self.hep(m, capture_ids[1 % len(capture_ids)], ts=now + 0.0003)
            if how in ("plain", "both"):
                self.plain(m)
                if duplicates:
                    self.plain(m)
            if how not in ("hep", "plain", "both"):
                raise ValueError(how)
            if g:
                self.raw(g[i % len(g)])
            time.sleep(gap_s)

    def received(self, wait_s: float = 0.0) -> list[bytes]:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                while True:
                    self._rx.append(self.sock.recv(65535))
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:   # e.g. ECONNREFUSED from an ICMP port-unreachable: not a datagram
                pass
            if time.monotonic() >= deadline:
                return list(self._rx)
            time.sleep(0.05)

    def assert_silent(self, wait_s: float = 0.5) -> None:
        got = self.received(wait_s)
        assert got == [], f"the mirror must send nothing back, got {len(got)} datagram(s): {got[:2]!r}"

    def close(self) -> None:
        self.sock.close()


class HEPCollector:
    """A UDP listener on 127.0.0.1 that records every datagram (e.g. Kamailio's siptrace output)."""

    def __init__(self, port: int = 0, host: str = HOST):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, port))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.datagrams: list[bytes] = []
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.datagrams.append(self.sock.recv(65535))
            except socket.timeout:
                continue
            except OSError:
                return

    def close(self) -> None:
        self._stop.set()
        self._t.join(timeout=2)
        self.sock.close()


# --- Kamailio with siptrace -------------------------------------------------------------------------

KAMAILIO = os.environ.get("KAMAILIO_BIN", "kamailio")
def _kamailio_modules() -> str:
    env = os.environ.get("KAMAILIO_MODULES")
    if env:
        return env
    for cand in sorted(Path("/usr/lib").glob("*/kamailio/modules")) + [Path("/usr/lib/kamailio/modules"),
                                                                         Path("/usr/local/lib64/kamailio/modules")]:
        if (cand / "siptrace.so").is_file():
            return str(cand)
    return "/usr/lib/x86_64-linux-gnu/kamailio/modules"


KAMAILIO_MODULES = _kamailio_modules()


def kamailio_available() -> bool:
    return shutil.which(KAMAILIO) is not None and Path(KAMAILIO_MODULES, "siptrace.so").is_file()


def kamailio_config(listen_port: int, hep_uri: str, next_hop: str, capture_id: int = 4711) -> str:
    """A stateful proxy on udp:127.0.0.1:listen_port that record-routes and relays every new request to
    ``next_hop`` (e.g. "sip:127.0.0.1:5080"), tracing each request and reply it receives as HEP v3 to
    ``hep_uri`` (e.g. "sip:127.0.0.1:9060")."""
    return f"""#!KAMAILIO
debug=2
log_stderror=yes
fork=yes
children=1
tcp_children=1
disable_tcp=yes
auto_aliases=no
listen=udp:127.0.0.1:{listen_port}
mpath="{KAMAILIO_MODULES}/"

loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "siptrace.so"

modparam("siptrace", "duplicate_uri", "{hep_uri}")
modparam("siptrace", "hep_mode_on", 1)
modparam("siptrace", "hep_version", 3)
modparam("siptrace", "hep_capture_id", {capture_id})
modparam("siptrace", "trace_to_database", 0)
modparam("siptrace", "trace_on", 1)

request_route {{
    sip_trace();
    if (!mf_process_maxfwd_header("10")) {{ sl_send_reply("483", "Too Many Hops"); exit; }}
    if (has_totag()) {{
        # In dialog: follow the route set if there is one, else the Request-URI (SIPp's built-in UAS does
        # not echo Record-Route, so ACK and BYE come here with no Route header).
        loose_route();
        t_relay();
        exit;
    }}
    if (is_method("CANCEL")) {{ if (t_check_trans()) {{ t_relay(); }} exit; }}
    record_route();
    $du = "{next_hop}";
    t_on_reply("TRACE_REPLY");
    if (!t_relay()) {{ sl_reply_error(); }}
    exit;
}}

onreply_route[TRACE_REPLY] {{
    sip_trace();
}}

onreply_route {{
    sip_trace();
}}
"""


class Kamailio:
    """Kamailio run in the foreground (-DD) with a config written to ``workdir``; stderr to a file."""

    def __init__(self, workdir: Union[str, os.PathLike], listen_port: int, hep_port: int, next_hop_port: int):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = listen_port
        self.cfg = self.workdir / "kamailio.cfg"
        self.cfg.write_text(kamailio_config(listen_port, f"sip:{HOST}:{hep_port}", f"sip:{HOST}:{next_hop_port}"))
        self.log = self.workdir / "kamailio.log"
        self.proc: Optional[subprocess.Popen] = None

    def check(self) -> None:
        r = subprocess.run([KAMAILIO, "-c", "-f", str(self.cfg)], capture_output=True, timeout=20)
        if r.returncode != 0:
            raise RuntimeError(f"kamailio config check failed:\n{r.stderr.decode(errors='replace')[-3000:]}")

    def start(self, timeout: float = 10.0) -> "Kamailio":
        from sipp import wait_bound
        self._fh = open(self.log, "wb")
        self.proc = subprocess.Popen([KAMAILIO, "-DD", "-E", "-f", str(self.cfg), "-Y", str(self.workdir),
                                      "-P", str(self.workdir / "kamailio.pid"), "-m", "64", "-M", "8"],
                                     stdin=subprocess.DEVNULL, stdout=self._fh, stderr=subprocess.STDOUT,
                                     cwd=self.workdir, start_new_session=True)
        if not wait_bound(self.port, "udp", timeout, alive=lambda: self.proc.poll() is None):
            self.stop()
            raise RuntimeError(f"kamailio did not bind 127.0.0.1:{self.port}:\n{self.log_text()[-3000:]}")
        return self

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            import signal
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)   # its own session: only Kamailio's processes
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        fh = getattr(self, "_fh", None)
        if fh:
            fh.close()


def capture_kamailio_call(out: Optional[Union[str, os.PathLike]] = None, *, sim_id: str = "sim-hep-fixture-1",
                          prefix: str = "hepfx", pause_ms: int = 500, scenario: str = "uac-basic.xml") -> list[bytes]:
    """Run Kamailio (siptrace → HEP v3 to a local collector) with a SIPp UAS behind it, place one
    uac-basic.xml call through it, and return (and optionally save) the HEP datagrams received."""
    import sipp
    work = Path(tempfile.mkdtemp(prefix="hep-capture-"))
    coll = HEPCollector()
    uas_port, kam_port = sipp.free_port("udp"), sipp.free_port("udp")
    kam = Kamailio(work / "kamailio", kam_port, coll.port, uas_port)
    kam.check()
    uas = None
    try:
        kam.start()
        uas = sipp.start_uas(builtin="uas", port=uas_port, timeout=30, workdir=work / "uas")
        res = sipp.run_sipp(scenario, kam_port, inf=[(sim_id, prefix, pause_ms)], call_id_prefix=prefix,
                            timeout=20, workdir=work / "uac")
        if not res.ok:
            raise RuntimeError(f"SIPp call through Kamailio failed: {res.describe()}\n{kam.log_text()[-3000:]}")
        time.sleep(0.5)
    finally:
        if uas is not None:
            uas.kill()
        kam.stop()
        coll.close()
    dgs = list(coll.datagrams)
    if out is not None:
        version = subprocess.run([KAMAILIO, "-v"], capture_output=True, timeout=10).stdout.decode().splitlines()[0]
        save_fixture(out, dgs, comment=(
            f"HEP v3 datagrams captured from {version} siptrace (hep_version 3, hep_capture_id 4711),\n"
            f"one SIPp {scenario} call (Call-ID {sipp.call_id(prefix, 1)}, X-Simulation-Result-Id {sim_id})\n"
            f"through Kamailio to a SIPp UAS, all on 127.0.0.1. One datagram per line, hex, in arrival order.\n"
            f"Recorded by: python3 Tests/integration/hep.py capture <this file>"))
    return dgs


def main(argv: Optional[list[str]] = None) -> int:
    import argparse
    import sys
    sys.path.insert(0, str(HERE))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("decode")
    d.add_argument("file")
    c = sub.add_parser("capture")
    c.add_argument("out")
    c.add_argument("--scenario", default="uac-basic.xml")
    c.add_argument("--sim-id", default="sim-hep-fixture-1")
    c.add_argument("--prefix", default="hepfx")
    a = ap.parse_args(argv)
    if a.cmd == "decode":
        for i, dg in enumerate(load_fixture(a.file)):
            p = decode_hep(dg)
            first = (p.get("payload") or b"").split(b"\r\n", 1)[0].decode(errors="replace")
            print(f"{i:2d} {len(dg):5d}B id={p.get('capture_id')} proto={p.get('proto_type')} "
                  f"{p.get('src')}:{p.get('sport')} -> {p.get('dst')}:{p.get('dport')} {first}")
    else:
        dgs = capture_kamailio_call(a.out, scenario=a.scenario, sim_id=a.sim_id, prefix=a.prefix)
        print(f"{len(dgs)} datagrams saved to {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
