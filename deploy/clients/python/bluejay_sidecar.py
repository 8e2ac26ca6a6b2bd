"""Client for the bluejay-sidecar agent socket (standard library only, Python >= 3.9).

A voice agent records what it did during a call (tool calls, events, metadata,
tags, transcript lines) by writing JSON lines to the sidecar's Unix socket. The
sidecar makes each record durable, then sends one body per call to Bluejay.

This module keeps that off the agent's audio path:

* every method enqueues a line and returns at once (a ``concurrent.futures.Future``
  of the reply dict for :class:`SidecarClient`, an awaitable for
  :class:`AsyncSidecarClient`); a background thread owns the connection;
* while the sidecar is down or restarting, lines wait in a bounded local queue
  and the thread reconnects with exponential backoff. When the queue is full the
  *oldest* unsent record is dropped (its future resolves to
  ``{"ok": False, "error": "queue_full"}``) and a counted warning is logged;
  the caller is never blocked;
* an error reply is logged and returned as the future's result; nothing is
  ever raised into the agent.

Delivery is **at least once**. A line written but not yet acknowledged when the
connection dropped is written again after the reconnect. If the sidecar had
committed it before it went away, it then holds that record twice (Bluejay sees
a duplicate tool call or event). Records that were acknowledged ``ok`` are
durable and are never lost; records still in the local queue when the process
exits are lost, so call :meth:`SidecarClient.flush` or ``close()`` at the end of
a call if that matters.

The current call can be bound in a context variable (``with client.call(...)``)
so that decorated tool functions (``@client.tool()``) need no extra arguments.

Client-side error codes (besides the sidecar's own): ``queue_full`` (dropped
from the local queue), ``client_closed`` (still queued at ``close()``),
``no_call`` (no call named and none bound), ``bad_reply`` (unparseable reply).
"""
from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import contextvars
import datetime as _dt
import functools
import inspect
import json
import logging
import os
import random
import selectors
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Deque, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

__all__ = [
    "AsyncSidecarClient",
    "CallRef",
    "SidecarClient",
    "current_call",
    "default_socket_path",
    "record_tool",
]

log = logging.getLogger("bluejay_sidecar")

Reply = Dict[str, Any]
Timestamp = Union[str, float, int, _dt.datetime, None]

# Replies are paired with requests by order; this many may be unacknowledged on
# one connection (the rest wait locally, so a reconnect resends a bounded amount).
_WINDOW = 1024
_READ_CHUNK = 65536


# --- call references and the context variable ----------------------------------------------------


@dataclass(frozen=True)
class CallRef:
    """Names one call: by the SIP Call-ID, by Bluejay's simulation result id, or both."""

    call_id: Optional[str] = None
    simulation_result_id: Optional[str] = None

    def __post_init__(self) -> None:
        if not self.call_id and not self.simulation_result_id:
            raise ValueError("a call needs call_id or simulation_result_id")

    def fields(self) -> Dict[str, str]:
        out: Dict[str, str] = {}
        if self.call_id:
            out["call_id"] = self.call_id
        if self.simulation_result_id:
            out["simulation_result_id"] = self.simulation_result_id
        return out


_current: contextvars.ContextVar[Optional[CallRef]] = contextvars.ContextVar("bluejay_sidecar_call", default=None)


def current_call() -> Optional[CallRef]:
    """The call bound in this context (thread / asyncio task), if any."""
    return _current.get()


def _as_ref(value: Any) -> Optional[CallRef]:
    """Accepts what a ``call=`` hook may return: a CallRef, a mapping, a str (a call id) or None."""
    if value is None or isinstance(value, CallRef):
        return value
    if isinstance(value, str):
        return CallRef(call_id=value)
    if isinstance(value, Mapping):
        return CallRef(call_id=value.get("call_id"), simulation_result_id=value.get("simulation_result_id"))
    raise TypeError(f"cannot name a call with {type(value).__name__}")


def _resolve(call_id: Optional[str], simulation_result_id: Optional[str]) -> Optional[CallRef]:
    if call_id or simulation_result_id:
        return CallRef(call_id, simulation_result_id)
    return _current.get()


# --- JSON helpers ------------------------------------------------------------------------------


