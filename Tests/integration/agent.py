"""An agent talking to the sidecar's Unix socket (newline-delimited JSON,
exactly one reply line per request line, in order)."""
from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from typing import Any, Iterable, Optional, Union

DEFAULT_TIMEOUT = 5.0


class AgentError(AssertionError):
    pass


class AgentClient:
    def __init__(self, path: Union[str, Path], timeout: float = DEFAULT_TIMEOUT, connect_timeout: float = 5.0):
        self.path = str(path)
        self.timeout = timeout
        self._buf = b""
        deadline = time.monotonic() + connect_timeout
        last: Optional[Exception] = None
        while True:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(self.path)
                break
            except OSError as e:
                s.close()
                last = e
                if time.monotonic() >= deadline:
                    raise AgentError(f"cannot connect to agent socket {self.path}: {last}") from e
                time.sleep(0.05)
        self.sock = s

    # --- raw I/O -------------------------------------------------------------
    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send(self, msg: Union[dict, str, bytes]) -> None:
        """Send one request line (dict -> JSON; str/bytes sent as given plus a newline)."""
        if isinstance(msg, dict):
            data = json.dumps(msg, separators=(",", ":")).encode()
        elif isinstance(msg, str):
            data = msg.encode()
        else:
            data = msg
        if not data.endswith(b"\n"):
            data += b"\n"
        self.sock.sendall(data)

    def read_line(self, timeout: Optional[float] = None) -> bytes:
        """Exactly one reply line (without the newline); TimeoutError if none in time."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no reply line within {timeout or self.timeout}s "
                                   f"(partial: {self._buf[:200]!r})")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                raise ConnectionError(f"agent socket closed by the sidecar (partial: {self._buf[:200]!r})")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return line

    def read_reply(self, timeout: Optional[float] = None) -> dict:
        line = self.read_line(timeout)
        try:
            obj = json.loads(line)
        except ValueError as e:
            raise AgentError(f"reply is not JSON: {line[:500]!r}") from e
        if not isinstance(obj, dict):
            raise AgentError(f"reply is not a JSON object: {line[:500]!r}")
        return obj

    def request(self, msg: Union[dict, str, bytes], timeout: Optional[float] = None) -> dict:
        self.send(msg)
        return self.read_reply(timeout)

    def pipeline(self, msgs: Iterable[Union[dict, str, bytes]], timeout: Optional[float] = None) -> list[dict]:
        """Send all lines in one write, then read one reply per line, in order."""
        lines = []
        for m in msgs:
            d = json.dumps(m, separators=(",", ":")).encode() if isinstance(m, dict) else (
                m.encode() if isinstance(m, str) else m)
            lines.append(d if d.endswith(b"\n") else d + b"\n")
        self.sock.sendall(b"".join(lines))
        return [self.read_reply(timeout) for _ in lines]

    def expect_ok(self, msg: dict, timeout: Optional[float] = None) -> dict:
        r = self.request(msg, timeout)
        if r.get("ok") is not True:
            raise AgentError(f"sidecar refused {json.dumps(msg)[:300]}: {r}")
        return r

    def no_reply_within(self, seconds: float) -> bool:
        try:
            line = self.read_line(seconds)
        except TimeoutError:
            return True
        self._buf = line + b"\n" + self._buf
        return False

    # --- lookup ----------------------------------------------------------------
    def lookup(self, call_id: Optional[str] = None, sim_id: Optional[str] = None,
               timeout: Optional[float] = None) -> dict:
        msg: dict[str, Any] = {"type": "lookup"}
        if call_id is not None:
            msg["call_id"] = call_id
        if sim_id is not None:
            msg["simulation_result_id"] = sim_id
        return self.request(msg, timeout)

    def wait_state(self, call_id: Optional[str] = None, sim_id: Optional[str] = None,
                   states: Iterable[str] = ("active",), timeout: float = 10.0, interval: float = 0.05) -> dict:
        """Poll ``lookup`` (bounded) until the call is in one of ``states``."""
        states = set(states)
        deadline = time.monotonic() + timeout
        last: dict = {}
        while True:
            last = self.lookup(call_id, sim_id)
            if last.get("ok") and last.get("state") in states:
                return last
            if time.monotonic() >= deadline:
                raise AgentError(f"call {call_id or sim_id} not in {sorted(states)} within {timeout}s; "
                                 f"last lookup: {last}")
            time.sleep(interval)

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self) -> "AgentClient":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


# --- record builders (what a voice agent would write) ------------------------

def _who(call_id: Optional[str], sim_id: Optional[str]) -> dict:
    if call_id is not None:
        return {"call_id": call_id}
    if sim_id is not None:
        return {"simulation_result_id": sim_id}
    raise ValueError("need call_id or sim_id")


def tool_call(name: str, parameters: Any, output: Any, *, call_id: Optional[str] = None,
              sim_id: Optional[str] = None, start_offset_ms: Optional[int] = None,
              timestamp: Optional[str] = None, description: Optional[str] = None,
              legacy_shape: bool = False) -> dict:
    m: dict[str, Any] = {"type": "tool_call", **_who(call_id, sim_id)}
    if legacy_shape:  # Bluejay's prose-guide shape
        m.update(tool_name=name, parameters=parameters, result=output)
    else:
        m.update(name=name, parameters=parameters, output=output)
    if start_offset_ms is not None:
        m["start_offset_ms"] = start_offset_ms
    if timestamp is not None:
        m["timestamp"] = timestamp
    if description is not None:
        m["description"] = description
    return m


def event(title: str, *, call_id: Optional[str] = None, sim_id: Optional[str] = None,
          start_offset_ms: int = 0, end_offset_ms: Optional[int] = None, tags: Optional[list] = None,
          metadata: Optional[dict] = None, description: Optional[str] = None) -> dict:
    m: dict[str, Any] = {"type": "event", **_who(call_id, sim_id), "title": title,
                         "start_offset_ms": start_offset_ms}
    if end_offset_ms is not None:
        m["end_offset_ms"] = end_offset_ms
    if tags is not None:
        m["tags"] = tags
    if metadata is not None:
        m["metadata"] = metadata
    if description is not None:
        m["description"] = description
    return m


def metadata(md: dict, *, call_id: Optional[str] = None, sim_id: Optional[str] = None) -> dict:
    return {"type": "metadata", **_who(call_id, sim_id), "metadata": md}


def tags(tag_list: list, *, call_id: Optional[str] = None, sim_id: Optional[str] = None) -> dict:
    return {"type": "tags", **_who(call_id, sim_id), "tags": tag_list}


def transcript(speaker: str, utterance: str, start_offset_ms: int, end_offset_ms: int, *,
               call_id: Optional[str] = None, sim_id: Optional[str] = None) -> dict:
    return {"type": "transcript", **_who(call_id, sim_id), "speaker": speaker, "utterance": utterance,
            "start_offset_ms": start_offset_ms, "end_offset_ms": end_offset_ms}


def end(*, call_id: Optional[str] = None, sim_id: Optional[str] = None) -> dict:
    return {"type": "end", **_who(call_id, sim_id)}
