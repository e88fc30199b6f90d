from __future__ import annotations

import json
import os
import pathlib
import re
import signal
import stat
import subprocess
import sys
import threading

import pytest

from homer_sync.errors import HomerSyncError, LockError
from homer_sync.lock import default_lock_path, run_lock

REPO = pathlib.Path(__file__).resolve().parents[1]

# A separate process that takes the lock, says so, and holds it until told
# (one line on stdin) to release it, then exits.
HOLDER = """
import sys
from homer_sync.lock import run_lock
with run_lock(sys.argv[1]):
    print("locked", flush=True)
    sys.stdin.readline()
print("released", flush=True)
"""


@pytest.fixture
def holder(tmp_path):
    """Start a subprocess holding the lock at tmp_path/'run.lock'; yields (process, path)."""
    path = tmp_path / "run.lock"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=REPO,
    )
    try:
        assert proc.stdout.readline().strip() == "locked"
        yield proc, path
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        proc.stdin.close()
        proc.stdout.close()


def release(proc):
    proc.stdin.write("\n")
    proc.stdin.flush()


# --- within one process -------------------------------------------------------------


def test_acquire_and_release(tmp_path):
    path = tmp_path / "run.lock"
    with run_lock(path):
        holder = json.loads(path.read_text())
        assert holder["pid"] == os.getpid()
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", holder["since"])
    assert path.exists()  # never unlinked (see lock.py)
    assert path.read_text() == ""  # holder details cleared on release
    with run_lock(path):  # and it can be taken again
        pass


def test_second_holder_in_same_process_conflicts(tmp_path):
    # flock belongs to the open file description: a second open + flock in the
    # same process conflicts, exactly like another run would.
    path = tmp_path / "run.lock"
    with run_lock(path):
        with pytest.raises(LockError) as info, run_lock(path):
            pytest.fail("second holder must not get the lock")
        assert f"pid {os.getpid()}" in str(info.value)
    with run_lock(path):  # released by the first holder's exit
        pass


def test_lock_released_when_the_body_raises(tmp_path):
    path = tmp_path / "run.lock"
    with pytest.raises(RuntimeError), run_lock(path):
        raise RuntimeError("boom")
    with run_lock(path):
        pass


def test_parent_directories_are_created_private(tmp_path):
    path = tmp_path / "state" / "homer-sync" / "homer-sync.lock"
    with run_lock(path):
        assert path.is_file()
    for directory in (tmp_path / "state", tmp_path / "state" / "homer-sync"):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0


def test_lock_error_is_a_homer_sync_error_with_exit_code_1(tmp_path):
    path = tmp_path / "run.lock"
    with run_lock(path), pytest.raises(HomerSyncError) as info, run_lock(path):
        pass
    assert isinstance(info.value, LockError)
    assert info.value.exit_code == 1
    assert info.value.path == path
    assert info.value.holder["pid"] == os.getpid()


def test_message_without_holder_details(tmp_path):
    # A lock held by something that wrote no details (or junk) still gives a clear message.
    import fcntl

    path = tmp_path / "run.lock"
    path.write_text("not json")
    with open(path, "a") as other:
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(LockError) as info, run_lock(path):
            pass
    assert str(info.value) == (
        f"another homer-sync run holds the lock {path}; retry later or raise --lock-wait"
    )
    assert path.read_text() == "not json"  # a waiting run never touches the file


# --- a lock never destroys what it finds --------------------------------------------


def test_existing_file_with_other_content_is_refused_and_kept(tmp_path):
    precious = tmp_path / "notes.txt"
    precious.write_text("the only copy\n")
    with pytest.raises(LockError) as info, run_lock(precious):
        pytest.fail("a file with other content must not be taken as a lock")
    assert str(info.value) == (
        f"cannot use lock file {precious}: it holds other content, which a lock would overwrite;"
        " give a file path of its own with --lock-file"
    )
    assert precious.read_text() == "the only copy\n"


def test_json_that_is_not_a_holder_record_is_kept(tmp_path):
    config = tmp_path / "settings.json"
    config.write_text('{"servers": ["a"]}\n')
    with pytest.raises(LockError, match="holds other content"), run_lock(config):
        pass
    assert config.read_text() == '{"servers": ["a"]}\n'