def json_safe(value: Any) -> Any:
    """``value`` as plain JSON data; anything ``json`` cannot encode becomes ``str(x)``."""
    return json.loads(json.dumps(value, default=str, ensure_ascii=False))


def _encode(obj: Mapping[str, Any]) -> bytes:
    return json.dumps(obj, default=str, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


def _rfc3339(ts: Timestamp) -> Optional[str]:
    """RFC 3339 in UTC with milliseconds; accepts a datetime, epoch seconds or a ready string."""
    if ts is None or isinstance(ts, str):
        return ts
    if isinstance(ts, (int, float)):
        ts = _dt.datetime.fromtimestamp(ts, tz=_dt.timezone.utc)
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=_dt.timezone.utc)
    ts = ts.astimezone(_dt.timezone.utc)
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


def default_socket_path() -> str:
    """``$BLUEJAY_SIDECAR_SOCKET`` (client-side only), else the sidecar's own default:
    ``$XDG_RUNTIME_DIR/bluejay-sidecar.sock``, else ``/tmp/bluejay-sidecar.sock``."""
    explicit = os.environ.get("BLUEJAY_SIDECAR_SOCKET")
    if explicit:
        return explicit
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    return os.path.join(runtime, "bluejay-sidecar.sock") if runtime else "/tmp/bluejay-sidecar.sock"


def _local_error(code: str, message: str) -> Reply:
    return {"ok": False, "error": code, "message": message}


# --- the queue and the connection thread -----------------------------------------------------------


class _Item:
    """One request line and the future its reply resolves."""

    __slots__ = ("line", "future", "kind", "name", "dropped")

    def __init__(self, line: bytes, kind: str, name: Optional[str]):
        self.line = line
        self.future: concurrent.futures.Future = concurrent.futures.Future()
        self.kind = kind
        self.name = name
        self.dropped = False


