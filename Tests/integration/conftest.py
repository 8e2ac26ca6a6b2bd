"""Fixtures for the sidecar's end-to-end tests (see README.md in this folder).

Everything listens on 127.0.0.1 only; every wait is bounded; every test has a
wall-clock limit (``@pytest.mark.timeout(N)``, default 60 s; pytest-timeout
is used when installed, otherwise a SIGALRM fallback below).
"""
from __future__ import annotations

import os
import secrets
import signal
import sys
from pathlib import Path
from typing import Callable, Iterator, Optional

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import sipp as sipp_mod  # noqa: E402
from agent import AgentClient  # noqa: E402
from bluejay_standin import BluejayStandin  # noqa: E402
from sidecar import Sidecar, binary_supports_http, sidecar_bin  # noqa: E402

DEFAULT_TEST_TIMEOUT = 60
SKIP_MISSING = os.environ.get("BLUEJAY_INTEGRATION_SKIP_MISSING") == "1"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "timeout(seconds): wall-clock limit for one test")
    config.addinivalue_line("markers", "sidecar: needs the bluejay-sidecar binary")


# --- per-test wall-clock limit ----------------------------------------------------

_HAVE_PYTEST_TIMEOUT = False
try:  # pragma: no cover - depends on the machine
    import pytest_timeout  # noqa: F401
    _HAVE_PYTEST_TIMEOUT = True
except ImportError:
    pass


class TestTimeout(Exception):
    pass


@pytest.fixture(autouse=True)
def _wall_clock_limit(request: pytest.FixtureRequest) -> Iterator[None]:
    if _HAVE_PYTEST_TIMEOUT or not hasattr(signal, "SIGALRM"):
        yield
        return
    m = request.node.get_closest_marker("timeout")
    seconds = float(m.args[0]) if m and m.args else DEFAULT_TEST_TIMEOUT

    def on_alarm(signum, frame):  # noqa: ANN001
        raise TestTimeout(f"test exceeded its {seconds:.0f}s limit")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


# --- reporting: show the sidecar's stderr when a test fails -------------------------

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):  # noqa: ANN201
    outcome = yield
    rep = outcome.get_result()
    if rep.when == "call" and rep.failed:
        for sc in getattr(item, "_sidecars", []):
            text = sc.stderr_text()
            tail = text[-6000:] if len(text) > 6000 else text
            rep.sections.append((f"sidecar stderr ({sc.stderr_path})", tail))


# --- basic building blocks -----------------------------------------------------------

@pytest.fixture
def free_port() -> Callable[..., int]:
    return sipp_mod.free_port


@pytest.fixture(scope="session")
def require_sipp() -> None:
    if not sipp_mod.sipp_available():
        if SKIP_MISSING:
            pytest.skip("sipp not installed")
        pytest.fail("sipp not found on PATH (apt-get install sip-tester, or set SIPP_BIN)")


@pytest.fixture(scope="session")
def require_sidecar_bin() -> Path:
    b = sidecar_bin()
    if not b.is_file():
        msg = f"sidecar binary not found at {b} (run `swift build`, or set SIDECAR_BIN)"
        if SKIP_MISSING:
            pytest.skip(msg)
        pytest.fail(msg)
    return b


@pytest.fixture
def api_key() -> str:
    # Distinctive enough that finding it in a log is never a coincidence.
    return "bjk_TEST_" + secrets.token_hex(16)


@pytest.fixture
def standin(api_key: str) -> Iterator[BluejayStandin]:
    s = BluejayStandin(api_key=api_key).start()
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
def sidecar_factory(request: pytest.FixtureRequest, tmp_path: Path, require_sidecar_bin: Path,
                    require_sipp: None) -> Iterator[Callable[..., Sidecar]]:
    """``sidecar_factory(bluejay_url=..., api_key=..., args=[...], env={...}, start=True)``.
    Every sidecar made here is stopped at teardown."""
    made: list[Sidecar] = []
    request.node._sidecars = made  # for the failure report above

    def make(*, start: bool = True, **kw) -> Sidecar:
        sc = Sidecar(tmp_path / f"sidecar{len(made) + 1}", binary=require_sidecar_bin, **kw)
        made.append(sc)
        if start:
            sc.start()
        return sc

    try:
        yield make
    finally:
        for sc in made:
            sc.cleanup()


