"""End-to-end fault tests: the CLI against the emulator while it misbehaves.

Every guarantee of the README's "Failure behaviour" section has a test here: retries with
backoff, ambiguous creates, expired sessions, partial failure, overlapping runs, Ctrl-C.
Backoff sleeps are recorded instead of slept (``sleeps`` fixture), so the file runs fast;
the outputs of every run are checked for secrets by the ``output_guard`` fixture (conftest).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import types
from collections import Counter
from dataclasses import replace

import pytest
import requests
from click.testing import CliRunner

from homer_sync.cli import cli
from homer_sync.emulator import HomerEmulator
from homer_sync.lock import run_lock

from waiting import wait_until

PASSWORD = "sipcapture"


# -- helpers -----------------------------------------------------------------------------------


def paths(emulator):
    """(login path, alias collection path) of the emulator's API."""
    if emulator.api == "v3":
        return "/api/v3/auth", "/api/v3/alias"
    return "/api/v4/auth/sessions", "/api/v4/aliases"


def count(emulator, method, path, status="any"):
    return sum(1 for m, p, s in emulator.request_log
               if m == method and p.startswith(path) and (status == "any" or s == status))


def identities(emulator) -> Counter:
    return Counter((a["ip"], a["mask"], a["port"], a["captureID"]) for a in emulator.aliases())


def names(emulator) -> list:
    return sorted(a["alias"] for a in emulator.aliases())


def write_inventory(tmp_path, aliases, name="inv.yaml", prune=False) -> str:
    lines = ["version: 1", "aliases:"]
    for alias, ip, port in aliases:
        lines.append(f"  - {{alias: {alias}, ip: {ip}, port: {port}}}")
    if prune:
        lines.append("prune: {enabled: true}")
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def hosts(n, prefix="10.20.0"):
    return [(f"host{i:02d}", f"{prefix}.{i + 1}", 5060) for i in range(n)]


def apply_report(stdout: str) -> dict:
    """The apply result in ``apply --output json``: the ``apply`` member of the document."""
    decoder, docs, index = json.JSONDecoder(), [], 0
    while index < len(stdout.rstrip()):
        doc, index = decoder.raw_decode(stdout, index)
        docs.append(doc)
        while index < len(stdout) and stdout[index].isspace():
            index += 1
    for doc in docs:
        if isinstance(doc.get("apply"), dict):
            return doc["apply"]
        if "ok" in doc:
            return doc
    raise AssertionError(f"no apply result in {stdout!r}")


def base_env(emulator, tmp_path, **extra):
    env = {"HOMER_URL": emulator.url, "HOMER_USERNAME": "admin", "HOMER_PASSWORD": PASSWORD,
           "HOMER_API": emulator.api, "XDG_STATE_HOME": str(tmp_path / "state")}
    env.update(extra)
    return env


@pytest.fixture
def run(tmp_path):
    """run(emulator, *args, env=None, input=None): the CLI in-process, as an operator calls it."""

    def invoke(emulator, *args, env=None, input=None):
        result = CliRunner().invoke(cli, list(args), env=base_env(emulator, tmp_path, **(env or {})),
                                    input=input, catch_exceptions=False)
        assert PASSWORD not in result.output
        return result

    return invoke


@pytest.fixture
def sleeps(monkeypatch):
    """Backoff and Retry-After sleeps of urllib3 are recorded here instead of slept."""
    import urllib3.util.retry as retry_module

    recorded = []
    fake = types.SimpleNamespace(sleep=recorded.append, time=time.time, monotonic=time.monotonic)
    monkeypatch.setattr(retry_module, "time", fake)
    return recorded


@pytest.fixture(params=["v3", "v4"])
def homer(request):
    with HomerEmulator(api=request.param) as emulator:
        yield emulator