class SidecarClient:
    """Thread-safe, never-blocking client; every record method returns a Future of the reply dict.

    ``socket_path``: the sidecar's ``--socket`` (default :func:`default_socket_path`).
    ``queue_limit``: records not yet acknowledged (queued locally or in flight) kept at most;
    beyond it the oldest unsent one is dropped. ``reconnect_initial`` / ``reconnect_max``:
    backoff bounds in seconds (doubling, with jitter, reset after a successful connect).
    """

    def __init__(self, socket_path: Optional[str] = None, *, queue_limit: int = 10000,
                 reconnect_initial: float = 0.05, reconnect_max: float = 2.0,
                 connect_timeout: float = 1.0, logger: Optional[logging.Logger] = None):
        if queue_limit < 1:
            raise ValueError("queue_limit must be at least 1")
        self.socket_path = socket_path or default_socket_path()
        self.queue_limit = queue_limit
        self.reconnect_initial = reconnect_initial
        self.reconnect_max = max(reconnect_max, reconnect_initial)
        self.connect_timeout = connect_timeout
        self.log = logger or log
        self._lock = threading.Lock()
        self._pending: Deque[_Item] = collections.deque()   # not yet written on the current connection
        self._inflight: Deque[_Item] = collections.deque()  # written, awaiting their reply, in order
        self._live = 0                                       # items in both that are not dropped
        self._drain_waiters: List[concurrent.futures.Future] = []
        self._stopping = False
        self._stop = threading.Event()
        self.dropped = 0
        self.resent = 0
        self.connects = 0
        self.connected = False
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._thread = threading.Thread(target=self._run, name="bluejay-sidecar-client", daemon=True)
        self._thread.start()

    # -- context binding ----------------------------------------------------------------------

    @contextlib.contextmanager
    def call(self, call_id: Optional[str] = None, *, simulation_result_id: Optional[str] = None) -> Iterator[CallRef]:
        """Binds the current call for this thread / asyncio task (and tasks it creates) inside the block."""
        ref = CallRef(call_id, simulation_result_id)
        token = _current.set(ref)
        try:
            yield ref
        finally:
            _current.reset(token)

    @staticmethod
    def bind(call_id: Optional[str] = None, *, simulation_result_id: Optional[str] = None) -> contextvars.Token:
        """Binds the current call until :meth:`unbind` (for frameworks with no block to wrap)."""
        return _current.set(CallRef(call_id, simulation_result_id))

    @staticmethod
    def unbind(token: contextvars.Token) -> None:
        _current.reset(token)

    # -- records ------------------------------------------------------------------------------

    def tool_call(self, name: str, *, call_id: Optional[str] = None, simulation_result_id: Optional[str] = None,
                  parameters: Any = None, output: Any = None, description: Optional[str] = None,
                  timestamp: Timestamp = None, start_offset_ms: Optional[int] = None) -> concurrent.futures.Future:
        """Records one tool call; ``parameters`` / ``output`` are any JSON-able data (others via ``str``)."""
        body: Dict[str, Any] = {"name": name}
        if parameters is not None:
            body["parameters"] = parameters
        if output is not None:
            body["output"] = output
        if description is not None:
            body["description"] = description
        self._time(body, timestamp, start_offset_ms)
        return self._send("tool_call", body, call_id, simulation_result_id, name)

    def event(self, title: str, *, call_id: Optional[str] = None, simulation_result_id: Optional[str] = None,
              timestamp: Timestamp = None, start_offset_ms: Optional[int] = None, end_offset_ms: Optional[int] = None,
              description: Optional[str] = None, tags: Optional[Sequence[str]] = None,
              metadata: Optional[Mapping[str, Any]] = None) -> concurrent.futures.Future:
        """Records an event (a span when ``end_offset_ms`` is given)."""
        body: Dict[str, Any] = {"title": title}
        self._time(body, timestamp, start_offset_ms)
        if end_offset_ms is not None:
            body["end_offset_ms"] = end_offset_ms
        if description is not None:
            body["description"] = description
        if tags is not None:
            body["tags"] = list(tags)
        if metadata is not None:
            body["metadata"] = dict(metadata)
        return self._send("event", body, call_id, simulation_result_id, title)

    def metadata(self, metadata: Mapping[str, Any], *, call_id: Optional[str] = None,
                 simulation_result_id: Optional[str] = None) -> concurrent.futures.Future:
        """Merges keys into the call's metadata (later keys win)."""
        return self._send("metadata", {"metadata": dict(metadata)}, call_id, simulation_result_id, None)

    def tags(self, tags: Sequence[str], *, call_id: Optional[str] = None,
             simulation_result_id: Optional[str] = None) -> concurrent.futures.Future:
        """Adds tags to the call."""
        return self._send("tags", {"tags": list(tags)}, call_id, simulation_result_id, None)

    def transcript(self, speaker: str, utterance: str, *, call_id: Optional[str] = None,
                   simulation_result_id: Optional[str] = None, start_offset_ms: Optional[int] = None,
                   end_offset_ms: Optional[int] = None) -> concurrent.futures.Future:
        """Records one transcript line; ``speaker`` is ``"AGENT"`` or ``"USER"``."""
        body: Dict[str, Any] = {"speaker": speaker.upper(), "utterance": utterance}
        if start_offset_ms is not None:
            body["start_offset_ms"] = start_offset_ms
        if end_offset_ms is not None:
            body["end_offset_ms"] = end_offset_ms
        return self._send("transcript", body, call_id, simulation_result_id, None)

    def end(self, *, call_id: Optional[str] = None, simulation_result_id: Optional[str] = None) -> concurrent.futures.Future:
        """The agent is done with the call: flush it without waiting for the linger (a started ledger is closed)."""
        return self._send("end", {}, call_id, simulation_result_id, None)

    def lookup(self, *, call_id: Optional[str] = None, simulation_result_id: Optional[str] = None) -> concurrent.futures.Future:
        """The call as the sidecar knows it: ``call_id``, ``simulation_result_id``, ``state``, ``started_at``."""
        return self._send("lookup", {}, call_id, simulation_result_id, None)

    def start(self, simulation_result_id: str) -> concurrent.futures.Future:
        """Opens a ledger with no SIP call behind it (e.g. Bluejay's WebSocket integration).

        The reply carries the ``call_id`` the sidecar made; later records may name the call by
        ``simulation_result_id`` alone, and :meth:`end` flushes it.
        """
        return self._send("start", {}, None, simulation_result_id, None)

    def tool(self, name: Optional[str] = None, **options: Any) -> Callable[[Callable], Callable]:
        """Decorator recording each call of a tool function; see :func:`record_tool`."""
        return record_tool(self, name, **options)

    # -- lifecycle ----------------------------------------------------------------------------

    def pending(self) -> int:
        """Records not yet acknowledged (queued or in flight)."""
        with self._lock:
            return self._live

    def drained(self) -> concurrent.futures.Future:
        """A future resolved (with ``True``) once nothing is left to acknowledge."""
        fut: concurrent.futures.Future = concurrent.futures.Future()
        with self._lock:
            if self._live == 0:
                fut.set_result(True)
            else:
                self._drain_waiters.append(fut)
        return fut

    def flush(self, timeout: Optional[float] = 5.0) -> bool:
        """Waits until every record so far is acknowledged; False if ``timeout`` passed first."""
        try:
            return self.drained().result(timeout)
        except concurrent.futures.TimeoutError:
            return False

    def close(self, timeout: Optional[float] = 2.0) -> bool:
        """Flushes (bounded by ``timeout``), then stops the thread; records still queued resolve to
        ``client_closed``. Returns whether everything was acknowledged."""
        drained = self.flush(timeout) if not self._stopping else True
        with self._lock:
            self._stopping = True
        self._stop.set()
        self._wake()
        self._thread.join(max(timeout or 0, 1.0))
        leftovers: List[_Item] = []
        with self._lock:
            leftovers = [i for i in list(self._inflight) + list(self._pending) if not i.dropped]
            self._inflight.clear()
            self._pending.clear()
            self._live = 0
            waiters, self._drain_waiters = self._drain_waiters, []
        for item in leftovers:
            self._resolve(item, _local_error("client_closed", "client closed before the sidecar acknowledged"))
        for w in waiters:
            if not w.done():
                w.set_result(True)
        if leftovers:
            self.log.warning("bluejay-sidecar client closed with %d record(s) unacknowledged", len(leftovers))
        for s in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                s.close()
        return drained and not leftovers

    def __enter__(self) -> "SidecarClient":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- enqueueing ---------------------------------------------------------------------------

    @staticmethod
    def _time(body: Dict[str, Any], timestamp: Timestamp, start_offset_ms: Optional[int]) -> None:
        if timestamp is not None:
            body["timestamp"] = _rfc3339(timestamp)
        if start_offset_ms is not None:
            body["start_offset_ms"] = start_offset_ms

    def _send(self, kind: str, body: Dict[str, Any], call_id: Optional[str], simulation_result_id: Optional[str],
              name: Optional[str]) -> concurrent.futures.Future:
        ref = _resolve(call_id, simulation_result_id)
        if ref is None:
            fut: concurrent.futures.Future = concurrent.futures.Future()
            reply = _local_error("no_call", f"{kind}: no call_id or simulation_result_id given and none bound")
            self.log.warning("bluejay-sidecar %s not recorded: %s", kind, reply["message"])
            fut.set_result(reply)
            return fut
        request = {"type": kind, **ref.fields(), **body}
        try:
            line = _encode(request)
        except (TypeError, ValueError) as e:  # e.g. circular structures
            fut = concurrent.futures.Future()
            fut.set_result(_local_error("bad_value", f"{kind} not JSON-encodable: {e}"))
            self.log.warning("bluejay-sidecar %s not recorded: %s", kind, e)
            return fut
        return self._enqueue(_Item(line, kind, name))

    def _enqueue(self, item: _Item) -> concurrent.futures.Future:
        victim: Optional[_Item] = None
        with self._lock:
            if self._stopping:
                victim = item
            else:
                if self._live >= self.queue_limit:
                    victim = self._drop_oldest_locked()
                self._pending.append(item)
                self._live += 1
        if victim is item:
            self._resolve(item, _local_error("client_closed", "client is closed"))
            return item.future
        if victim is not None:
            self.dropped += 1
            n = self.dropped
            if n == 1 or n % 1000 == 0:
                self.log.warning("bluejay-sidecar client queue full (queue_limit=%d): dropped the oldest record "
                                 "(%d dropped so far)", self.queue_limit, n)
            self._resolve(victim, _local_error("queue_full", f"dropped from the local queue (queue_limit={self.queue_limit})"))
        self._wake()
        return item.future

    def _drop_oldest_locked(self) -> Optional[_Item]:
        """The oldest unsent record; if all are in flight, the oldest in flight is marked dropped
        (kept for reply pairing, not resent)."""
        while self._pending:
            victim = self._pending.popleft()
            if not victim.dropped:
                self._live -= 1
                return victim
        for victim in self._inflight:
            if not victim.dropped:
                victim.dropped = True
                self._live -= 1
                return victim
        return None

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_w.send(b"\0")

    def _resolve(self, item: _Item, reply: Reply) -> None:
        if item.future.done():
            return
        if not reply.get("ok", False) and reply.get("error") not in ("queue_full", "client_closed"):
            label = f"{item.kind} {item.name!r}" if item.name else item.kind
            self.log.warning("bluejay-sidecar refused %s: %s: %s", label, reply.get("error"), reply.get("message"))
        item.future.set_result(reply)

    # -- the connection thread ------------------------------------------------------------------

    def _run(self) -> None:
        backoff = self.reconnect_initial
        while not self._stop.is_set():
            sock = self._connect()
            if sock is None:
                # Jitter keeps many agents from reconnecting in lock step after a sidecar restart.
                self._stop.wait(backoff * random.uniform(0.5, 1.0))
                backoff = min(backoff * 2, self.reconnect_max)
                continue
            backoff = self.reconnect_initial
            self.connects += 1
            self.connected = True
            try:
                self._serve(sock)
            except Exception:  # never let the thread die: log and reconnect
                self.log.exception("bluejay-sidecar client connection failed")
            finally:
                self.connected = False
                with contextlib.suppress(OSError):
                    sock.close()
                self._requeue_inflight()

    def _connect(self) -> Optional[socket.socket]:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.connect_timeout)
        try:
            sock.connect(self.socket_path)
        except OSError:
            sock.close()
            return None
        sock.setblocking(False)
        return sock

    def _requeue_inflight(self) -> None:
        """Unacknowledged lines go back to the front of the queue, in order, to be resent."""
        with self._lock:
            resend = [i for i in self._inflight if not i.dropped]
            self._inflight.clear()
            self._pending.extendleft(reversed(resend))
            self.resent += len(resend)
        if resend:
            self.log.info("bluejay-sidecar connection lost: resending %d unacknowledged record(s)", len(resend))

    def _serve(self, sock: socket.socket) -> None:
        sel = selectors.DefaultSelector()
        sel.register(self._wake_r, selectors.EVENT_READ, "wake")
        sel.register(sock, selectors.EVENT_READ, "sock")
        out = bytearray()
        inbuf = bytearray()
        try:
            while not self._stop.is_set():
                with self._lock:
                    while self._pending and len(self._inflight) < _WINDOW:
                        item = self._pending.popleft()
                        if item.dropped:
                            continue
                        self._inflight.append(item)
                        out += item.line
                events = selectors.EVENT_READ | (selectors.EVENT_WRITE if out else 0)
                sel.modify(sock, events, "sock")
                for key, mask in sel.select(timeout=1.0):
                    if key.data == "wake":
                        with contextlib.suppress(BlockingIOError, InterruptedError):
                            while self._wake_r.recv(4096):
                                pass
                        continue
                    if mask & selectors.EVENT_WRITE and out:
                        try:
                            n = sock.send(out)
                        except (BlockingIOError, InterruptedError):
                            n = 0
                        except OSError:
                            return
                        del out[:n]
                    if mask & selectors.EVENT_READ:
                        try:
                            data = sock.recv(_READ_CHUNK)
                        except (BlockingIOError, InterruptedError):
                            continue
                        except OSError:
                            return
                        if not data:
                            return
                        inbuf += data
                        self._replies(inbuf)
        finally:
            sel.close()

    def _replies(self, inbuf: bytearray) -> None:
        """Pairs each complete reply line with the oldest request in flight."""
        done: List[Tuple[_Item, Reply]] = []
        waiters: List[concurrent.futures.Future] = []
        while True:
            nl = inbuf.find(b"\n")
            if nl < 0:
                break
            raw = bytes(inbuf[:nl])
            del inbuf[:nl + 1]
            try:
                reply = json.loads(raw)
                if not isinstance(reply, dict):
                    raise ValueError("reply is not an object")
            except ValueError:
                reply = _local_error("bad_reply", f"unparseable reply: {raw[:200]!r}")
            with self._lock:
                if not self._inflight:
                    continue  # cannot happen with a conforming sidecar
                item = self._inflight.popleft()
                if not item.dropped:
                    self._live -= 1
                    done.append((item, reply))
                if self._live == 0 and self._drain_waiters:
                    waiters, self._drain_waiters = self._drain_waiters + waiters, []
        for item, reply in done:
            self._resolve(item, reply)
        for w in waiters:
            if not w.done():
                w.set_result(True)