@pytest.fixture
def sidecar(sidecar_factory: Callable[..., Sidecar], standin: BluejayStandin) -> Sidecar:
    """A running sidecar delivering to the stand-in (key via --api-key-file, linger 200 ms)."""
    return sidecar_factory(bluejay_url=standin.url, api_key=standin.api_key)


@pytest.fixture
def agent_factory() -> Iterator[Callable[..., AgentClient]]:
    clients: list[AgentClient] = []

    def make(sc_or_path, timeout: float = 5.0) -> AgentClient:
        path = sc_or_path.socket_path if isinstance(sc_or_path, Sidecar) else sc_or_path
        c = AgentClient(path, timeout=timeout)
        clients.append(c)
        return c

    try:
        yield make
    finally:
        for c in clients:
            c.close()


@pytest.fixture
def agent(sidecar: Sidecar, agent_factory: Callable[..., AgentClient]) -> AgentClient:
    return agent_factory(sidecar)


@pytest.fixture
def sipp_dir(tmp_path: Path) -> Path:
    d = tmp_path / "sipp"
    d.mkdir(exist_ok=True)
    return d


@pytest.fixture
def run_sipp(sipp_dir: Path, require_sipp: None) -> Callable[..., "sipp_mod.SippResult"]:
    """``run_sipp(scenario, port, transport='u1', calls=1, rate=10, inf=rows, ...)`` with logs under tmp."""
    def run(scenario, port: int, *args, **kw):
        kw.setdefault("workdir", sipp_dir)
        return sipp_mod.run_sipp(scenario, port, *args, **kw)
    return run


@pytest.fixture
def start_sipp(sipp_dir: Path, require_sipp: None) -> Iterator[Callable[..., "sipp_mod.SippProcess"]]:
    """Like run_sipp but returns the running process (``.wait()`` for the result); killed at teardown."""
    procs: list[sipp_mod.SippProcess] = []

    def start(scenario, port: int, *args, **kw):
        kw.setdefault("workdir", sipp_dir)
        p = sipp_mod.start_sipp(scenario, port, *args, **kw)
        procs.append(p)
        return p

    try:
        yield start
    finally:
        for p in procs:
            p.kill()


@pytest.fixture
def unique() -> Callable[[str], str]:
    """unique('sim') -> 'sim-3f9a1c' : ids that never collide between tests."""
    tag = secrets.token_hex(3)
    return lambda prefix: f"{prefix}-{tag}"


@pytest.fixture(scope="session")
def netns() -> Callable[..., "object"]:
    """run_in_netns(shell_cmd): run inside a loopback-only network namespace (skips if unavailable)."""
    if not sipp_mod.netns_available():
        if os.environ.get("BLUEJAY_INTEGRATION_SKIP_MISSING") == "1":
            pytest.skip("unshare -n not available here")
        pytest.fail("unshare -n is not available: tests that replay third-party SIP need a loopback-only namespace (run as root)")
    return sipp_mod.run_in_netns


# --- the HTTP listener (health, webhooks, admin API, metrics, status page) ------------

@pytest.fixture(scope="session")
def require_http(require_sidecar_bin: Path) -> None:
    """The binary must have the ``--http`` listener (tests of it fail, not pass, without)."""
    if not binary_supports_http(require_sidecar_bin):
        msg = (f"{require_sidecar_bin} has no --http flag (`run --help` does not list it): "
               f"the HTTP listener is not built in yet")
        if SKIP_MISSING:
            pytest.skip(msg)
        pytest.fail(msg)


@pytest.fixture
def admin_factory(require_http: None) -> Callable[..., "object"]:
    """``admin_factory(sidecar, token=None)`` -> admin.AdminClient for its HTTP listener
    (waits, bounded, until ``GET /healthz`` answers)."""
    from admin import AdminClient

    def make(sc: Sidecar, token: Optional[str] = None, timeout: float = 5.0) -> AdminClient:
        c = AdminClient(sc.http_url, token=token, timeout=timeout)
        c.wait_healthy(timeout=10)
        return c
    return make


@pytest.fixture
def admin(sidecar: Sidecar, admin_factory: Callable[..., "object"]) -> "object":
    """An admin.AdminClient for the default ``sidecar`` (no admin token: loopback is enough)."""
    return admin_factory(sidecar)
