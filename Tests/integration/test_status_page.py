"""GET / (the HTML status page) in a real headless Chromium: the active call,
the outbox counts and the latest evaluation are on the rendered page, it
refreshes itself, and a screenshot of it is not blank.

Chromium comes from Debian's ``chromium`` package (scripts/install-deps); env
``CHROMIUM_BIN`` overrides. It runs as root here, hence ``--no-sandbox``. The
admin routes answer loopback peers without a token, and Chromium connects
from 127.0.0.1.
"""
from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import time
import zlib
from html.parser import HTMLParser
from pathlib import Path
from typing import Optional

import pytest

import agent as A
import webhook_bodies as W
from sipp import call_id

pytestmark = pytest.mark.sidecar

GOAL_WORDS = ("true", "yes", "✓", "✔", "success", "pass", "achieved", "met")
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


# --- chromium ---------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def chromium() -> str:
    b = os.environ.get("CHROMIUM_BIN") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not b:
        msg = "chromium not found (apt-get install chromium, see scripts/install-deps; or set CHROMIUM_BIN)"
        if os.environ.get("BLUEJAY_INTEGRATION_SKIP_MISSING") == "1":
            pytest.skip(msg)
        pytest.fail(msg)
    return b


def run_chromium(binary: str, profile: Path, *args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    cmd = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
           "--no-default-browser-check", "--disable-extensions", f"--user-data-dir={profile}", *args]
    return subprocess.run(cmd, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)


# --- DOM ------------------------------------------------------------------------------------------

class _ById(HTMLParser):
    """Text (and inner tag names) of the elements with the given ids."""

    def __init__(self, ids: set[str]):
        super().__init__(convert_charrefs=True)
        self.ids = ids
        self.stack: list[tuple[str, Optional[str]]] = []   # (tag, id it opened) for open elements
        self.open: dict[str, int] = {}                       # id -> nesting level where it opened
        self.text: dict[str, list[str]] = {i: [] for i in ids}
        self.tags: dict[str, list[str]] = {i: [] for i in ids}
        self.found: set[str] = set()
        self.meta_refresh: Optional[str] = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "meta" and (a.get("http-equiv") or "").lower() == "refresh":
            self.meta_refresh = a.get("content") or ""
        for i in self.open:
            self.tags[i].append(tag)
        if tag in VOID:
            return
        el_id = a.get("id")
        if el_id in self.ids and el_id not in self.open:
            self.open[el_id] = len(self.stack)
            self.found.add(el_id)
        self.stack.append((tag, el_id if el_id in self.ids else None))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID and self.stack and self.stack[-1][0] == tag:
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        # pop to the matching open tag (tolerates unclosed children)
        for k in range(len(self.stack) - 1, -1, -1):
            if self.stack[k][0] == tag:
                for _, el_id in self.stack[k:]:
                    if el_id is not None and self.open.get(el_id, -1) >= k:
                        self.open.pop(el_id, None)
                del self.stack[k:]
                break

    def handle_data(self, data):
        for i in self.open:
            self.text[i].append(data)


def texts_by_id(html: str, ids: set[str]) -> tuple[dict[str, str], _ById]:
    p = _ById(ids)
    p.feed(html)
    p.close()
    return {i: re.sub(r"\s+", " ", " ".join(p.text[i])).strip() for i in ids}, p


# --- PNG ------------------------------------------------------------------------------------------