# --- asyncio -----------------------------------------------------------------------------------


class AsyncSidecarClient:
    """The same API with ``async def`` methods, for asyncio agents.

    A thin layer over :class:`SidecarClient`: the socket lives on its thread, so awaiting a reply
    never blocks the event loop, and enqueueing (e.g. from decorated tools) costs a lock and a
    wake-up byte. Await a method for the sidecar's reply (which waits out a sidecar restart), or use
    ``client.sync`` / ``asyncio.create_task`` to fire and forget.
    """

    def __init__(self, socket_path: Optional[str] = None, **options: Any):
        self.sync = SidecarClient(socket_path, **options)
        self.call = self.sync.call
        self.bind = self.sync.bind
        self.unbind = self.sync.unbind

    @staticmethod
    async def _wait(fut: concurrent.futures.Future) -> Reply:
        return await asyncio.wrap_future(fut)

    async def tool_call(self, name: str, **kw: Any) -> Reply:
        return await self._wait(self.sync.tool_call(name, **kw))

    async def event(self, title: str, **kw: Any) -> Reply:
        return await self._wait(self.sync.event(title, **kw))

    async def metadata(self, metadata: Mapping[str, Any], **kw: Any) -> Reply:
        return await self._wait(self.sync.metadata(metadata, **kw))

    async def tags(self, tags: Sequence[str], **kw: Any) -> Reply:
        return await self._wait(self.sync.tags(tags, **kw))

    async def transcript(self, speaker: str, utterance: str, **kw: Any) -> Reply:
        return await self._wait(self.sync.transcript(speaker, utterance, **kw))

    async def end(self, **kw: Any) -> Reply:
        return await self._wait(self.sync.end(**kw))

    async def lookup(self, **kw: Any) -> Reply:
        return await self._wait(self.sync.lookup(**kw))

    async def start(self, simulation_result_id: str) -> Reply:
        return await self._wait(self.sync.start(simulation_result_id))

    def tool(self, name: Optional[str] = None, **options: Any) -> Callable[[Callable], Callable]:
        """Decorator recording each call of a tool function; see :func:`record_tool`."""
        return record_tool(self.sync, name, **options)

    def pending(self) -> int:
        return self.sync.pending()

    @property
    def dropped(self) -> int:
        return self.sync.dropped

    async def flush(self, timeout: Optional[float] = 5.0) -> bool:
        """Waits (without blocking the loop) until every record so far is acknowledged."""
        try:
            return await asyncio.wait_for(asyncio.wrap_future(self.sync.drained()), timeout)
        except asyncio.TimeoutError:
            return False

    async def close(self, timeout: Optional[float] = 2.0) -> bool:
        drained = await self.flush(timeout)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, functools.partial(self.sync.close, 0.0)) and drained

    async def __aenter__(self) -> "AsyncSidecarClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()