def test_symlink_at_the_lock_path_is_refused_and_its_target_kept(tmp_path):
    target = tmp_path / "important.conf"
    target.write_text("keep me")
    link = tmp_path / "run.lock"
    link.symlink_to(target)
    with pytest.raises(LockError) as info, run_lock(link):
        pytest.fail("a symlinked lock path must not be followed")
    assert "is a symbolic link, which a lock never follows" in str(info.value)
    assert target.read_text() == "keep me"
    assert link.is_symlink()


def test_dangling_symlink_creates_nothing(tmp_path):
    link = tmp_path / "run.lock"
    link.symlink_to(tmp_path / "elsewhere")
    with pytest.raises(LockError, match="symbolic link"), run_lock(link):
        pass
    assert not (tmp_path / "elsewhere").exists()


def test_a_fifo_is_refused(tmp_path):
    fifo = tmp_path / "run.lock"
    os.mkfifo(fifo)
    with pytest.raises(LockError, match="it is not a regular file"), run_lock(fifo):
        pass


def test_a_stale_holder_record_left_by_a_killed_run_is_taken(tmp_path):
    path = tmp_path / "run.lock"
    path.write_text('{"host": "h", "pid": 999999, "since": "2020-01-01T00:00:00Z"}\n')
    with run_lock(path):
        assert json.loads(path.read_text())["pid"] == os.getpid()
    assert path.read_text() == ""


def test_unusable_lock_directory_is_a_lock_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    expected = r"cannot create the directory of lock file .*: Not a directory"
    with pytest.raises(LockError, match=expected), run_lock(blocker / "sub" / "run.lock"):
        pass


# --- against another process --------------------------------------------------------


def test_other_process_holds_the_lock_wait_0(holder):
    proc, path = holder
    with pytest.raises(LockError) as info, run_lock(path, wait=0):
        pytest.fail("must not get the lock")
    message = str(info.value)
    assert re.fullmatch(
        rf"another homer-sync run holds the lock {re.escape(str(path))} "
        rf"\(pid {proc.pid}, since \d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\dZ\); "
        r"retry later or raise --lock-wait",
        message,
    ), message


def test_other_process_holds_the_lock_past_the_wait(holder):
    proc, path = holder
    with pytest.raises(LockError, match=rf"\(pid {proc.pid}, since "), run_lock(path, wait=0.3, poll=0.05):
        pytest.fail("must not get the lock")


def test_lock_is_free_after_the_holder_releases(holder):
    proc, path = holder
    release(proc)
    assert proc.stdout.readline().strip() == "released"
    with run_lock(path, wait=10):
        assert json.loads(path.read_text())["pid"] == os.getpid()


def test_waiting_run_gets_the_lock_when_the_holder_releases(holder):
    proc, path = holder
    timer = threading.Timer(0.2, release, args=(proc,))
    timer.start()
    try:
        with run_lock(path, wait=30, poll=0.05):
            assert json.loads(path.read_text())["pid"] == os.getpid()
    finally:
        timer.cancel()


def test_lock_is_released_when_the_holder_is_killed(holder):
    # flock semantics: the kernel drops the lock with the process; nothing stale remains.
    proc, path = holder
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert json.loads(path.read_text())["pid"] == proc.pid  # details left behind...
    with run_lock(path, wait=0):  # ...but the lock is free
        assert json.loads(path.read_text())["pid"] == os.getpid()


# --- default path -------------------------------------------------------------------


def test_default_lock_path_honours_xdg_state_home(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert default_lock_path() == tmp_path / "state" / "homer-sync" / "homer-sync.lock"


def test_default_lock_path_falls_back_to_local_state(monkeypatch, tmp_path):
    monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_lock_path() == tmp_path / ".local" / "state" / "homer-sync" / "homer-sync.lock"


def test_default_lock_path_ignores_relative_xdg_state_home(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_STATE_HOME", "relative/dir")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_lock_path() == tmp_path / ".local" / "state" / "homer-sync" / "homer-sync.lock"