def png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Decode an 8-bit RGB/RGBA, non-interlaced PNG -> (width, height, rows of raw pixel bytes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        chunk = data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
        elif kind == b"IEND":
            break
    assert ihdr is not None, "PNG without IHDR"
    w, h, depth, ctype, _, _, interlace = ihdr
    assert depth == 8 and ctype in (2, 6) and interlace == 0, f"unsupported PNG {ihdr}"
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(idat)
    stride = w * bpp
    rows: list[bytes] = []
    prev = bytearray(stride)
    i = 0
    for _ in range(h):
        ftype = raw[i]
        line = bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if ftype == 1:
                line[x] = (line[x] + a) & 0xFF
            elif ftype == 2:
                line[x] = (line[x] + b) & 0xFF
            elif ftype == 3:
                line[x] = (line[x] + ((a + b) >> 1)) & 0xFF
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[x] = (line[x] + pr) & 0xFF
        rows.append(bytes(line))
        prev = line
    return w, h, [bytes(r) for r in rows] if bpp == 3 else [bytes(_rgb(r)) for r in rows]


def _rgb(row: bytes) -> bytearray:
    out = bytearray()
    for k in range(0, len(row), 4):
        out += row[k:k + 3]
    return out


# --- the test ---------------------------------------------------------------------------------------

@pytest.mark.timeout(60)
def test_status_page_in_headless_chromium(chromium, sidecar, standin, admin, agent_factory, start_sipp,
                                          run_sipp, unique, tmp_path):
    # history: 2 delivered, 1 dead letter; one call still up; one evaluation
    prefix = unique("page")
    standin.reject_ids({"7903"})
    res = start_sipp("uac-basic.xml", sidecar.sip_port, transport="u1", calls=3, rate=20,
                     inf=[(s, prefix, 100) for s in ("7901", "7902", "7903")], call_id_prefix=prefix,
                     timeout=20).wait()
    assert res.ok, res.describe()
    up_prefix = unique("pageUp")
    up_cid = call_id(up_prefix, 1)
    first = run_sipp("uac-invite-only.xml", sidecar.sip_port, transport="u1", calls=1,
                     inf=[("7904", up_prefix, 0)], call_id_prefix=up_prefix, timeout=15)
    assert first.ok, first.describe()
    client = agent_factory(sidecar)
    client.wait_state(call_id=up_cid, timeout=10)
    assert client.request(A.tool_call("on_page", {"x": 1}, "ok", call_id=up_cid, start_offset_ms=1))["ok"]
    admin.webhook_ok(W.simulation_result_evaluated(7901, goal_success=True, hallucination=False,
                                                   p50=412.0, p90=880.0))
    admin.wait_outbox(lambda o: o["counts"].get("delivered") == 2 and o["counts"].get("dead") == 1,
                      what="2 delivered, 1 dead")

    # the raw page: HTML that refreshes itself
    r = admin.get("/")
    assert r.status == 200, r.describe()
    assert r.headers.get("content-type", "").startswith("text/html"), r.headers
    _, raw = texts_by_id(r.text, set())
    refreshes = raw.meta_refresh is not None or re.search(
        r"<script[^>]*>[^<]*(setInterval|setTimeout|location\.reload|fetch\()", r.text, re.S)
    assert refreshes, "the page neither has <meta http-equiv=refresh> nor a refreshing script"
    if raw.meta_refresh is not None:
        m = re.match(r"\s*(\d+)", raw.meta_refresh)
        assert m and 1 <= int(m.group(1)) <= 30, f"refresh every {raw.meta_refresh!r}"

    # the rendered DOM
    url = sidecar.http_url + "/"
    t0 = time.monotonic()
    p = run_chromium(chromium, tmp_path / "profile-dom", "--dump-dom", url)
    dom_s = time.monotonic() - t0
    dom = p.stdout.decode("utf-8", "replace")
    assert p.returncode == 0 and "<html" in dom.lower(), \
        f"chromium --dump-dom failed (rc {p.returncode}):\n{p.stderr.decode(errors='replace')[-3000:]}"
    text, parsed = texts_by_id(dom, {"calls", "outbox", "results"})
    missing = {"calls", "outbox", "results"} - parsed.found
    assert not missing, f"no element with id {sorted(missing)} in the rendered page:\n{dom[:3000]}"
    assert up_cid in text["calls"], f"active call {up_cid} not in #calls: {text['calls']!r}"
    ob = text["outbox"].lower()
    assert "dead" in ob and "delivered" in ob, f"#outbox: {text['outbox']!r}"
    nums = {int(n) for n in re.findall(r"\b\d+\b", ob)}
    assert {1, 2} <= nums, f"#outbox should show 2 delivered and 1 dead: {text['outbox']!r}"
    rs = text["results"]
    assert "7901" in rs, f"evaluation 7901 not in #results: {rs!r}"
    assert re.search(r"\b412(\.0+)?\b", rs), f"p50 latency 412 not in #results: {rs!r}"
    assert any(w in rs.lower() for w in GOAL_WORDS), f"goal success not shown in #results: {rs!r}"

    # a screenshot that is not blank
    shot = tmp_path / "status.png"
    t0 = time.monotonic()
    p = run_chromium(chromium, tmp_path / "profile-shot", f"--screenshot={shot}", "--window-size=1280,900",
                     "--hide-scrollbars", url)
    shot_s = time.monotonic() - t0
    assert shot.is_file(), f"no screenshot (rc {p.returncode}):\n{p.stderr.decode(errors='replace')[-3000:]}"
    data = shot.read_bytes()
    assert len(data) > 4000, f"screenshot only {len(data)} bytes"
    w, h, rows = png_pixels(data)
    assert (w, h) == (1280, 900), (w, h)
    colours: dict[bytes, int] = {}
    for row in rows[::3]:
        for x in range(0, len(row), 9):
            px = row[x:x + 3]
            colours[px] = colours.get(px, 0) + 1
    total = sum(colours.values())
    background = max(colours.values())
    assert len(colours) >= 4, f"screenshot has only {len(colours)} colours"
    assert total - background >= total * 0.005, \
        f"screenshot is {100 * background / total:.2f}% one colour: blank page?"
    keep = os.environ.get("BLUEJAY_STATUS_SCREENSHOT")
    if keep:
        shutil.copy(shot, keep)
    print(f"chromium: dump-dom {dom_s:.2f}s, screenshot {shot_s:.2f}s, {len(data)} bytes, {len(colours)} colours")
    sidecar.kill9()   # a call is still up: skip the SIGTERM drain (--drain-timeout, 30 s) at teardown
