"""Shared pytest fixtures."""

from __future__ import annotations

import contextlib as _contextlib
import ipaddress as _ipaddress
import os as _os
import re as _re
import socket as _socket
import traceback as _traceback

import factories
import pytest

import homer_sync
from homer_sync.emulator import HomerEmulator


def pytest_report_header(config):
    """Which homer_sync the run tests: CI checks that it is the installed wheel, not a source tree."""
    return f"homer_sync {homer_sync.__version__} from {homer_sync.__file__}"


@pytest.fixture
def emulator():
    """A HOMER 7 (API v3) emulator on a free loopback port; admin / sipcapture."""
    with HomerEmulator(api="v3") as homer:
        yield homer


@pytest.fixture
def emulator_v4():
    """An API v4 emulator on a free loopback port; admin / sipcapture."""
    with HomerEmulator(api="v4") as homer:
        yield homer


@pytest.fixture(params=["v3", "v4"])
def any_emulator(request):
    """The emulator in each mode in turn (HOMER 7 / API v3, then HOMER 10+ / API v4); admin / sipcapture."""
    with HomerEmulator(api=request.param) as homer:
        yield homer


# -- secret hygiene, suite-wide ------------------------------------------------------------------
# Every HomerEmulator started and every CliRunner result produced while a test runs are
# remembered; when the test ends, no password, API token or JWT those emulators know or issued
# (nor anything shaped like a JWT) may appear in any of those outputs. Output of subprocesses
# joins in through the ``output_guard`` fixture.

_JWT_SHAPE = _re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]*")
_started_emulators: list = []
_captured_outputs: list = []


def _result_text(result) -> str:
    parts = [result.output]
    with _contextlib.suppress(ValueError):  # stderr not captured separately
        parts.append(result.stderr)
    if result.exc_info is not None:
        parts.append("".join(_traceback.format_exception(*result.exc_info)))
    return "\n".join(p for p in parts if p)


def find_secrets(texts, emulators) -> list[str]:
    """What leaked: "<secret kind> in output #n" lines (the secret itself is not repeated)."""
    secrets = set()
    for emulator in emulators:
        secrets |= {s for s in emulator.secrets() if s}
    leaks = []
    for index, text in enumerate(texts):
        for secret in secrets:
            if secret in text:
                kind = "a JWT" if secret.startswith("eyJ") else f"a {len(secret)}-character secret"
                where = text.index(secret)
                leaks.append(f"{kind} in output #{index}: ...{text[max(0, where - 60):where]}")
        if _JWT_SHAPE.search(text):
            leaks.append(f"something shaped like a JWT in output #{index}")
        if _re.search(r"Bearer +(?!\*\*\*)\S", text):
            leaks.append(f"a Bearer credential in output #{index}")
    return leaks


@pytest.fixture(scope="session", autouse=True)
def _watch_emulators_and_cli_runs():
    from click.testing import CliRunner
    from netbox_emulator import NetBoxEmulator

    start, invoke, netbox_enter = HomerEmulator.start, CliRunner.invoke, NetBoxEmulator.__enter__

    def watched_start(self):
        _started_emulators.append(self)
        return start(self)

    def watched_netbox_enter(self):  # its tokens are secrets too
        _started_emulators.append(self)
        return netbox_enter(self)

    def watched_invoke(self, *args, **kwargs):
        result = invoke(self, *args, **kwargs)
        _captured_outputs.append(_result_text(result))
        return result

    HomerEmulator.start, CliRunner.invoke = watched_start, watched_invoke
    NetBoxEmulator.__enter__ = watched_netbox_enter  # type: ignore[method-assign]
    yield
    HomerEmulator.start, CliRunner.invoke = start, invoke
    NetBoxEmulator.__enter__ = netbox_enter  # type: ignore[method-assign]


class OutputGuard:
    """Adds outputs (of subprocesses, say) to the texts checked for secrets after the test."""

    outputs = _captured_outputs
    emulators = _started_emulators

    def record(self, *texts) -> None:
        _captured_outputs.extend(t for t in texts if t)

    def leaks(self) -> list[str]:
        return find_secrets(_captured_outputs, _started_emulators)


@pytest.fixture(autouse=True)
def output_guard():
    """Fails the test when any CLI output it produced carries a secret of an emulator it started."""
    _started_emulators.clear()
    _captured_outputs.clear()
    guard = OutputGuard()
    yield guard
    leaks = guard.leaks()
    _started_emulators.clear()
    _captured_outputs.clear()
    if leaks:
        pytest.fail("secrets leaked into CLI output:\n" + "\n".join(leaks), pytrace=False)