# --- the tool decorator ------------------------------------------------------------------------


def record_tool(client: Union[SidecarClient, AsyncSidecarClient], name: Optional[str] = None, *,
                call: Optional[Callable[..., Any]] = None, call_id: Optional[str] = None,
                simulation_result_id: Optional[str] = None, exclude: Sequence[str] = (),
                description: Optional[str] = None) -> Callable[[Callable], Callable]:
    """Decorator: records every call of a sync or async tool function as a ``tool_call``.

    * ``name``: the tool name (default: the function's ``__name__``).
    * Which call: ``call_id`` / ``simulation_result_id`` if given; else ``call(*args, **kwargs)``
      if given (may return a CallRef, a dict with those keys, a str call id, or None); else the
      call bound with ``client.call(...)`` / ``client.bind(...)``. With none, the tool still runs
      and a warning says it was not recorded.
    * ``parameters``: the bound arguments with defaults applied, minus ``self`` / ``cls`` and the
      names in ``exclude`` (e.g. a framework's context object), made JSON-safe with ``str``.
    * ``output``: the return value (JSON-safe); if the function raises, ``{"error": "<Type>: <msg>"}``
      is recorded and the exception re-raised unchanged.
    * ``timestamp``: when the call started; the duration goes into ``description``
      (``"<description> (took N ms)"``).

    Recording only enqueues: the tool never waits for the sidecar.
    """
    sync_client = client.sync if isinstance(client, AsyncSidecarClient) else client
    fixed = CallRef(call_id, simulation_result_id) if (call_id or simulation_result_id) else None
    skip = set(exclude)

    def decorate(fn: Callable) -> Callable:
        tool_name = name or fn.__name__
        try:
            sig: Optional[inspect.Signature] = inspect.signature(fn)
        except (TypeError, ValueError):
            sig = None

        def parameters(args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> Any:
            if sig is None:
                return json_safe({"args": list(args), "kwargs": kwargs})
            try:
                bound = sig.bind(*args, **kwargs)
            except TypeError:
                return json_safe({"args": list(args), "kwargs": kwargs})
            bound.apply_defaults()
            out: Dict[str, Any] = {}
            for i, (k, v) in enumerate(bound.arguments.items()):
                if k in skip or (i == 0 and k in ("self", "cls")):
                    continue
                p = sig.parameters[k]
                if p.kind is inspect.Parameter.VAR_KEYWORD:
                    out.update({kk: vv for kk, vv in v.items() if kk not in skip})
                else:
                    out[k] = list(v) if p.kind is inspect.Parameter.VAR_POSITIONAL else v
            return json_safe(out)

        def which(args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> Optional[CallRef]:
            if fixed is not None:
                return fixed
            if call is not None:
                try:
                    ref = _as_ref(call(*args, **kwargs))
                except Exception as e:  # a broken hook must not break the tool
                    sync_client.log.warning("bluejay-sidecar: call= hook of tool %r failed: %r", tool_name, e)
                    ref = None
                if ref is not None:
                    return ref
            return _current.get()

        def record(args: Tuple[Any, ...], kwargs: Dict[str, Any], started: float, t0: float, output: Any) -> None:
            try:
                ref = which(args, kwargs)
                if ref is None:
                    sync_client.log.warning("bluejay-sidecar: tool %r ran with no call bound; not recorded", tool_name)
                    return
                took = (time.perf_counter() - t0) * 1000
                took_text = f"took {took:.0f} ms"
                desc = f"{description} ({took_text})" if description else took_text
                sync_client.tool_call(tool_name, call_id=ref.call_id, simulation_result_id=ref.simulation_result_id,
                                      parameters=parameters(args, kwargs), output=json_safe(output),
                                      description=desc, timestamp=started)
            except Exception:  # recording must never change what the tool does
                sync_client.log.exception("bluejay-sidecar: recording tool %r failed", tool_name)

        def failure(e: BaseException) -> Dict[str, str]:
            return {"error": f"{type(e).__name__}: {e}"}

        if inspect.iscoroutinefunction(fn):
            @functools.wraps(fn)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                started, t0 = time.time(), time.perf_counter()
                try:
                    result = await fn(*args, **kwargs)
                except BaseException as e:
                    record(args, kwargs, started, t0, failure(e))
                    raise
                record(args, kwargs, started, t0, result)
                return result
            return async_wrapper

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started, t0 = time.time(), time.perf_counter()
            try:
                result = fn(*args, **kwargs)
            except BaseException as e:
                record(args, kwargs, started, t0, failure(e))
                raise
            record(args, kwargs, started, t0, result)
            return result
        return wrapper

    return decorate
