"""--timeout bounds a whole request (until the last byte of the answer), not each socket read.

The emulator's trickle_next sends an answer one byte at a time, each byte well within any
per-read timeout; the whole answer would take minutes. Every test here would hang for those
minutes without the deadline, so each one runs its client under a generous guard (60 s)
and fails, rather than hangs, if the request outlives it. No test measures a duration.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from homer_sync.api import ConnectionSettings
from homer_sync.api.deadline import DeadlineSocket
from homer_sync.api.http import Transport
from homer_sync.errors import ApiError

REPO = Path(__file__).resolve().parents[1]
GUARD = 60.0  # seconds; a trickled answer below lasts far longer than this
BYTE_EVERY = 0.05  # seconds between trickled bytes: far below any per-read timeout used here


def seed_many(emulator, count=400):
    """Enough aliases that the list answer (~40 KB) trickles for over half an hour."""
    emulator.seed([{"alias": f"host{i:03d}", "ip": f"10.9.{i // 250}.{i % 250 + 1}"} for i in range(count)])


def guarded(func):
    """Run ``func`` in a thread; its outcome, or a failure if it is still running after GUARD."""
    outcome: dict = {}

    def target():
        try:
            outcome["value"] = func()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(GUARD)
    if thread.is_alive():
        pytest.fail(f"the request still runs after {GUARD:g} s: --timeout did not bound it")
    return outcome


# -- DeadlineSocket, with an injected clock ------------------------------------------------------


class Clock:
    def __init__(self, now=100.0):
        self.now = now

    def __call__(self):
        return self.now


@pytest.fixture
def pair():
    left, right = socket.socketpair()
    yield left, right
    left.close()
    right.close()


def test_each_read_gets_only_the_time_left(pair):
    left, right = pair
    clock = Clock()
    left.settimeout(10.0)
    wrapped = DeadlineSocket(left, deadline=103.0, clock=clock)
    right.sendall(b"ab")
    assert wrapped.recv(1) == b"a"
    assert left.gettimeout() == 3.0  # the 3 s left, not the 10 s per-read timeout
    clock.now = 102.5
    assert wrapped.recv(1) == b"b"
    assert left.gettimeout() == 0.5
    assert wrapped.gettimeout() == 10.0  # what the caller set is kept


def test_the_per_read_timeout_still_applies_when_shorter(pair):
    left, _ = pair
    wrapped = DeadlineSocket(left, deadline=200.0, clock=Clock(100.0))
    wrapped.settimeout(2.0)
    with pytest.raises(TimeoutError):  # nothing sent: the 2 s per-read timeout trips first (real time)
        wrapped.recv(1)
    assert left.gettimeout() == 2.0


def test_a_read_after_the_deadline_fails_at_once_even_with_data_waiting(pair):
    left, right = pair
    clock = Clock(100.0)
    wrapped = DeadlineSocket(left, deadline=101.0, clock=clock)
    right.sendall(b"more")
    clock.now = 101.0
    with pytest.raises(TimeoutError):
        wrapped.recv(4)
    buffer = bytearray(4)
    with pytest.raises(TimeoutError):
        wrapped.recv_into(buffer)


def test_makefile_reads_through_the_deadline_and_keeps_the_socket_open_until_closed(pair):
    left, right = pair
    clock = Clock(100.0)
    wrapped = DeadlineSocket(left, deadline=101.0, clock=clock)
    reader = wrapped.makefile("rb")
    right.sendall(b"line\n")
    assert reader.readline() == b"line\n"
    left.close()  # as http.client does on "Connection: close" while the body is still unread
    right.sendall(b"rest\n")
    assert reader.readline() == b"rest\n"
    clock.now = 101.0
    right.sendall(b"late\n")
    with pytest.raises(TimeoutError):
        reader.readline()
    reader.close()


# -- the HTTP transport against a trickling emulator ----------------------------------------------


def transport(emulator, timeout=1.0, retries=0):
    return Transport(ConnectionSettings(url=emulator.url, username="admin", password="sipcapture",
                                        timeout=timeout, retries=retries))


def list_aliases(emulator, client):
    return client.send("GET", "/api/v3/alias", headers={"Authorization": f"Bearer {emulator.issue_jwt()}"})


@pytest.mark.parametrize("body_only", [False, True], ids=["status line and headers trickle", "body trickles"])
def test_a_trickled_answer_is_cut_off_at_the_timeout(emulator, body_only):
    seed_many(emulator)
    emulator.trickle_next(1, BYTE_EVERY, body_only=body_only, method="GET", path_prefix="/api/v3/alias")
    client = transport(emulator)
    outcome = guarded(lambda: list_aliases(emulator, client))
    client.close()
    error = outcome.get("error")
    assert isinstance(error, ApiError), outcome
    assert str(error) == f"HOMER at {emulator.url} failed to answer GET /api/v3/alias: no complete answer within 1s"


def test_a_retry_after_a_trickled_answer_gets_a_fresh_limit(emulator, monkeypatch):
    import types

    import urllib3.util.retry as retry_module

    # No backoff wait: urllib3's retry module gets a clock whose sleep returns at once.
    monkeypatch.setattr(retry_module, "time", types.SimpleNamespace(sleep=lambda s: None, time=time.time,
                                                                    monotonic=time.monotonic))
    seed_many(emulator)
    emulator.trickle_next(1, BYTE_EVERY, method="GET", path_prefix="/api/v3/alias")
    client = transport(emulator, retries=1)
    outcome = guarded(lambda: list_aliases(emulator, client))
    client.close()
    assert "error" not in outcome, outcome
    reply = outcome["value"]
    assert reply.status == 201 and reply.retries == 1
    assert len(reply.data["data"]) == 400


def test_a_prompt_answer_is_unaffected(emulator):
    seed_many(emulator)
    client = transport(emulator, timeout=5.0)
    first = list_aliases(emulator, client)
    second = list_aliases(emulator, client)  # the pooled connection is reused
    client.close()
    assert len(first.data["data"]) == len(second.data["data"]) == 400
    assert emulator.connections_opened == 1


# -- the command line: exit 1 with one clear line --------------------------------------------------


def test_plan_against_a_trickling_server_exits_1_with_a_timeout_message(emulator, tmp_path):
    seed_many(emulator)
    emulator.trickle_next(1, BYTE_EVERY, body_only=True, method="GET", path_prefix="/api/v3/alias")
    inventory = tmp_path / "inv.yaml"
    inventory.write_text("version: 1\naliases:\n  - {alias: pcscf01, ip: 10.1.1.1}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOMER_")}
    env.update(PYTHONPATH=str(REPO), HOMER_URL=emulator.url, HOMER_USERNAME="admin", HOMER_PASSWORD="sipcapture",
               HOMER_API="v3", XDG_STATE_HOME=str(tmp_path / "state"), NO_COLOR="1")
    try:
        proc = subprocess.run([sys.executable, "-m", "homer_sync", "--timeout", "2", "--retries", "0",
                               "apply", "--yes", str(inventory)],
                              env=env, capture_output=True, text=True, timeout=GUARD, cwd=tmp_path)
    except subprocess.TimeoutExpired:
        pytest.fail(f"apply still runs after {GUARD:g} s: --timeout did not bound the request")
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert proc.stderr.splitlines() == [
        f"Error: HOMER at {emulator.url} failed to answer GET /api/v3/alias: no complete answer within 2s"]
    assert "Traceback" not in proc.stderr
