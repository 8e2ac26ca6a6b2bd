"""A small HTTP client for the sidecar's HTTP listener (``--http``): health,
webhooks, the admin API (``/v1/...``), ``/metrics`` and the status page.

Every request has a timeout and never raises on an HTTP error status: it
returns an :class:`HttpResponse` (status, headers, body) for the test to judge.

    c = AdminClient(sidecar.http_url, token=None)
    c.wait_healthy()
    r = c.webhook(body, secret="s3cret")          # POST /webhooks/events_webhook
    calls = c.get_json("/v1/calls")["calls"]
    m = c.metrics()                               # parsed with prometheus_client
    m.value("bluejay_sidecar_calls_total", outcome="bye")
"""
from __future__ import annotations

import http.client
import json
import select
import socket
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Union
from urllib.parse import quote, urlsplit

DEFAULT_TIMEOUT = 5.0
WEBHOOK_PATHS = ("/webhooks/events_webhook", "/webhooks/bluejay")


@dataclass
class HttpResponse:
    status: int
    headers: dict[str, str]          # lower-cased names
    body: bytes
    method: str = ""
    path: str = ""

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError as e:
            raise AssertionError(f"{self.method} {self.path} -> {self.status}: body is not JSON: "
                                 f"{self.body[:500]!r}") from e

    @property
    def error(self) -> Optional[str]:
        """``error`` of a JSON error body (``{"error": "...", ...}``; other keys such
        as ``message`` are allowed), else None."""
        try:
            j = json.loads(self.body)
        except ValueError:
            return None
        return j.get("error") if isinstance(j, dict) else None

    def is_error(self, status: int, error: str) -> bool:
        return self.status == status and self.error == error

    def describe(self) -> str:
        return f"{self.method} {self.path} -> {self.status} {self.body[:800]!r}"


