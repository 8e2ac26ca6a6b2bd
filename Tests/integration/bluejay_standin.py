#!/usr/bin/env python3
"""A stand-in for Bluejay's API, for the sidecar's end-to-end tests.

Serves ``POST /v1/update-simulation-result`` on 127.0.0.1 (HTTP/1.1, keep-alive,
every response with a Content-Length). Every body is validated against
``update-simulation-result.request.schema.json`` (JSON Schema 2020-12) from the
shared Bluejay reference dir (env ``BLUEJAY_SHARED_DIR``, else
``<repo>/../shared/bluejay``); an invalid body gets a 422 shaped like the real
API's (``{"detail":[{"loc":..,"msg":..,"type":..}]}``) and is recorded as a
failure, so a test can assert ``standin.problems == []``.

Per-test behaviour (all thread-safe):
  * default: 200 ``{"status":"success","message":null}``
  * ``reject_ids({...})``: 422 for those simulation_result_ids (after validation)
  * ``fail_next(n, status=503, retry_after=None)``: the next n requests fail
  * ``fail_all(status=503, retry_after=None)`` / ``clear_failures()``
  * ``hang_next(n, seconds=5)``: the next n requests get no answer; the
    connection is dropped after ``seconds`` (bounded, and cut short by stop()).
  * ``outage(kind)`` / ``end_outage()``: an outage of any length, until ended:
    ``"503"`` (or any status text) answers that status, ``"hang"`` reads the
    request and never answers (the connection is dropped when the outage ends),
    ``"reset"`` reads the request and closes the TCP connection abruptly (RST).

In-process use (pytest)::

    s = BluejayStandin(api_key="k").start()
    ... s.url ...
    s.wait_for(3, timeout=10, status=200)
    s.stop()

Manual use::

    python3 bluejay_standin.py --port 8099 --schema-dir ../../../shared/bluejay --api-key KEY
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import struct
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

import jsonschema

ENDPOINT = "/v1/update-simulation-result"
SCHEMA_FILE = "update-simulation-result.request.schema.json"
HANG_BOUND_S = 30.0  # no hang lasts longer than this, whatever a test asks
MAX_BODY = 64 * 1024 * 1024

_HERE = Path(__file__).resolve().parent
REPO_ROOT = _HERE.parent.parent


def shared_dir() -> Path:
    env = os.environ.get("BLUEJAY_SHARED_DIR")
    return Path(env) if env else (REPO_ROOT.parent / "shared" / "bluejay")


def load_validator(schema_dir: Optional[os.PathLike] = None) -> jsonschema.protocols.Validator:
    d = Path(schema_dir) if schema_dir else shared_dir()
    path = d / SCHEMA_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"Bluejay request schema not found at {path} "
            f"(set BLUEJAY_SHARED_DIR to the folder holding {SCHEMA_FILE})"
        )
    schema = json.loads(path.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _deepest(err: jsonschema.ValidationError) -> jsonschema.ValidationError:
    """For anyOf/oneOf errors, the sub-error deepest in the instance (the
    array-branch failure, not "is not of type 'null'")."""
    best = err
    stack = list(err.context or [])
    while stack:
        e = stack.pop()
        if len(e.absolute_path) > len(best.absolute_path):
            best = e
        stack.extend(e.context or [])
    return best


@dataclass
class Recorded:
    """One request as the stand-in saw it."""
    seq: int
    time: float              # time.monotonic() on arrival
    wall_time: float         # time.time() on arrival
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names; repeated headers joined with ", "
    raw_body: bytes
    body: Any = None         # parsed JSON, or None
    status: Optional[int] = None   # what we answered; None while pending / when hung up
    outcome: str = "pending"       # ok | rejected | failed | hung | reset | invalid | unauthorized | not_found
    problems: list[str] = field(default_factory=list)
    connection_id: int = 0   # same id => same TCP connection (keep-alive)

    @property
    def simulation_result_id(self) -> Optional[str]:
        if isinstance(self.body, dict):
            v = self.body.get("simulation_result_id")
            return v if isinstance(v, str) else None
        return None


@dataclass
class Failure:
    kind: str        # schema | json | content_type | auth | method | path
    seq: int
    message: str
    details: Any = None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "bluejay-standin/1"
    sys_version = ""

    def version_string(self) -> str:
        return self.server_version

    # set per server instance through a subclass (see BluejayStandin.start)
    standin: "BluejayStandin"

    def log_message(self, fmt: str, *args: Any) -> None:  # quiet unless verbose
        if self.standin.verbose:
            sys.stderr.write("standin: " + (fmt % args) + "\n")

    def setup(self) -> None:
        super().setup()
        self._conn_id = self.standin._next_conn_id()

    # --- helpers -----------------------------------------------------------
    def _send_json(self, status: int, obj: Any, extra_headers: Optional[dict] = None) -> None:
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra_headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _read_body(self) -> bytes:
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            chunks = []
            total = 0
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    # trailers until blank line
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                total += size
                if total > MAX_BODY:
                    raise ValueError("body too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline(3)
            return b"".join(chunks)
        n = int(self.headers.get("Content-Length") or 0)
        if n > MAX_BODY:
            raise ValueError("body too large")
        return self.rfile.read(n) if n > 0 else b""

    # --- verbs -------------------------------------------------------------
    def do_POST(self) -> None:
        self._handle("POST")

    def do_GET(self) -> None:
        self._handle("GET")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def _handle(self, method: str) -> None:
        s = self.standin
        try:
            raw = self._read_body()
        except Exception as e:  # malformed framing: answer and close
            self.close_connection = True
            self._send_json(400, {"detail": f"bad request framing: {e}"})
            return
        headers: dict[str, str] = {}
        for k, v in self.headers.items():
            lk = k.lower()
            headers[lk] = f"{headers[lk]}, {v}" if lk in headers else v
        rec = s._record(method, self.path, headers, raw, self._conn_id)

        if self.path.split("?", 1)[0] != ENDPOINT:
            s._fail(rec, "path", f"unexpected path {self.path}")
            rec.outcome = "not_found"
            rec.status = 404
            self._send_json(404, {"detail": "Not Found"})
            return
        if method != "POST":
            s._fail(rec, "method", f"unexpected method {method}")
            rec.outcome = "failed"
            rec.status = 405
            self._send_json(405, {"detail": "Method Not Allowed"})
            return

        # Validate everything first, whatever we answer afterwards.
        auth_ok = headers.get("x-api-key") == s.api_key
        if not auth_ok:
            s._fail(rec, "auth", "missing or wrong X-API-Key")
        ctype = headers.get("content-type", "")
        ctype_ok = ctype.split(";", 1)[0].strip().lower() == "application/json"
        if not ctype_ok:
            s._fail(rec, "content_type", f"Content-Type is {ctype!r}, not application/json")
        detail: list[dict] = []
        try:
            rec.body = json.loads(raw.decode("utf-8"))
        except Exception as e:
            s._fail(rec, "json", f"body is not JSON: {e}")
            detail.append({"loc": ["body"], "msg": "JSON decode error", "type": "json_invalid"})
        else:
            errors = sorted(s.validator.iter_errors(rec.body), key=lambda e: list(e.absolute_path))
            for err in errors:
                err = _deepest(err)
                loc = ["body", *list(err.absolute_path)]
                detail.append({"loc": loc, "msg": err.message, "type": err.validator or "value_error"})
            if errors:
                s._fail(rec, "schema", "; ".join(f"{d['loc']}: {d['msg']}" for d in detail), detail)

        action, arg = s._take_action(rec)
        if action == "reset":
            rec.outcome = "reset"
            s._notify(rec)
            self.close_connection = True
            try:  # SO_LINGER 0: close() sends RST instead of FIN
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()
            except OSError:
                pass
            return
        if action == "hang_outage":
            rec.outcome = "hung"
            s._notify(rec)
            s._hang_until_outage_ends()
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if action == "hang":
            rec.outcome = "hung"
            s._hang(arg)
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s._notify(rec)
            return
        if not auth_ok:
            rec.status, rec.outcome = 401, "unauthorized"
            s._notify(rec)
            self._send_json(401, {"detail": "Invalid or missing API key"})
            return
        if action == "fail":
            status, retry_after = arg
            rec.status, rec.outcome = status, "failed"
            s._notify(rec)
            extra = {"Retry-After": str(retry_after)} if retry_after is not None else None
            self._send_json(status, {"detail": "Service Unavailable (stand-in)"}, extra)
            return
        if detail or not ctype_ok:
            if not ctype_ok and not detail:
                detail.append({"loc": ["body"], "msg": "Content-Type must be application/json", "type": "model_attributes_type"})
            rec.status, rec.outcome = 422, "invalid"
            s._notify(rec)
            self._send_json(422, {"detail": detail})
            return
        if rec.simulation_result_id in s._rejected_ids():
            rec.status, rec.outcome = 422, "rejected"
            s._notify(rec)
            self._send_json(422, {"detail": [{
                "loc": ["body", "simulation_result_id"],
                "msg": "Simulation result not found (stand-in rejection)",
                "type": "value_error"}]})
            return
        rec.status, rec.outcome = 200, "ok"
        s._notify(rec)
        self._send_json(200, {"status": "success", "message": None})


class BluejayStandin:
    def __init__(self, api_key: str = "test-api-key", schema_dir: Optional[os.PathLike] = None,
                 host: str = "127.0.0.1", port: int = 0, verbose: bool = False,
                 on_request: Optional[Callable[[Recorded], None]] = None):
        self.api_key = api_key
        self.validator = load_validator(schema_dir)
        self.host = host
        self.port = port
        self.verbose = verbose
        self.on_request = on_request
        self._lock = threading.Condition()
        self._requests: list[Recorded] = []
        self._failures: list[Failure] = []
        self._reject: set[str] = set()
        self._fail_next = 0
        self._fail_next_arg: tuple[int, Optional[int]] = (503, None)
        self._fail_all: Optional[tuple[int, Optional[int]]] = None
        self._hang_next = 0
        self._hang_seconds = 5.0
        self._outage: Optional[str] = None
        self._outage_over = threading.Event()
        self._stopping = threading.Event()
        self._conn_seq = 0
        self._server: Optional[ThreadingHTTPServer] = None
        self._thread: Optional[threading.Thread] = None

    # --- lifecycle ---------------------------------------------------------
    def start(self) -> "BluejayStandin":
        handler = type("BoundHandler", (_Handler,), {"standin": self})
        srv = ThreadingHTTPServer((self.host, self.port), handler)
        srv.daemon_threads = True
        srv.block_on_close = False
        self._server = srv
        self.port = srv.server_address[1]
        self._stopping.clear()
        self._thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"bluejay-standin:{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening (the port is freed; restart with start() to reuse it)."""
        self._stopping.set()
        with self._lock:
            self._lock.notify_all()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> "BluejayStandin":
        return self.start() if self._server is None else self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._server is not None

    # --- behaviour ---------------------------------------------------------
    def reject_ids(self, ids: Iterable[str]) -> None:
        with self._lock:
            self._reject = set(ids)

    def fail_next(self, n: int, status: int = 503, retry_after: Optional[int] = None) -> None:
        with self._lock:
            self._fail_next = n
            self._fail_next_arg = (status, retry_after)

    def fail_all(self, status: int = 503, retry_after: Optional[int] = None) -> None:
        with self._lock:
            self._fail_all = (status, retry_after)

    def clear_failures(self) -> None:
        with self._lock:
            self._fail_all = None
            self._fail_next = 0

    def hang_next(self, n: int, seconds: float = 5.0) -> None:
        with self._lock:
            self._hang_next = n
            self._hang_seconds = min(float(seconds), HANG_BOUND_S)

    def outage(self, kind: str) -> None:
        """Start (or switch) an outage: "503" (any status text), "hang" or "reset" (see the module doc)."""
        if kind not in ("hang", "reset") and not kind.isdigit():
            raise ValueError(f"unknown outage kind {kind!r}")
        with self._lock:
            if self._outage == "hang" and kind != "hang":
                self._outage_over.set()  # requests hanging so far are let go
            if kind == "hang":
                self._outage_over = threading.Event()
            self._outage = kind

    def end_outage(self) -> None:
        with self._lock:
            self._outage = None
            self._outage_over.set()

    def reset(self) -> None:
        """Back to plain 200s and forget everything recorded."""
        with self._lock:
            self._reject = set()
            self._fail_next = 0
            self._fail_all = None
            self._hang_next = 0
            self._outage = None
            self._outage_over.set()
            self._requests.clear()
            self._failures.clear()

    # --- records -----------------------------------------------------------
    @property
    def requests(self) -> list[Recorded]:
        with self._lock:
            return list(self._requests)

    @property
    def failures(self) -> list[Failure]:
        """Everything wrong with what the sidecar sent (any kind)."""
        with self._lock:
            return list(self._failures)

    @property
    def problems(self) -> list[str]:
        return [f"#{f.seq} {f.kind}: {f.message}" for f in self.failures]

    @property
    def schema_failures(self) -> list[Failure]:
        return [f for f in self.failures if f.kind in ("schema", "json")]

    @property
    def auth_failures(self) -> list[Failure]:
        return [f for f in self.failures if f.kind == "auth"]

    def delivered(self) -> list[Recorded]:
        """Requests answered 200."""
        return [r for r in self.requests if r.status == 200]

    def delivered_bodies(self) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {}
        for r in self.delivered():
            out.setdefault(r.simulation_result_id or "", []).append(r.body)
        return out

    def requests_for(self, sim_id: str) -> list[Recorded]:
        return [r for r in self.requests if r.simulation_result_id == sim_id]

    def wait_for(self, count: int, timeout: float = 10.0, status: Optional[int] = None,
                 predicate: Optional[Callable[[Recorded], bool]] = None) -> list[Recorded]:
        """Wait until at least ``count`` requests (answered with ``status`` /
        matching ``predicate`` when given) were recorded; return the matching
        ones. Raises TimeoutError with a summary otherwise."""
        def matching() -> list[Recorded]:
            out = []
            for r in self._requests:
                if status is not None and r.status != status:
                    continue
                if predicate is not None and not predicate(r):
                    continue
                out.append(r)
            return out
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                m = matching()
                if len(m) >= count:
                    return m
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"stand-in: wanted {count} request(s)"
                        f"{'' if status is None else f' answered {status}'}, got {len(m)} "
                        f"in {timeout}s; all requests: {self.summary_unlocked()}")
                self._lock.wait(min(left, 0.25))

    def wait_quiet(self, quiet_s: float = 1.0, timeout: float = 10.0) -> list[Recorded]:
        """Wait until no request arrived for ``quiet_s`` seconds (bounded)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                last = self._requests[-1].time if self._requests else 0.0
            now = time.monotonic()
            if now - last >= quiet_s:
                return self.requests
            if now >= deadline:
                raise TimeoutError(f"stand-in never went quiet for {quiet_s}s within {timeout}s")
            time.sleep(min(0.1, max(0.01, quiet_s - (now - last))))

    def summary_unlocked(self) -> str:
        return "[" + ", ".join(
            f"#{r.seq} {r.simulation_result_id}->{r.status}/{r.outcome}" for r in self._requests) + "]"

    def summary(self) -> str:
        with self._lock:
            return self.summary_unlocked()

    # --- internals (called from handler threads) ---------------------------
    def _next_conn_id(self) -> int:
        with self._lock:
            self._conn_seq += 1
            return self._conn_seq

    def _record(self, method: str, path: str, headers: dict, raw: bytes, conn_id: int) -> Recorded:
        with self._lock:
            rec = Recorded(seq=len(self._requests) + 1, time=time.monotonic(), wall_time=time.time(),
                           method=method, path=path, headers=headers, raw_body=raw,
                           connection_id=conn_id)
            self._requests.append(rec)
            self._lock.notify_all()
        if self.verbose:
            sys.stderr.write(f"standin: #{rec.seq} {method} {path} {len(raw)} bytes\n")
        return rec

    def _fail(self, rec: Recorded, kind: str, message: str, details: Any = None) -> None:
        with self._lock:
            rec.problems.append(f"{kind}: {message}")
            self._failures.append(Failure(kind, rec.seq, message, details))

    def _take_action(self, rec: Recorded) -> tuple[str, Any]:
        with self._lock:
            if self._hang_next > 0:
                self._hang_next -= 1
                return "hang", self._hang_seconds
            if self._outage == "hang":
                return "hang_outage", None
            if self._outage == "reset":
                return "reset", None
            if self._outage is not None:
                return "fail", (int(self._outage), None)
            if self._fail_next > 0:
                self._fail_next -= 1
                return "fail", self._fail_next_arg
            if self._fail_all is not None:
                return "fail", self._fail_all
            return "answer", None

    def _rejected_ids(self) -> set[str]:
        with self._lock:
            return set(self._reject)

    def _hang_until_outage_ends(self) -> None:
        with self._lock:
            over = self._outage_over
        deadline = time.monotonic() + HANG_BOUND_S
        while not over.is_set() and not self._stopping.is_set() and time.monotonic() < deadline:
            over.wait(0.1)

    def _hang(self, seconds: float) -> None:
        self._stopping.wait(timeout=min(seconds, HANG_BOUND_S))

    def _notify(self, rec: Recorded) -> None:
        with self._lock:
            self._lock.notify_all()
        if self.on_request is not None:
            try:
                self.on_request(rec)
            except Exception:
                pass


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--schema-dir", default=None, help="folder with " + SCHEMA_FILE)
    ap.add_argument("--api-key", default=os.environ.get("BLUEJAY_API_KEY", "test-api-key"))
    ap.add_argument("--reject", action="append", default=[], help="answer 422 for this simulation_result_id")
    ap.add_argument("--fail-next", type=int, default=0, help="answer --fail-status to the next N requests")
    ap.add_argument("--fail-status", type=int, default=503)
    ap.add_argument("--retry-after", type=int, default=None)
    ap.add_argument("--hang-next", type=int, default=0)
    ap.add_argument("--hang-seconds", type=float, default=5.0)
    args = ap.parse_args(argv)

    def show(r: Recorded) -> None:
        body = json.dumps(r.body, indent=2) if r.body is not None else r.raw_body[:2000]
        print(f"--- #{r.seq} {r.method} {r.path} -> {r.status} {r.outcome}"
              f"{'  PROBLEMS: ' + '; '.join(r.problems) if r.problems else ''}\n{body}", flush=True)

    s = BluejayStandin(api_key=args.api_key, schema_dir=args.schema_dir, port=args.port,
                       verbose=False, on_request=show)
    s.reject_ids(args.reject)
    if args.fail_next:
        s.fail_next(args.fail_next, args.fail_status, args.retry_after)
    if args.hang_next:
        s.hang_next(args.hang_next, args.hang_seconds)
    s.start()
    print(f"bluejay stand-in listening on {s.url}{ENDPOINT} (X-API-Key: {args.api_key})", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        s.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
