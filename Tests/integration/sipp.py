"""Running SIPp (3.6.1) non-interactively for the sidecar's end-to-end tests.

Conventions shared with ``sip-fixtures/scenarios/uac-*.xml``:

* Every scenario reads an injection CSV (``-inf``, ``SEQUENTIAL``), one row per
  call: ``field0`` simulation result id, ``field1`` Call-ID prefix, ``field2``
  pause (ms) between ACK and BYE. SIPp fields are ';'-separated: no value may
  contain ';'.
* SIPp routes responses to calls by Call-ID, so the scenarios send
  ``Call-ID: [call_id]`` and :func:`run_sipp` passes ``-cid_str
  "<prefix>-%u@bluejay-test"``: call N (1-based, in creation order, which is
  also CSV row order) has Call-ID ``call_id(prefix, N)``.

``run_sipp`` returns a :class:`SippResult` (exit code, success / failure /
retransmission counts from the ``-trace_stat`` file, paths of the logs).
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional, Sequence, Union

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
SCENARIO_DIR = REPO_ROOT / "sip-fixtures" / "scenarios"
SIPP = os.environ.get("SIPP_BIN", "sipp")
HOST = "127.0.0.1"
CALL_ID_DOMAIN = "bluejay-test"

# SIPp exit codes (sipp -h): 0 all calls succeeded, 1 at least one failed,
# 97 exit on internal command, 99 normal exit without calls processed,
# 255 (-1) fatal error, 254 (-2) fatal error binding a socket.
EXIT_MEANINGS = {0: "all calls succeeded", 1: "at least one call failed",
                 97: "exit on internal command", 99: "no calls processed",
                 255: "fatal error", 254: "fatal error binding a socket"}


def call_id(prefix: str, call_number: int) -> str:
    """Call-ID of SIPp call ``call_number`` (1-based) run with ``prefix``."""
    return f"{prefix}-{call_number}@{CALL_ID_DOMAIN}"


def from_tag(prefix: str, call_number: int) -> str:
    return f"{prefix}-{call_number}-ft"


def sipp_available() -> bool:
    return shutil.which(SIPP) is not None


def _port_pool() -> range:
    """Ports for listeners the tests start: below the kernel's ephemeral range.

    A port the kernel handed out for ``bind(0)`` and that was then closed can be
    handed out again at once, for another ``free_port`` call or as the source
    port of any outgoing connection (the stand-in's clients, curl, SIPp), before
    the sidecar binds it: "Address already in use". Ports under the ephemeral
    range are never chosen by the kernel, and this process hands each out once.
    """
    low = 32768
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        pass
    low = max(low, 12000)
    return range(10000, low - PORT_BLOCK, PORT_BLOCK)


#: Ports handed out together: SIPp's media port ``-mp N`` also binds N+1 to N+3 (RTCP, video), so a port handed
#: out next to it would collide.
PORT_BLOCK = 4
_POOL = _port_pool()
# Start where another pytest process (the bench tests, a second run) is unlikely to.
_next = (os.getpid() * 7919) % len(_POOL)
_handed_out: set[int] = set()


def free_port(kind: str = "both") -> int:
    """A port free on 127.0.0.1 for UDP and TCP (``kind`` 'udp'/'tcp'/'both'), with the three above it.

    Taken from below the ephemeral range and never handed out twice by this
    process (see :func:`_port_pool`), so no other socket of the test run can
    take it between this call and the bind of whoever asked for it.
    """
    global _next
    for _ in range(len(_POOL)):
        port = _POOL[_next]
        _next = (_next + 1) % len(_POOL)
        if port in _handed_out:
            continue
        if all(_bindable(p, kind) for p in range(port, port + PORT_BLOCK)):
            _handed_out.add(port)
            return port
    raise RuntimeError("no free port found below the ephemeral range")


def _bindable(port: int, kind: str) -> bool:
    kinds = {"udp": [socket.SOCK_DGRAM], "tcp": [socket.SOCK_STREAM]}.get(
        kind, [socket.SOCK_STREAM, socket.SOCK_DGRAM])
    for k in kinds:
        s = socket.socket(socket.AF_INET, k)
        try:
            s.bind((HOST, port))
        except OSError:
            return False
        finally:
            s.close()
    return True


def scenario_path(scenario: Union[str, os.PathLike]) -> Path:
    p = Path(scenario)
    if p.is_file():
        return p
    for cand in (SCENARIO_DIR / p, SCENARIO_DIR / f"{p}.xml"):
        if cand.is_file():
            return cand
    raise FileNotFoundError(f"SIPp scenario {scenario} not found (looked in {SCENARIO_DIR})")


def write_inf(path: Union[str, os.PathLike], rows: Iterable[Sequence[object]], mode: str = "SEQUENTIAL") -> Path:
    """Write a SIPp injection file; rows are sequences of field values."""
    path = Path(path)
    lines = [mode]
    for row in rows:
        vals = [str(v) for v in row]
        for v in vals:
            if ";" in v or "\n" in v:
                raise ValueError(f"SIPp CSV field may not contain ';' or newline: {v!r}")
        lines.append(";".join(vals) + ";")
    path.write_text("\n".join(lines) + "\n")
    return path


@dataclass
class SippResult:
    returncode: Optional[int]
    command: list[str]
    workdir: Path
    stat_file: Path
    error_file: Path
    message_file: Path
    log_file: Path
    screen_file: Path
    stdout_file: Path
    stats: dict[str, str] = field(default_factory=dict)
    timed_out: bool = False
    duration_s: float = 0.0

    def _int(self, key: str) -> Optional[int]:
        v = self.stats.get(key)
        try:
            return int(v) if v not in (None, "") else None
        except ValueError:
            return None

    @property
    def successful(self) -> Optional[int]:
        return self._int("SuccessfulCall(C)")

    @property
    def failed(self) -> Optional[int]:
        return self._int("FailedCall(C)")

    @property
    def created(self) -> Optional[int]:
        return self._int("TotalCallCreated")

    @property
    def retransmissions(self) -> Optional[int]:
        return self._int("Retransmissions(C)")

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out

    def _read(self, p: Path, limit: int = 6000) -> str:
        try:
            t = p.read_text(errors="replace")
        except OSError:
            return ""
        return t if len(t) <= limit else "...(cut)...\n" + t[-limit:]

    @property
    def errors(self) -> str:
        return self._read(self.error_file)

    @property
    def messages(self) -> str:
        return self._read(self.message_file, limit=10**9)

    @property
    def logs(self) -> str:
        """Output of the scenario's <log> actions."""
        return self._read(self.log_file, limit=10**9)

    def nonzero_stats(self) -> dict[str, str]:
        return {k: v for k, v in self.stats.items()
                if k.endswith("(C)") and v not in ("0", "") and not k.startswith(("Elapsed", "CallRate"))
                and not k.startswith(("ResponseTime", "CallLength"))}

    def describe(self) -> str:
        return (f"sipp exit {self.returncode} ({EXIT_MEANINGS.get(self.returncode or 0, '?')})"
                f"{' TIMED OUT' if self.timed_out else ''} in {self.duration_s:.1f}s: "
                f"created={self.created} ok={self.successful} failed={self.failed} "
                f"retrans={self.retransmissions}\n  cmd: {' '.join(self.command)}\n"
                f"  counters: {self.nonzero_stats()}\n"
                f"  errors ({self.error_file}):\n{self.errors}\n"
                f"  screen/stdout tail:\n{self._read(self.screen_file, 3000) or self._read(self.stdout_file, 3000)}")


def parse_stat_file(path: Path) -> dict[str, str]:
    """Last row of a -trace_stat CSV as {column: value}."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return {}
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if len(lines) < 2:
        return {}
    header = lines[0].split(";")
    last = lines[-1].split(";")
    return {h: (last[i] if i < len(last) else "") for i, h in enumerate(header) if h}


class SippProcess:
    """A SIPp process (UAC or UAS) started in the background by this harness."""

    def __init__(self, scenario: Optional[Union[str, os.PathLike]], remote: Optional[str], *,
                 builtin: Optional[str] = None, transport: str = "u1", calls: int = 1,
                 rate: float = 10, inf: Optional[Union[str, os.PathLike, Iterable[Sequence[object]]]] = None,
                 call_id_prefix: Optional[str] = None, cid_str: Optional[str] = None,
                 extra: Sequence[str] = (), timeout: float = 60, local_port: Optional[int] = None,
                 workdir: Optional[Union[str, os.PathLike]] = None, no_retrans: bool = False,
                 trace_msg: bool = True, name: Optional[str] = None, local_ip: str = HOST,
                 netns: Optional[str] = None):
        self.workdir = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="sipp-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        label = name or (Path(scenario).stem if scenario else f"sn-{builtin}")
        stamp = f"{label}-{int(time.time() * 1000) % 10**9}"
        self.timeout = timeout
        self.local_port = local_port or free_port()
        f = lambda suffix: self.workdir / f"{stamp}{suffix}"  # noqa: E731
        self.paths = dict(stat=f("_stat.csv"), err=f("_errors.log"), msg=f("_messages.log"),
                          log=f("_logs.log"), screen=f("_screen.log"), out=f("_stdout.log"))
        # netns: run inside that network namespace (`ip netns exec` execs, so signals reach SIPp itself)
        cmd = (["ip", "netns", "exec", netns] if netns else []) + [SIPP]
        if remote:
            cmd.append(remote)
        if builtin:
            cmd += ["-sn", builtin]
        else:
            cmd += ["-sf", str(scenario_path(scenario))]
        cmd += ["-m", str(calls), "-r", str(rate), "-rp", "1000",
                "-t", transport, "-i", local_ip, "-p", str(self.local_port), "-mi", local_ip,
                "-ci", local_ip, "-cp", str(free_port("udp")),
                "-nostdin", "-timeout", f"{int(timeout)}s", "-timeout_error",
                "-trace_stat", "-stf", str(self.paths["stat"]), "-fd", "1",
                "-trace_err", "-error_file", str(self.paths["err"]),
                "-trace_logs", "-log_file", str(self.paths["log"]),
                "-trace_screen", "-screen_file", str(self.paths["screen"])]
        if trace_msg:
            cmd += ["-trace_msg", "-message_file", str(self.paths["msg"])]
        if no_retrans:
            cmd += ["-nr"]
        if inf is not None:
            if isinstance(inf, (str, os.PathLike)):
                inf_path = Path(inf)
            else:
                inf_path = write_inf(f(".csv"), inf)
            cmd += ["-inf", str(inf_path)]
        if cid_str is None and call_id_prefix is not None:
            cid_str = f"{call_id_prefix}-%u@{CALL_ID_DOMAIN}"
        if cid_str is not None:
            cmd += ["-cid_str", cid_str]
        cmd += list(extra)
        self.command = cmd
        self._out = open(self.paths["out"], "wb")
        self.started = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self._out,
                                     stderr=subprocess.STDOUT, cwd=self.workdir,
                                     start_new_session=True)

    def wait(self, timeout: Optional[float] = None) -> SippResult:
        """Wait for SIPp to exit (bounded: SIPp's -timeout plus a margin)."""
        limit = timeout if timeout is not None else self.timeout + 15
        timed_out = False
        try:
            rc = self.proc.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            timed_out = True
            self.kill()
            rc = self.proc.returncode
        finally:
            self._out.close()
        return SippResult(returncode=rc, command=self.command, workdir=self.workdir,
                          stat_file=self.paths["stat"], error_file=self.paths["err"],
                          message_file=self.paths["msg"], log_file=self.paths["log"],
                          screen_file=self.paths["screen"], stdout_file=self.paths["out"],
                          stats=parse_stat_file(self.paths["stat"]), timed_out=timed_out,
                          duration_s=time.monotonic() - self.started)

    def kill(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
                self.proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


def start_sipp(scenario: Union[str, os.PathLike], port: int, transport: str = "u1", calls: int = 1,
               rate: float = 10, inf: Optional[Union[str, os.PathLike, Iterable[Sequence[object]]]] = None,
               extra: Sequence[str] = (), timeout: float = 60, *, host: str = HOST,
               call_id_prefix: Optional[str] = None, cid_str: Optional[str] = None,
               workdir: Optional[Union[str, os.PathLike]] = None, no_retrans: bool = False,
               trace_msg: bool = True, local_port: Optional[int] = None) -> SippProcess:
    """Start a UAC scenario against ``host:port`` in the background; ``.wait()`` for the result."""
    return SippProcess(scenario, f"{host}:{port}", transport=transport, calls=calls, rate=rate, inf=inf,
                       call_id_prefix=call_id_prefix, cid_str=cid_str, extra=extra, timeout=timeout,
                       workdir=workdir, no_retrans=no_retrans, trace_msg=trace_msg,
                       local_port=local_port)


def run_sipp(scenario: Union[str, os.PathLike], port: int, transport: str = "u1", calls: int = 1,
             rate: float = 10, inf: Optional[Union[str, os.PathLike, Iterable[Sequence[object]]]] = None,
             extra: Sequence[str] = (), timeout: float = 60, *, host: str = HOST,
             call_id_prefix: Optional[str] = None, cid_str: Optional[str] = None,
             workdir: Optional[Union[str, os.PathLike]] = None, no_retrans: bool = False,
             trace_msg: bool = True, local_port: Optional[int] = None) -> SippResult:
    """Run a UAC scenario against ``host:port`` to completion and return the result.

    ``inf`` is a CSV path or a list of rows (written as a SEQUENTIAL file).
    ``transport``: 'u1' (UDP, one socket) or 't1' (TCP, one connection).
    ``call_id_prefix``: passed as ``-cid_str "<prefix>-%u@bluejay-test"``
    (see :func:`call_id`); ``cid_str`` overrides it (e.g. one exact Call-ID).
    ``local_port``: SIPp's own port (default: a free one).
    """
    return start_sipp(scenario, port, transport, calls, rate, inf, extra, timeout, host=host,
                      call_id_prefix=call_id_prefix, cid_str=cid_str, workdir=workdir,
                      no_retrans=no_retrans, trace_msg=trace_msg, local_port=local_port).wait()


def start_uas(scenario: Optional[Union[str, os.PathLike]] = None, *, builtin: Optional[str] = None,
              port: Optional[int] = None, transport: str = "u1", calls: int = 1,
              extra: Sequence[str] = (), timeout: float = 60,
              workdir: Optional[Union[str, os.PathLike]] = None, no_retrans: bool = False) -> SippProcess:
    """Start a SIPp UAS (a scenario file or ``builtin='uas'``) listening on 127.0.0.1:port."""
    p = SippProcess(scenario, None, builtin=builtin, transport=transport, calls=calls,
                    extra=extra, timeout=timeout, local_port=port or free_port(),
                    workdir=workdir, no_retrans=no_retrans)
    if not wait_bound(p.local_port, "tcp" if transport.startswith("t") else "udp", 10,
                      alive=lambda: p.proc.poll() is None):
        p.kill()
        raise RuntimeError(f"SIPp UAS did not bind 127.0.0.1:{p.local_port}: {p.wait(5).describe()}")
    return p


def _bound_ports(proto: str) -> set[int]:
    """Local ports with a socket on IPv4/IPv6 (UDP: any; TCP: LISTEN) per /proc/net."""
    ports: set[int] = set()
    for fam in ("", "6"):
        try:
            lines = Path(f"/proc/net/{proto}{fam}").read_text().splitlines()[1:]
        except OSError:
            continue
        for ln in lines:
            parts = ln.split()
            if len(parts) < 4:
                continue
            if proto == "tcp" and parts[3] != "0A":
                continue
            ports.add(int(parts[1].rsplit(":", 1)[1], 16))
    return ports


def wait_bound(port: int, proto: str = "udp", timeout: float = 10.0, alive=lambda: True) -> bool:
    """Wait (bounded) until something on this machine has ``port`` bound (UDP) or listening (TCP)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port in _bound_ports(proto):
            return True
        if not alive():
            return False
        time.sleep(0.05)
    return False


def parse_dialog_log(text: str) -> list[dict[str, str]]:
    """Lines ``DIALOG|call_id|sim_id|from_tag|to_tag|contact`` written by uac-invite-only.xml."""
    out = []
    for line in text.splitlines():
        i = line.find("DIALOG|")
        if i < 0:
            continue
        parts = line[i:].strip().split("|")
        if len(parts) >= 6:
            out.append(dict(call_id=parts[1], sim_id=parts[2], from_tag=parts[3],
                            to_tag=parts[4], contact=parts[5]))
    return out


def sip_messages(result: SippResult) -> list[str]:
    """The SIP messages SIPp sent/received (from -trace_msg), each as text."""
    chunks = result.messages.split("----------------------------------------------- ")
    return [c for c in chunks if c.strip()]


# --- network namespace helper ---------------------------------------------

def netns_available() -> bool:
    """True when ``unshare -n`` works here (root, or user namespaces allowed)."""
    if not shutil.which("unshare") or not shutil.which("ip"):
        return False
    try:
        r = subprocess.run(["unshare", "-n", "sh", "-c", "ip link set lo up && ip -o addr show lo"],
                           capture_output=True, timeout=10, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0 and b"127.0.0.1" in r.stdout


def run_in_netns(shell_cmd: str, timeout: float = 60, env: Optional[dict] = None,
                 cwd: Optional[Union[str, os.PathLike]] = None) -> subprocess.CompletedProcess:
    """Run ``shell_cmd`` (sh syntax) in a fresh network namespace that has only
    loopback (brought up first): nothing it sends can leave the machine, so it
    may replay third-party SIP captures that name arbitrary addresses."""
    return subprocess.run(["unshare", "-n", "sh", "-c", f"ip link set lo up && {shell_cmd}"],
                          capture_output=True, timeout=timeout, env=env, cwd=cwd,
                          stdin=subprocess.DEVNULL, text=True)