# -- private state and config, suite-wide -----------------------------------------------------------
# A run takes its lock and writes its backups under $XDG_STATE_HOME, and reads named servers from
# $XDG_CONFIG_HOME: every test gets directories of its own (tests may set others), so that no test
# waits for the operator's lock, writes into their home, or reads their config and HOMER_SERVER.


# Under `faketime` (the clock runs of .ci/run) this process runs with the moved clock, but the
# programs the tests start (the CLI as a subprocess, the demo, dnsmasq, Kamailio) run on the real
# one: libfaketime breaks them, not the product. In a threaded Python 3.10 child it makes the GIL's
# timed wait fail ("take_gil: PyCOND_WAIT failed"), and in a child started with standard input or
# output closed its own file takes that descriptor, so the child reads or writes libfaketime's file.
for _name in ("LD_PRELOAD", "FAKETIME", "FAKETIME_DONT_FAKE_MONOTONIC"):
    _os.environ.pop(_name, None)


@pytest.fixture(autouse=True)
def private_state(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config")))
    for name in ("HOMER_SERVER", "HOMER_SYNC_CONFIG"):
        monkeypatch.delenv(name, raising=False)


# -- network guard, suite-wide -------------------------------------------------------------------
# Tests talk to servers they start on loopback (emulators, dnsmasq, kamailio on 127.0.0.1), never
# to the network. A socket connect, or a datagram sent, to any other address is refused, and the
# test fails even if the code under test caught the error. Name lookups through the C library
# (getaddrinfo) are not seen here; tests resolve through resolvers they inject or serve themselves.

class NetworkAccessBlocked(ConnectionRefusedError):
    """Raised instead of opening a connection to a non-loopback address during a test."""


def _is_loopback(address) -> bool:
    if not isinstance(address, tuple):  # AF_UNIX paths and other local families
        return True
    host = str(address[0]).split("%", 1)[0]
    if host == "localhost":
        return True
    try:
        return _ipaddress.ip_address(host).is_loopback or _is_mapped_loopback(host)
    except ValueError:  # a host name: it would be resolved, then reached over the network
        return False


def _is_mapped_loopback(host: str) -> bool:
    mapped = getattr(_ipaddress.ip_address(host), "ipv4_mapped", None)
    return mapped is not None and mapped.is_loopback


class NetworkGuard:
    def __init__(self):
        self.violations: list[str] = []

    def check(self, operation: str, address) -> None:
        if not _is_loopback(address):
            self.violations.append(f"{operation} {address!r}")
            raise NetworkAccessBlocked(f"tests may only reach loopback, not {address!r} ({operation})")


@pytest.fixture(autouse=True)
def network_guard(monkeypatch):
    """Fails the test that connects or sends to anything but loopback (127.0.0.0/8, ::1)."""
    guard = NetworkGuard()
    real = _socket.socket
    connect, connect_ex, sendto = real.connect, real.connect_ex, real.sendto

    def guarded_connect(sock, address):
        guard.check("connect", address)
        return connect(sock, address)

    def guarded_connect_ex(sock, address):
        guard.check("connect", address)
        return connect_ex(sock, address)

    def guarded_sendto(sock, data, *args):
        guard.check("sendto", args[-1])
        return sendto(sock, data, *args)

    monkeypatch.setattr(real, "connect", guarded_connect)
    monkeypatch.setattr(real, "connect_ex", guarded_connect_ex)
    monkeypatch.setattr(real, "sendto", guarded_sendto)
    yield guard
    if guard.violations:
        pytest.fail("the test reached beyond loopback: " + "; ".join(guard.violations), pytrace=False)


# -- shared factories ------------------------------------------------------------------------------


@pytest.fixture
def make_alias():
    """make_alias(ip="10.0.0.1", name="h", *, mask, port=5060, capture="0", status, guid, extra): an Alias."""
    return factories.make_alias


@pytest.fixture
def make_settings():
    """make_settings(url, **kw): ConnectionSettings for an admin / sipcapture login, no backoff sleeps."""
    return factories.connection_settings


@pytest.fixture
def cli_run(tmp_path):
    """cli_run(*args, emulator=None, env=None, input=None): the CLI in-process as an operator calls it;
    with an emulator, its URL and an admin login come from the environment; state under tmp_path."""
    from click.testing import CliRunner

    from homer_sync.cli import cli

    def invoke(*args, emulator=None, env=None, input=None):
        full_env = {"XDG_STATE_HOME": str(tmp_path / "state")}
        if emulator is not None:
            full_env.update({"HOMER_URL": emulator.url, "HOMER_USERNAME": "admin", "HOMER_PASSWORD": "sipcapture",
                             "HOMER_API": emulator.api})
        full_env.update(env or {})
        return CliRunner().invoke(cli, [str(a) for a in args], env=full_env, input=input, catch_exceptions=False)

    return invoke