class AdminClient:
    def __init__(self, base_url: str, token: Optional[str] = None, timeout: float = DEFAULT_TIMEOUT):
        u = urlsplit(base_url)
        self.base_url = base_url.rstrip("/")
        self.host = u.hostname or "127.0.0.1"
        self.port = u.port or 80
        self.token = token
        self.timeout = timeout

    # --- raw ------------------------------------------------------------------
    def request(self, method: str, path: str, body: Union[None, bytes, str, dict, list] = None,
                headers: Optional[dict] = None, token: Union[None, str, bool] = None,
                timeout: Optional[float] = None) -> HttpResponse:
        """``token``: None -> the client's token; False -> no Authorization header;
        a string -> that token."""
        hdrs = {"Connection": "close"}
        tok = self.token if token is None else (None if token is False else token)
        if tok:
            hdrs["Authorization"] = f"Bearer {tok}"
        data: Optional[bytes]
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        elif isinstance(body, str):
            data = body.encode()
        else:
            data = body
        if data is not None:
            hdrs.setdefault("Content-Type", "application/json")
        hdrs.update(headers or {})
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout or self.timeout)
        try:
            conn.request(method, path, body=data, headers=hdrs)
            resp = conn.getresponse()
            raw = resp.read()
            return HttpResponse(resp.status, {k.lower(): v for k, v in resp.getheaders()}, raw,
                                method, path)
        finally:
            conn.close()

    def get(self, path: str, **kw: Any) -> HttpResponse:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Union[None, bytes, str, dict, list] = None, **kw: Any) -> HttpResponse:
        return self.request("POST", path, body=body, **kw)

    def get_json(self, path: str, status: int = 200, **kw: Any) -> Any:
        """GET, assert the status and a JSON Content-Type, return the parsed body."""
        r = self.get(path, **kw)
        assert r.status == status, f"want {status}: {r.describe()}"
        ctype = r.headers.get("content-type", "")
        assert "json" in ctype, f"{path}: Content-Type {ctype!r} is not JSON"
        return r.json()

    # --- health -----------------------------------------------------------------
    def wait_healthy(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        last: Any = None
        while True:
            try:
                r = self.get("/healthz", token=False, timeout=1.0)
                if r.status == 200:
                    return
                last = r.describe()
            except OSError as e:
                last = e
            if time.monotonic() >= deadline:
                raise AssertionError(f"GET {self.base_url}/healthz not 200 within {timeout}s: {last}")
            time.sleep(0.05)

    # --- webhooks ---------------------------------------------------------------
    def webhook(self, body: Union[bytes, str, dict, list], secret: Optional[str] = None,
                path: str = WEBHOOK_PATHS[0], headers: Optional[dict] = None) -> HttpResponse:
        """POST a Bluejay events-webhook body (``x-webhook-secret`` when given). No admin token."""
        hdrs = dict(headers or {})
        if secret is not None:
            hdrs["x-webhook-secret"] = secret
        return self.post(path, body, headers=hdrs, token=False)

    def webhook_ok(self, body: Union[dict, bytes], secret: Optional[str] = None,
                   want: str = "received", **kw: Any) -> HttpResponse:
        r = self.webhook(body, secret=secret, **kw)
        assert r.status == 200, f"webhook {_type_of(body)} refused: {r.describe()}"
        assert r.json() == {"status": want}, f"webhook {_type_of(body)}: {r.describe()}"
        return r

    # --- admin API ----------------------------------------------------------------
    def calls(self) -> list[dict]:
        return self.get_json("/v1/calls")["calls"]

    @staticmethod
    def call_path(call_id: str, strict: bool = False) -> str:
        """``/v1/calls/<Call-ID>`` percent-encoded; '@' (legal in a path segment) is
        kept unless ``strict`` (then every reserved character is encoded, '@' -> %40)."""
        return "/v1/calls/" + quote(call_id, safe="" if strict else "@")

    def call(self, call_id: str, status: int = 200, strict: bool = False) -> dict:
        return self.get_json(self.call_path(call_id, strict), status=status)

    def outbox(self) -> dict:
        return self.get_json("/v1/outbox")

    def retry(self, item_id: Union[int, str]) -> HttpResponse:
        return self.post(f"/v1/outbox/{item_id}/retry")

    def results(self) -> list[dict]:
        return self.get_json("/v1/results")["results"]

    def result(self, rid: Union[int, str], status: int = 200) -> dict:
        return self.get_json(f"/v1/results/{quote(str(rid), safe='')}", status=status)

    def metrics_text(self) -> str:
        r = self.get("/metrics")
        assert r.status == 200, r.describe()
        return r.text

    def metrics(self) -> "Metrics":
        return Metrics.parse(self.metrics_text())

    # --- polling ------------------------------------------------------------------
    def wait_until(self, probe: Callable[[], Any], timeout: float = 10.0, what: str = "condition",
                   interval: float = 0.1) -> Any:
        """Call ``probe()`` until it returns something truthy (returned); bounded."""
        deadline = time.monotonic() + timeout
        last: Any = None
        while True:
            try:
                v = probe()
                if v:
                    return v
                last = v
            except AssertionError as e:
                last = e
            if time.monotonic() >= deadline:
                raise AssertionError(f"{what} not reached within {timeout}s; last: {last!r}"[:3000])
            time.sleep(interval)

    def wait_call(self, call_id: str, pred: Callable[[dict], bool], timeout: float = 10.0,
                  what: str = "") -> dict:
        def probe() -> Optional[dict]:
            r = self.get(self.call_path(call_id))
            if r.status != 200:
                return None
            d = r.json()
            return d if pred(d) else None
        return self.wait_until(probe, timeout, what or f"call {call_id}")

    def wait_outbox(self, pred: Callable[[dict], bool], timeout: float = 10.0, what: str = "outbox") -> dict:
        def probe() -> Optional[dict]:
            d = self.outbox()
            return d if pred(d) else None
        try:
            return self.wait_until(probe, timeout, what)
        except AssertionError as e:
            raise AssertionError(f"{e}\noutbox now: {json.dumps(self.outbox())[:2000]}") from None


def _type_of(body: Any) -> str:
    return body.get("type", "?") if isinstance(body, dict) else "raw"


# --- sending a body larger than the server wants ---------------------------------------

def post_oversize(host: str, port: int, path: str, total_len: int, *, prefix: bytes = b'{"type":"x","pad":"',
                  headers: Optional[dict] = None, timeout: float = 15.0) -> HttpResponse:
    """POST a body of exactly ``total_len`` bytes (valid JSON if fully sent) while
    watching for an early answer: a server may answer 413 before reading it all
    and close. Returns the response (status 0 if none could be read)."""
    suffix = b'"}'
    hdr_lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", "Content-Type: application/json",
                 f"Content-Length: {total_len}", "Connection: close"]
    hdr_lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    head = ("\r\n".join(hdr_lines) + "\r\n\r\n").encode()
    pad_len = total_len - len(prefix) - len(suffix)
    assert pad_len >= 0
    s = socket.create_connection((host, port), timeout=timeout)
    deadline = time.monotonic() + timeout
    received = b""
    try:
        s.sendall(head)

        def body_iter():
            yield prefix
            chunk = b"x" * 65536
            left = pad_len
            while left > 0:
                n = min(left, len(chunk))
                left -= n
                yield chunk[:n]
            yield suffix

        it = body_iter()
        pending = b""
        while time.monotonic() < deadline:
            if not pending:
                pending = next(it, b"")
                if not pending:
                    break  # all sent
            r, w, _ = select.select([s], [s], [], 0.5)
            if r:
                break  # the server answered (or closed) early
            if w:
                try:
                    n = s.send(pending)
                    pending = pending[n:]
                except (BrokenPipeError, ConnectionResetError):
                    break
        s.settimeout(max(0.5, deadline - time.monotonic()))
        while True:
            try:
                data = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not data:
                break
            received += data
            if _complete(received):
                break
    finally:
        s.close()
    return _parse_response(received, "POST", path)


