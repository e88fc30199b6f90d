"""Child processes for the benchmarks: wall time, peak RSS, and cleanup.

Peak RSS: on Linux, ``ru_maxrss`` of a child (os.wait4, or getrusage in the
child itself) is at least the *parent's* RSS at the time of the fork/exec — the
kernel carries the pre-exec high-water mark over — so with the emulator and
20,000 seeded aliases in this process it would report our size, not the CLI's.
Python children therefore get a ``sitecustomize`` (see SITECUSTOMIZE) that writes
their own VmHWM from /proc/self/status at exit; ru_maxrss from wait4 is only the
fallback (non-Linux, or a child that died without running atexit).

Every child started here is registered until it has been reaped; kill_all()
(called on Ctrl-C, SIGTERM and at exit) kills and reaps whatever is left.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass

RSS_FILE_ENV = "HOMER_SYNC_BENCH_RSS_FILE"
SITECUSTOMIZE = f"""\
# Written by homer-sync's benchmarks/run.py: report this process's peak RSS at exit.
import atexit as _atexit
import os as _os

_path = _os.environ.get({RSS_FILE_ENV!r})
if _path:
    def _report_peak_rss(path=_path):
        try:
            with open("/proc/self/status") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        with open(path, "w") as out:
                            out.write(line.split()[1])
                        break
        except OSError:
            pass

    _atexit.register(_report_peak_rss)
"""

_RUNNING: dict[int, subprocess.Popen] = {}
_LOCK = threading.Lock()


@dataclass
class ChildResult:
    argv: list
    returncode: int
    wall: float  # seconds from spawn to reaped: process start and exit included
    maxrss_kib: int  # peak resident set size of the child (KiB)
    rss_source: str  # "VmHWM" (the child's own) or "ru_maxrss" (may include the parent's)
    cpu: float  # user + system CPU seconds of the child
    stdout: str
    stderr: str
    timed_out: bool = False

    def check(self, expect=(0,)) -> ChildResult:
        if self.returncode not in expect:
            tail = (self.stderr or self.stdout).strip().splitlines()[-5:]
            raise RuntimeError(
                f"{' '.join(map(str, self.argv[:4]))} ... exited {self.returncode}"
                f"{' (timed out)' if self.timed_out else ''}: " + " | ".join(tail)
            )
        return self


def _maxrss_kib(rusage) -> int:
    # Linux reports kilobytes, macOS bytes.
    return rusage.ru_maxrss // 1024 if sys.platform == "darwin" else rusage.ru_maxrss


def run(argv: list, *, env: dict, cwd: str | None = None, timeout: float = 300.0) -> ChildResult:
    """Run ``argv`` to completion; stdout/stderr go to temp files (no pipe deadlock)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.TemporaryDirectory(prefix="rss-") as rss_dir:
        rss_file = os.path.join(rss_dir, "vmhwm")
        env = dict(env, **{RSS_FILE_ENV: rss_file})
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env, cwd=cwd)
        with _LOCK:
            _RUNNING[proc.pid] = proc
        expired = threading.Event()

        def expire():
            expired.set()
            _kill(proc)

        timer = threading.Timer(timeout, expire)
        timer.daemon = True
        timer.start()
        try:
            _, status, rusage = os.wait4(proc.pid, 0)
        except BaseException:
            _kill(proc)
            _reap(proc)
            raise
        finally:
            timer.cancel()
            with _LOCK:
                _RUNNING.pop(proc.pid, None)
        wall = time.perf_counter() - start
        # Reaped by wait4: tell Popen, so that it never waits for the pid again.
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        try:
            with open(rss_file, encoding="ascii") as handle:
                maxrss, source = int(handle.read()), "VmHWM"
        except (OSError, ValueError):
            maxrss, source = _maxrss_kib(rusage), "ru_maxrss"
        return ChildResult(
            argv=list(argv),
            returncode=proc.returncode,
            wall=wall,
            maxrss_kib=maxrss,
            rss_source=source,
            cpu=rusage.ru_utime + rusage.ru_stime,
            stdout=out.read().decode("utf-8", "replace"),
            stderr=err.read().decode("utf-8", "replace"),
            timed_out=expired.is_set(),
        )


def _kill(proc: subprocess.Popen) -> None:
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError, OSError):
            proc.send_signal(signal.SIGKILL)


def _reap(proc: subprocess.Popen) -> None:
    if proc.returncode is not None:
        return
    try:
        _, status = os.waitpid(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    except ChildProcessError:
        proc.returncode = -9


def kill_all() -> None:
    """Kill and reap every child still running (Ctrl-C, SIGTERM, exit)."""
    with _LOCK:
        procs = list(_RUNNING.values())
        _RUNNING.clear()
    for proc in procs:
        _kill(proc)
    for proc in procs:
        _reap(proc)


def install_signal_handlers() -> None:
    """SIGTERM (and SIGHUP) behave like Ctrl-C: KeyboardInterrupt, so finally blocks run."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), interrupt)