def subprocess_env(emulator, tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOMER_")}
    env.update(base_env(emulator, tmp_path, **extra))
    env["NO_COLOR"] = "1"
    return env


def start_cli(emulator, tmp_path, *args, **env):
    return subprocess.Popen([sys.executable, "-m", "homer_sync", *args], cwd=str(tmp_path),
                            env=subprocess_env(emulator, tmp_path, **env), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


# -- the emulator's fault injection used below --------------------------------------------------


def test_emulator_delay_next_handles_at_once_and_answers_late(emulator):
    login = requests.post(f"{emulator.url}/api/v3/auth", json={"username": "admin", "password": PASSWORD})
    headers = {"Authorization": f"Bearer {login.json()['token']}"}
    emulator.delay_next(1, 600, method="POST", path_prefix="/api/v3/alias")  # answered only when released
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.post(f"{emulator.url}/api/v3/alias", headers=headers, timeout=0.2,
                      json={"alias": "a", "ip": "10.0.0.1", "port": 0, "mask": 32, "captureID": "0", "status": True})
    assert names(emulator) == ["a"]  # stored although the client gave up


def test_emulator_expire_tokens_before_next_and_skip(emulator):
    url = f"{emulator.url}/api/v3/alias"

    def login():
        token = requests.post(f"{emulator.url}/api/v3/auth", json={"username": "admin",
                                                                   "password": PASSWORD}).json()["token"]
        return {"Authorization": f"Bearer {token}"}

    headers = login()
    emulator.expire_tokens(before_next=1, method="GET", path_prefix="/api/v3/alias")
    assert requests.get(url, headers=headers).status_code == 401
    fresh = login()
    assert requests.get(url, headers=fresh).status_code == 201  # only the next one
    emulator.fail_next(1, 503, method="GET", skip=1)
    assert [requests.get(url, headers=fresh).status_code for _ in range(3)] == [201, 503, 201]


# -- retries, backoff, timeouts -----------------------------------------------------------------


def test_get_is_retried_on_502_503_504_with_exponential_backoff_and_jitter(run, emulator, sleeps, tmp_path):
    inv = write_inventory(tmp_path, hosts(1))
    for status in (502, 503, 504):
        emulator.fail_next(1, status, method="GET", path_prefix="/api/v3/alias")
    result = run(emulator, "-v", "plan", inv)
    assert result.exit_code == 0, result.output
    assert [s for m, _, s in emulator.request_log if m == "GET"] == [502, 503, 504, 201]
    for status in (502, 503, 504):
        assert f"HTTP GET /api/v3/alias {status} " in result.output  # -v shows every attempt
    # urllib3 backoff with factor 0.5: retry 1 at once, then 1 s, 2 s (+ up to 0.25 s jitter)
    assert len(sleeps) == 2
    assert 1.0 <= sleeps[0] <= 1.25 and 2.0 <= sleeps[1] <= 2.25
    assert sleeps[0] != 1.0 or sleeps[1] != 2.0  # jitter (both exact is a 0-probability event)


def test_429_honours_retry_after(run, emulator, sleeps, tmp_path):
    inv = write_inventory(tmp_path, hosts(1))
    emulator.fail_next(2, 429, retry_after=7, method="GET", path_prefix="/api/v3/alias")
    result = run(emulator, "plan", inv)
    assert result.exit_code == 0, result.output
    assert sleeps == [7, 7]
    assert count(emulator, "GET", "/api/v3/alias") == 3


def test_put_and_delete_are_retried(run, homer, sleeps, tmp_path):
    homer.seed([{"alias": "old-name", "ip": "10.0.0.1", "port": 5060}, {"alias": "stale", "ip": "10.0.0.2",
                                                                        "port": 5060}])
    inv = write_inventory(tmp_path, [("new-name", "10.0.0.1", 5060)], prune=True)
    homer.fail_next(1, 503, method="PUT")
    homer.fail_next(1, 429, retry_after=1, method="PUT")
    homer.fail_next(1, 502, method="DELETE")
    homer.drop_next(1, after_processing=True, method="DELETE")  # the retry finds it gone: fine
    result = run(homer, "apply", "--yes", inv)
    assert result.exit_code == 0, result.output
    assert "Apply complete: 0 created, 1 updated, 1 deleted; verified." in result.output
    assert names(homer) == ["new-name"]
    assert [s for m, _, s in homer.request_log if m == "PUT"] == [503, 429, 200 if homer.api == "v4" else 201]
    assert count(homer, "DELETE", paths(homer)[1]) == 3


def test_retries_exhausted_name_the_url_and_the_last_status(run, emulator, sleeps, tmp_path):
    inv = write_inventory(tmp_path, hosts(1))
    emulator.fail_next(100, 503, method="GET")
    result = run(emulator, "--retries", "2", "plan", inv)
    assert result.exit_code == 1
    assert f"GET {emulator.url}/api/v3/alias failed after 2 retries: last status 503" in result.output
    assert count(emulator, "GET", "/api/v3/alias") == 3

    emulator.reset_stats()
    result = run(emulator, "plan", "--retries", "0", inv)  # also accepted after the command
    assert result.exit_code == 1
    assert count(emulator, "GET", "/api/v3/alias") == 1
    expected = f"GET {emulator.url}/api/v3/alias failed without a retry (retries are set to 0): last status 503"
    assert expected in result.output


def test_timeout_is_honoured_and_read_timeouts_are_retried(run, emulator, sleeps, tmp_path):
    inv = write_inventory(tmp_path, hosts(1))
    # Held far beyond the timeout: only release_held() answers them, whatever the machine's load.
    emulator.delay_next(2, 600, method="GET", path_prefix="/api/v3/alias")
    result = run(emulator, "--timeout", "0.2", "--retries", "1", "plan", inv)
    assert result.exit_code == 1
    assert (f"HOMER at {emulator.url} failed to answer GET /api/v3/alias: no complete answer within 0.2s"
            " (after 1 retry)") in result.output
    emulator.release_held()  # the run is over: every request it sent is in the server or logged
    wait_until(lambda: emulator.in_flight == [], what="every request handled")
    assert count(emulator, "GET", "/api/v3/alias") == 2


def test_dropped_connections_are_retried(run, emulator, sleeps, tmp_path):
    inv = write_inventory(tmp_path, hosts(1))
    emulator.drop_next(2, after_processing=False, method="GET")
    result = run(emulator, "plan", inv)
    assert result.exit_code == 0, result.output
    assert [s for m, _, s in emulator.request_log if m == "GET"] == [None, None, 201]

    emulator.reset_stats()
    emulator.drop_next(100, after_processing=False, method="GET")
    result = run(emulator, "--retries", "2", "plan", inv)
    assert result.exit_code == 1
    assert (f"HOMER at {emulator.url} failed to answer GET /api/v3/alias: the connection was closed"
            " before HOMER answered (after 2 retries)") in result.output
    assert count(emulator, "GET", "/api/v3/alias") == 3


def test_login_is_retried_through_a_restarting_proxy(run, emulator, sleeps, tmp_path):
    inv = write_inventory(tmp_path, hosts(1))
    emulator.fail_next(1, 502, method="POST", path_prefix="/api/v3/auth")
    emulator.drop_next(1, after_processing=False, method="POST", path_prefix="/api/v3/auth")
    result = run(emulator, "plan", inv)
    assert result.exit_code == 0, result.output
    assert sorted(map(str, (s for m, p, s in emulator.request_log if p == "/api/v3/auth"))) == ["201", "502", "None"]


def test_unreachable_server_is_a_clear_error(run, tmp_path, sleeps):
    with HomerEmulator() as gone:
        url = gone.url
    inv = write_inventory(tmp_path, hosts(1))
    result = CliRunner().invoke(cli, ["--url", url, "--username", "admin", "--retries", "1", "plan", inv],
                                env={"HOMER_PASSWORD": PASSWORD, "XDG_STATE_HOME": str(tmp_path)})
    assert result.exit_code == 1
    assert f"cannot reach HOMER at {url}: connection refused" in result.output


# -- creates whose outcome is unknown -----------------------------------------------------------


def test_create_dropped_after_processing_ends_with_exactly_one_alias(run, homer, tmp_path):
    _, aliases = paths(homer)
    inv = write_inventory(tmp_path, hosts(3))
    homer.drop_next(1, after_processing=True, method="POST", path_prefix=aliases)
    result = run(homer, "apply", "--yes", inv)
    assert result.exit_code == 0, result.output
    assert "Apply complete: 3 created" in result.output
    assert identities(homer) == Counter({("10.20.0.1", 32, 5060, "0"): 1, ("10.20.0.2", 32, 5060, "0"): 1,
                                         ("10.20.0.3", 32, 5060, "0"): 1})
    assert count(homer, "POST", aliases) == 3  # never sent twice
    assert run(homer, "plan", "--detailed-exitcode", inv).exit_code == 0


def test_create_answered_502_is_checked_then_created(run, homer, tmp_path):
    _, aliases = paths(homer)
    inv = write_inventory(tmp_path, hosts(1))
    homer.fail_next(1, 502, method="POST", path_prefix=aliases)
    result = run(homer, "apply", "--yes", inv)
    assert result.exit_code == 0, result.output
    assert names(homer) == ["host00"]
    assert [s for m, p, s in homer.request_log if m == "POST" and p == aliases] == [502, 201]


def test_create_that_timed_out_but_took_effect_is_not_repeated(run, homer, tmp_path):
    _, aliases = paths(homer)
    inv = write_inventory(tmp_path, hosts(2))
    homer.delay_next(1, 600, method="POST", path_prefix=aliases)  # answered only when released
    result = run(homer, "--timeout", "0.3", "apply", "--yes", inv)
    assert result.exit_code == 0, result.output
    assert sorted(identities(homer).values()) == [1, 1]
    homer.release_held()  # the run is over: every request it sent is in the server or logged
    wait_until(lambda: homer.in_flight == [], what="every request handled")
    assert count(homer, "POST", aliases) == 2


def test_unknown_create_outcome_without_a_fresh_list_is_not_repeated(run, emulator, sleeps, tmp_path):
    inv = write_inventory(tmp_path, hosts(1))
    emulator.drop_next(1, after_processing=True, method="POST", path_prefix="/api/v3/alias")
    emulator.fail_next(100, 503, method="GET", skip=1)  # the first list works, no later one
    result = run(emulator, "--retries", "1", "apply", "--yes", inv)
    assert result.exit_code == 1
    assert "unknown outcome" in result.output and "not created again" in result.output
    assert "could not be listed to verify" not in result.output  # nothing was confirmed done
    assert count(emulator, "POST", "/api/v3/alias") == 1
    emulator.clear_faults()
    again = run(emulator, "apply", "--yes", inv)
    assert again.exit_code == 0, again.output
    assert "No changes" in again.output
    assert names(emulator) == ["host00"]


# -- expired sessions ---------------------------------------------------------------------------


def test_session_expiring_mid_apply_logs_in_again_once(run, homer, tmp_path):
    login, aliases = paths(homer)
    inv = write_inventory(tmp_path, hosts(8))
    homer.expire_tokens(before_next=1, method="POST", path_prefix=aliases)
    result = run(homer, "apply", "--yes", "--concurrency", "4", inv)
    assert result.exit_code == 0, result.output
    assert len(names(homer)) == 8
    assert count(homer, "POST", login) == 2  # one re-login, however many writes saw the 401
    assert count(homer, "POST", aliases, 401) >= 1


def test_second_401_after_a_fresh_login_is_a_clear_error(run, homer, tmp_path):
    login, aliases = paths(homer)
    inv = write_inventory(tmp_path, hosts(3))
    homer.expire_tokens(before_next=2, method="POST", path_prefix=aliases)
    result = run(homer, "apply", "--yes", "--concurrency", "1", inv)
    assert result.exit_code == 1
    assert "rejected the session twice" in result.output and "fresh login as 'admin'" in result.output
    assert "2 not started" in result.output  # no more writes once the session cannot be renewed
    assert count(homer, "POST", login) == 2
    assert names(homer) == []


def test_static_token_rejected_mid_run_says_it_cannot_log_in_again(run, emulator_v4, tmp_path):
    token = emulator_v4.add_token(admin=True)
    inv = write_inventory(tmp_path, hosts(2))
    emulator_v4.fail_next(1, 401, body='{"error":"unauthorized","message":"invalid or expired token"}',
                          method="POST", path_prefix="/api/v4/aliases")
    result = run(emulator_v4, "apply", "--yes", "--concurrency", "1", inv,
                 env={"HOMER_USERNAME": "", "HOMER_PASSWORD": "", "HOMER_TOKEN": token})
    assert result.exit_code == 1
    assert "accepted, then rejected (401)" in result.output
    assert "cannot be renewed by logging in again" in result.output
    assert count(emulator_v4, "POST", "/api/v4/auth") == 0
    assert token not in result.output


# -- partial failure ----------------------------------------------------------------------------


def test_partial_failure_reports_each_change_applies_the_rest_and_next_run_converges(run, homer, sleeps, tmp_path):
    _, aliases = paths(homer)
    homer.seed([{"alias": f"old{i}", "ip": f"10.30.0.{i}", "port": 5060} for i in range(1, 3)]
               + [{"alias": f"stale{i}", "ip": f"10.40.0.{i}", "port": 5060} for i in range(1, 3)])
    desired = hosts(3) + [(f"new{i}", f"10.30.0.{i}", 5060) for i in range(1, 3)]
    inv = write_inventory(tmp_path, desired, prune=True)
    homer.fail_next(1, 400, body='{"message":"alias rejected by a validation rule"}', method="POST",
                    path_prefix=aliases)
    homer.fail_next(1, 500, method="PUT")
    homer.fail_next(4, 503, method="DELETE")  # the first DELETE, and its 3 retries
    result = run(homer, "apply", "--yes", "--concurrency", "1", "--output", "json", inv)
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 3, result.stderr
    assert any("create" in e and "validation rule" in e and "400" in e for e in errors)
    assert any("update" in e and "500" in e for e in errors)
    assert any("delete" in e and "last status 503" in e and homer.url in e for e in errors)
    report = apply_report(result.stdout)
    assert report["ok"] is False
    assert report["summary"] == {"created": 2, "updated": 1, "deleted": 1, "failed": 3,
                                 "not_started": 0, "not_verified": 0}
    assert sorted(f["action"] for f in report["failures"]) == ["create", "delete", "update"]
    assert all(f["error"] for f in report["failures"])
    assert len(homer.aliases()) == 5  # 4 seeded + 2 created - 1 deleted

    again = run(homer, "apply", "--yes", inv)
    assert again.exit_code == 0, again.output
    assert "Apply complete: 1 created, 1 updated, 1 deleted; verified." in again.output
    assert run(homer, "plan", "--detailed-exitcode", inv).exit_code == 0
    assert names(homer) == ["host00", "host01", "host02", "new1", "new2"]


# -- overlapping runs ---------------------------------------------------------------------------


def test_run_lock_in_the_state_directory_refuses_an_overlapping_apply(run, emulator, tmp_path):
    inv = write_inventory(tmp_path, hosts(2))
    default_lock = tmp_path / "state" / "homer-sync" / "homer-sync.lock"
    with run_lock(default_lock):
        result = run(emulator, "apply", "--yes", inv)
    assert result.exit_code == 1
    assert f"another homer-sync run holds the lock {default_lock} (pid {os.getpid()}" in result.output
    assert "raise --lock-wait" in result.output
    assert count(emulator, "POST", "/api/v3/alias") == 0 and names(emulator) == []

    moved = tmp_path / "elsewhere" / "my.lock"
    with run_lock(moved):
        blocked = run(emulator, "--lock-file", str(moved), "--lock-wait", "0", "apply", "--yes", inv)
        free = run(emulator, "apply", "--yes", inv)  # the default lock is not the one held
    assert blocked.exit_code == 1 and str(moved) in blocked.output
    assert free.exit_code == 0, free.output
    assert len(names(emulator)) == 2


def test_overlapping_apply_waits_for_the_lock(run, emulator, tmp_path, monkeypatch):
    import homer_sync.lock as lock_module

    inv = write_inventory(tmp_path, hosts(2))
    lock = tmp_path / "run.lock"
    held, waiting = threading.Event(), threading.Event()

    def poll_sleep(seconds):  # the apply found the lock busy and waits for it
        waiting.set()
        time.sleep(seconds)

    monkeypatch.setattr(lock_module, "time", types.SimpleNamespace(monotonic=time.monotonic, sleep=poll_sleep))

    def holder():
        with run_lock(lock):
            held.set()
            waiting.wait(60)  # released only once the apply is seen waiting

    thread = threading.Thread(target=holder)
    thread.start()
    assert held.wait(60)
    result = run(emulator, "--lock-file", str(lock), "--lock-wait", "120", "apply", "--yes", inv)
    thread.join()
    assert waiting.is_set()
    assert result.exit_code == 0, result.output
    assert len(names(emulator)) == 2


def test_second_process_is_refused_while_the_first_applies(emulator, tmp_path, output_guard):
    inv = write_inventory(tmp_path, hosts(20))
    lock = str(tmp_path / "shared.lock")
    # The first run's first write is held until the second run is over: it is surely still applying.
    emulator.delay_next(1, 600, method="POST", path_prefix="/api/v3/alias")
    first = start_cli(emulator, tmp_path, "--lock-file", lock, "--timeout", "600", "apply", "--yes",
                      "--concurrency", "1", inv)
    wait_until(lambda: ("POST", "/api/v3/alias") in emulator.in_flight, what="the first run's first write")
    second = start_cli(emulator, tmp_path, "--lock-file", lock, "apply", "--yes", inv)
    out2, err2 = second.communicate(timeout=120)
    emulator.release_held()
    out1, err1 = first.communicate(timeout=120)
    output_guard.record(out1, err1, out2, err2)
    assert second.returncode == 1, err2
    assert "another homer-sync run holds the lock" in err2 and "pid" in err2
    assert first.returncode == 0, err1
    assert count(emulator, "POST", "/api/v3/alias") == 20  # the refused run wrote nothing
    assert sorted(identities(emulator).values()) == [1] * 20


def test_two_machines_at_once_converge_without_duplicates_on_the_next_run(run, emulator, tmp_path, output_guard):
    inv = write_inventory(tmp_path, hosts(6))
    # Both runs read the (empty) list before either writes: each creates everything. Each list
    # is held until both are in the server, then both are answered.
    emulator.delay_next(2, 600, method="GET", path_prefix="/api/v3/alias")
    procs = [start_cli(emulator, tmp_path, "--lock-file", str(tmp_path / f"machine{i}.lock"), "--timeout", "600",
                       "apply", "--yes", inv)
             for i in (1, 2)]
    wait_until(lambda: emulator.in_flight.count(("GET", "/api/v3/alias")) == 2, what="both runs listing")
    emulator.release_held()
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        output_guard.record(out, err)
        assert proc.returncode == 0, err
    assert sorted(identities(emulator).values()) == [2] * 6

    result = run(emulator, "apply", "--yes", inv)
    assert result.exit_code == 0, result.output
    assert "duplicate of" in result.output
    assert sorted(identities(emulator).values()) == [1] * 6
    assert run(emulator, "plan", "--detailed-exitcode", inv).exit_code == 0


def test_duplicate_deletes_do_not_count_against_the_delete_limit():
    from homer_sync.model import Alias
    from homer_sync.plan import SafetyLimits, build_plan

    desired = [Alias(ip=f"10.0.0.{i}", mask=32, port=5060, capture_id="0", name=f"h{i}") for i in range(6)]
    twice = [replace(a, guid=f"{copy}-{i}") for copy in "ab" for i, a in enumerate(desired)]
    plan = build_plan(desired, twice)
    assert len(plan.deletes) == 6 and plan.unsafe_reasons(SafetyLimits()) == []
    stale = [Alias(ip=f"10.9.0.{i}", mask=32, port=0, capture_id="0", name=f"s{i}", guid=f"s-{i}") for i in range(6)]
    pruned = build_plan(desired, twice + stale, prune=True)
    assert pruned.unsafe_reasons(SafetyLimits()) == [
        "33.33% of existing aliases would be deleted, over the 30.00% limit (6/18)"]


# -- Ctrl-C -------------------------------------------------------------------------------------


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_during_apply_stops_new_writes_reports_and_next_run_converges(run, emulator, tmp_path, output_guard,
                                                                                signum):
    inv = write_inventory(tmp_path, hosts(40))
    # Four writes go through; the next two (both workers busy) are held until the interrupt is seen.
    emulator.delay_next(2, 600, method="POST", path_prefix="/api/v3/alias", skip=4)
    proc = start_cli(emulator, tmp_path, "--timeout", "600", "apply", "--yes", "--concurrency", "2", inv)
    errors, interrupted = [], threading.Event()

    def read_stderr():
        for line in proc.stderr:
            errors.append(line)
            if line.startswith("Interrupted"):
                interrupted.set()

    reader = threading.Thread(target=read_stderr)
    reader.start()
    # Two POSTs in flight may still be the fourth (being answered) and the fifth (held): wait for the
    # fifth and sixth, both held once the fourth is answered.
    wait_until(lambda: emulator.in_flight.count(("POST", "/api/v3/alias")) == 2
               and count(emulator, "POST", "/api/v3/alias") == 4, what="two writes held after four answered")
    proc.send_signal(signum)
    assert interrupted.wait(60)
    # The handler has run: the two writes in flight finish, no new one starts.
    emulator.release_held()
    out = proc.stdout.read()
    proc.wait(timeout=60)
    reader.join()
    err = "".join(errors)
    output_guard.record(out, err)
    wait_until(lambda: emulator.open_connections == 0, what="every request handled")
    assert proc.returncode == 1, (out, err)
    assert f"Interrupted ({signum.name}): finishing the writes in flight" in err
    assert count(emulator, "POST", "/api/v3/alias") == 6
    created = len(emulator.aliases())
    assert created == 6
    assert "Apply incomplete: 6 created, 0 updated, 0 deleted; 34 not started, interrupted." in out

    again = run(emulator, "apply", "--yes", "--concurrency", "8", inv)
    assert again.exit_code == 0, again.output
    assert f"Apply complete: {40 - created} created" in again.output
    assert sorted(identities(emulator).values()) == [1] * 40


# -- passwords from files and stdin -------------------------------------------------------------


def test_password_file_and_stdin(run, emulator, tmp_path):
    inv = write_inventory(tmp_path, hosts(1))
    secret_file = tmp_path / "homer.pw"
    secret_file.write_text(PASSWORD + "\n")
    secret_file.chmod(0o600)
    no_env = {"HOMER_PASSWORD": ""}
    private = run(emulator, "--password-file", str(secret_file), "plan", inv, env=no_env)
    assert private.exit_code == 0, private.output
    assert "readable by other users" not in private.output

    secret_file.chmod(0o644)
    shared = run(emulator, "plan", "--password-file", str(secret_file), inv, env=no_env)
    assert shared.exit_code == 0, shared.output
    assert f"Warning: password file {secret_file} is readable by other users; chmod 600 it" in shared.output

    piped = run(emulator, "--password-stdin", "apply", "--yes", inv, env=no_env, input=PASSWORD + "\n")
    assert piped.exit_code == 0, piped.output
    assert names(emulator) == ["host00"]

    wrong = run(emulator, "--password-stdin", "check", env=no_env, input="not-the-password\n")
    assert wrong.exit_code == 1
    assert "login refused for user 'admin'" in wrong.output and "not-the-password" not in wrong.output


# -- a list answer that repeats guids ------------------------------------------------------------


def _repeat_list_answer(emulator, rows, times=2):
    """The next `times` alias lists answer `rows` (v3 shape) instead of the real list."""
    body = json.dumps({"data": rows})
    emulator.fail_next(times, 201, body=body, method="GET", path_prefix="/api/v3/alias")


def test_list_repeating_each_row_changes_nothing_and_deletes_nothing(run, emulator, tmp_path):
    declared = hosts(12)
    emulator.seed([{"alias": name, "ip": ip, "port": port} for name, ip, port in declared])
    inv = write_inventory(tmp_path, declared, prune=True)
    rows = emulator.aliases()
    _repeat_list_answer(emulator, rows + rows, times=2)
    result = run(emulator, "apply", "--yes", inv)
    assert result.exit_code == 0, result.output
    assert "No changes" in result.output
    assert count(emulator, "DELETE", "/api/v3/alias") == 0
    assert len(emulator.aliases()) == 12


def test_list_naming_one_guid_twice_differently_is_refused_before_any_write(run, emulator, tmp_path):
    declared = hosts(3)
    emulator.seed([{"alias": name, "ip": ip, "port": port} for name, ip, port in declared])
    inv = write_inventory(tmp_path, declared, prune=True)
    rows = emulator.aliases()
    _repeat_list_answer(emulator, rows + [dict(rows[0], alias="someone-else")], times=1)
    result = run(emulator, "apply", "--yes", inv)
    assert result.exit_code == 1
    assert f"guid {rows[0]['guid']} twice, as two different aliases" in result.stderr
    assert "refusing to plan on an inconsistent list" in result.stderr
    assert [m for m, _, _ in emulator.request_log if m not in ("GET", "POST")] == []
    assert count(emulator, "POST", "/api/v3/alias") == 0
    assert len(emulator.aliases()) == 3