def _complete(raw: bytes) -> bool:
    if b"\r\n\r\n" not in raw:
        return False
    head, rest = raw.split(b"\r\n\r\n", 1)
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            return len(rest) >= int(v.strip() or 0)
    return False


def _parse_response(raw: bytes, method: str, path: str) -> HttpResponse:
    if not raw.startswith(b"HTTP/"):
        return HttpResponse(0, {}, raw, method, path)
    head, _, rest = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    try:
        status = int(lines[0].split()[1])
    except (IndexError, ValueError):
        status = 0
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(b":")
        headers[k.strip().lower().decode("latin-1")] = v.strip().decode("latin-1")
    n = headers.get("content-length")
    body = rest[: int(n)] if n and n.isdigit() else rest
    return HttpResponse(status, headers, body, method, path)


# --- Prometheus text format ------------------------------------------------------------

@dataclass
class Sample:
    name: str
    labels: dict[str, str]
    value: float


@dataclass
class Metrics:
    """Samples of one scrape, parsed with prometheus_client's own parser."""
    text: str
    families: dict[str, Any] = field(default_factory=dict)   # family name -> Metric
    samples: list[Sample] = field(default_factory=list)

    @classmethod
    def parse(cls, text: str) -> "Metrics":
        try:
            from prometheus_client.parser import text_string_to_metric_families
        except ImportError as e:  # pragma: no cover - depends on the machine
            raise AssertionError("python package prometheus-client is missing "
                                 "(scripts/install-deps installs it)") from e
        m = cls(text)
        for fam in text_string_to_metric_families(text):
            m.families[fam.name] = fam
            for s in fam.samples:
                m.samples.append(Sample(s.name, dict(s.labels), float(s.value)))
        return m

    def find(self, name: str, **labels: str) -> list[Sample]:
        return [s for s in self.samples if s.name == name
                and all(s.labels.get(k) == v for k, v in labels.items())]

    def value(self, name: str, default: Optional[float] = None, **labels: str) -> Optional[float]:
        """The one sample ``name`` whose labels include ``labels`` (None/default if absent;
        an error if several match)."""
        found = self.find(name, **labels)
        if not found:
            return default
        assert len(found) == 1, f"{name}{labels} matches {len(found)} samples: {found}"
        return found[0].value

    def total(self, name: str, **labels: str) -> float:
        """Sum over every sample ``name`` whose labels include ``labels`` (0 if none)."""
        return sum(s.value for s in self.find(name, **labels))

    def type_of(self, family: str) -> Optional[str]:
        f = self.families.get(family)
        return None if f is None else f.type

    def names(self) -> set[str]:
        return {s.name for s in self.samples}

    def describe(self, prefix: str = "bluejay_sidecar_") -> str:
        return "\n".join(f"{s.name}{s.labels} {s.value}" for s in self.samples if s.name.startswith(prefix))
