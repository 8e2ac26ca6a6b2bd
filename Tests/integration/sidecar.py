"""Starting, stopping, crashing and restarting the bluejay-sidecar binary.

The binary comes from env ``SIDECAR_BIN`` (default
``<repo>/.build/debug/bluejay-sidecar``). Every instance gets its own data dir,
Unix socket and dry-run dir; stderr goes to a file (all runs of one instance,
appended) that tests can read, e.g. to assert the API key never appears.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Optional, Sequence

from sipp import HOST, free_port

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
READY_MARKER = "bluejay-sidecar ready"
DEFAULT_READY_TIMEOUT = 30.0


def sidecar_bin() -> Path:
    env = os.environ.get("SIDECAR_BIN")
    return Path(env) if env else REPO_ROOT / ".build" / "debug" / "bluejay-sidecar"


class SidecarError(AssertionError):
    pass


_HTTP_FLAG = re.compile(r"--http(?![-\w])")
_http_support: dict[tuple[str, float], bool] = {}


def binary_supports_http(binary: Optional[Path] = None) -> bool:
    """True when the binary's ``run --help`` lists ``--http`` (the admin/webhook
    listener). Cached per binary path and mtime."""
    b = Path(binary) if binary else sidecar_bin()
    try:
        key = (str(b), b.stat().st_mtime)
    except OSError:
        return False
    if key in _http_support:
        return _http_support[key]
    text, ran = "", False
    for argv in ([str(b), "run", "--help"], [str(b), "--help"]):
        try:
            r = subprocess.run(argv, capture_output=True, timeout=20, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired):  # e.g. "Text file busy" while swift build links
            continue
        ran = ran or r.returncode == 0
        text += r.stdout.decode("utf-8", "replace") + r.stderr.decode("utf-8", "replace")
    found = bool(_HTTP_FLAG.search(text))
    if found or ran:  # a binary that could not run is asked again next time
        _http_support[key] = found
    return found


class Sidecar:
    """One sidecar configuration; may be started, killed and restarted many times
    (always with the same data dir, socket path and SIP port)."""

    def __init__(self, workdir: Path, *, bluejay_url: Optional[str] = None, api_key: Optional[str] = None,
                 api_key_via: str = "file", args: Sequence[str] = (), env: Optional[dict] = None,
                 sip_port: Optional[int] = None, transports: Sequence[str] = ("udp", "tcp"),
                 linger_ms: int = 200, log_level: Optional[str] = "debug", binary: Optional[Path] = None,
                 default_args: bool = True, http: Optional[bool] = None, http_port: Optional[int] = None,
                 netns: Optional[str] = None):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.binary = Path(binary) if binary else sidecar_bin()
        self.data_dir = self.workdir / "data"
        self.dry_run_dir = self.workdir / "dry-run"
        self.data_dir.mkdir(exist_ok=True)
        # AF_UNIX paths are limited to ~107 bytes: keep the socket in a short dir.
        self._sock_dir = Path(tempfile.mkdtemp(prefix="bj-", dir="/tmp"))
        self.socket_path = self._sock_dir / "agent.sock"
        self.stderr_path = self.workdir / "sidecar.stderr.log"
        self.stdout_path = self.workdir / "sidecar.stdout.log"
        self.sip_port = sip_port or free_port()
        self.transports = list(transports)
        self.bluejay_url = bluejay_url
        self.api_key = api_key
        self.api_key_via = api_key_via
        self.extra_args = list(args)
        self.extra_env = dict(env or {})
        self.linger_ms = linger_ms
        self.log_level = log_level
        self.default_args = default_args
        # HTTP listener (health, webhooks, admin): --http 127.0.0.1:<http_port>.
        # http=None: passed only when the binary knows the flag (older builds
        # refuse unknown flags); True: always; False: never (``--http off``).
        self.http = http
        self.http_port = http_port or free_port("tcp")
        # Run inside this network namespace (`ip netns exec`, which execs: signals reach the sidecar itself).
        self.netns = netns
        self.proc: Optional[subprocess.Popen] = None
        self.starts = 0
        self._stderr_fh = None
        self._stdout_fh = None

    # --- command line ------------------------------------------------------
    def command(self) -> list[str]:
        cmd = ["ip", "netns", "exec", self.netns] if self.netns else []
        cmd.append(str(self.binary))
        for t in self.transports:
            cmd += ["--sip", f"{t}://{HOST}:{self.sip_port}"]
        cmd += ["--socket", str(self.socket_path), "--data-dir", str(self.data_dir)]
        if self.http_enabled:
            cmd += ["--http", f"{HOST}:{self.http_port}"]
        elif self.http is False and binary_supports_http(self.binary):
            cmd += ["--http", "off"]   # not the default 127.0.0.1:9090 shared by every instance
        if self.default_args:
            cmd += ["--linger-ms", str(self.linger_ms), "--retry-initial-ms", "100", "--retry-max-ms", "1000"]
            if self.log_level is not None:   # None: leave the level to --config / env
                cmd += ["--log-level", self.log_level]
        if self.bluejay_url:
            cmd += ["--bluejay-url", self.bluejay_url]
        if self.api_key is not None and self.api_key_via == "file":
            key_file = self.workdir / "api-key"
            key_file.write_text(self.api_key + "\n")
            key_file.chmod(0o600)
            cmd += ["--api-key-file", str(key_file)]
        if self.api_key is None:
            self.dry_run_dir.mkdir(exist_ok=True)
            cmd += ["--dry-run", str(self.dry_run_dir)]
        cmd += self.extra_args
        return cmd

    def environment(self) -> dict:
        env = {k: v for k, v in os.environ.items() if k != "BLUEJAY_API_KEY"}
        if self.api_key is not None and self.api_key_via == "env":
            env["BLUEJAY_API_KEY"] = self.api_key
        env.update(self.extra_env)
        return env

    # --- lifecycle ---------------------------------------------------------
    def start(self, timeout: float = DEFAULT_READY_TIMEOUT) -> "Sidecar":
        if self.running:
            raise SidecarError("sidecar already running")
        if not self.binary.is_file():
            raise SidecarError(f"sidecar binary not found at {self.binary} "
                               f"(build it with `swift build`, or set SIDECAR_BIN)")
        self._close_logs()
        self._stderr_fh = open(self.stderr_path, "ab")
        self._stdout_fh = open(self.stdout_path, "ab")
        offset = self.stderr_path.stat().st_size
        marker = f"\n===== start #{self.starts + 1}: {' '.join(self.command())}\n"
        # The marker goes to a side file, not to the sidecar's own stderr log,
        # so that "the key never appears in stderr" stays a statement about the sidecar.
        with open(self.workdir / "sidecar.starts.log", "a") as f:
            f.write(marker)
        self.starts += 1
        self._ready_offset = offset
        self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=self._stdout_fh,
                                     stderr=self._stderr_fh, env=self.environment(), cwd=self.workdir,
                                     start_new_session=True)
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = DEFAULT_READY_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while True:
            text = self._stderr_since(self._ready_offset)
            if READY_MARKER in text:
                return
            if self.proc is not None and self.proc.poll() is not None:
                raise SidecarError(f"sidecar exited with {self.proc.returncode} before it was ready; "
                                   f"stderr:\n{self._tail(text)}")
            if time.monotonic() >= deadline:
                self.kill9()
                raise SidecarError(f"sidecar not ready within {timeout}s (no {READY_MARKER!r} line); "
                                   f"stderr:\n{self._tail(text)}")
            time.sleep(0.05)

    def stop(self, timeout: float = 10.0) -> Optional[int]:
        """SIGTERM, wait up to ``timeout``, then SIGKILL. Returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        rc = self.proc.returncode
        self._close_logs()
        return rc

    def terminate(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> Optional[int]:
        """Send ``sig`` and wait (bounded) for exit without escalating; None if still running."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill9(self) -> None:
        """Crash it: SIGKILL, no chance to flush anything."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self._close_logs()

    def restart(self, timeout: float = DEFAULT_READY_TIMEOUT) -> "Sidecar":
        """Start again with the same data dir, socket and port (after stop() or kill9())."""
        if self.running:
            self.stop()
        return self.start(timeout)

    def cleanup(self) -> None:
        self.stop(timeout=5)
        shutil.rmtree(self._sock_dir, ignore_errors=True)

    @property
    def http_enabled(self) -> bool:
        return binary_supports_http(self.binary) if self.http is None else bool(self.http)

    @property
    def http_url(self) -> str:
        """Base URL of the sidecar's HTTP listener, e.g. ``http://127.0.0.1:41234``."""
        return f"http://{HOST}:{self.http_port}"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def returncode(self) -> Optional[int]:
        return None if self.proc is None else self.proc.poll()

    # --- output ------------------------------------------------------------
    def stderr_text(self) -> str:
        """Everything every run of this sidecar wrote to stderr so far."""
        return self._stderr_since(0)

    def wait_for_log(self, text: str, timeout: float = 10) -> None:
        """Waits (bounded) for ``text`` in stderr; fails with the tail when it never comes."""
        deadline = time.monotonic() + timeout
        while text not in self.stderr_text():
            if time.monotonic() > deadline:
                raise AssertionError(f"never logged {text!r} within {timeout}s:\n{self.stderr_text()[-3000:]}")
            time.sleep(0.05)

    def dry_run_files(self) -> list[Path]:
        if not self.dry_run_dir.is_dir():
            return []
        return sorted(p for p in self.dry_run_dir.iterdir() if p.is_file())

    def _stderr_since(self, offset: int) -> str:
        try:
            with open(self.stderr_path, "rb") as f:
                f.seek(offset)
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    @staticmethod
    def _tail(text: str, limit: int = 8000) -> str:
        return text if len(text) <= limit else "...(cut)...\n" + text[-limit:]

    def _close_logs(self) -> None:
        for fh in (self._stderr_fh, self._stdout_fh):
            if fh is not None:
                try:
                    fh.close()
                except OSError:
                    pass
        self._stderr_fh = self._stdout_fh = None

    def __repr__(self) -> str:
        return f"<Sidecar port={self.sip_port} socket={self.socket_path} running={self.running}>"
