"""Every bad local input or file-system state is one clear message, a non-zero exit, no
traceback and nothing written to HOMER.

A table: each case is one bad thing (a file where a directory belongs, a path under a file, a
full disk, a closed stream, bytes that are not UTF-8, a malformed URL, ...), run as an operator
runs homer-sync (``python -m homer_sync`` in a subprocess, so that closed streams and /dev/full
are real) against the emulator, which holds one alias that an apply --prune would delete.
Paths go under a regular file rather than through chmod, as the tests may run as root.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field

import pytest

PASSWORD = "sipcapture"
INVENTORY = "version: 1\naliases:\n  - {alias: host-one, ip: 10.0.0.1, port: 5060}\n"
ALIAS_PATH = "/api/v3/alias"


@dataclass(frozen=True)
class Case:
    args: tuple
    message: str
    files: dict = field(default_factory=dict)  # name -> bytes (a name ending in / is a directory)
    stdin: bytes | None = b""  # None: closed
    stdout: str = "pipe"  # "pipe", "closed" or a path such as /dev/full
    env: dict = field(default_factory=dict)
    exit_code: int = 1


def _csv_with_a_big_cell() -> bytes:
    return b"alias,ip,port\n" + b"x" * (129 * 1024) + b",10.0.0.1,5060\n"


CASES = {
    "backup dir is a file": Case(
        ("apply", "--yes", "--prune", "--backup-dir", "afile", "inv.yaml"), "'afile' is a file", exit_code=64),
    "backup dir under a file": Case(
        ("apply", "--yes", "--prune", "--backup-dir", "afile/backups", "inv.yaml"),
        "cannot write the backup in afile/backups: Not a directory; nothing was written to HOMER"),
    "plan --save under a file": Case(
        ("plan", "inv.yaml", "--save", "afile/reviewed.plan"), "cannot save the plan to afile/reviewed.plan: "
                                                              "Not a directory"),
    "lock file is a directory": Case(
        ("--lock-file", "adir", "apply", "--yes", "--prune", "inv.yaml"), "'adir' is a directory", exit_code=64),
    "lock file under a file": Case(
        ("--lock-file", "afile/run.lock", "apply", "--yes", "--prune", "inv.yaml"),
        "cannot use lock file afile/run.lock: Not a directory"),
    "export to a full disk": Case(
        ("export",), "cannot write to standard output: No space left on device", stdout="/dev/full"),
    "plan to a full disk": Case(
        ("plan", "--output", "json", "inv.yaml"), "cannot write to standard output: No space left on device",
        stdout="/dev/full"),
    "standard output closed": Case(("export",), "standard output is closed", stdout="closed"),
    "apply with standard output closed": Case(
        ("apply", "--yes", "--prune", "inv.yaml"), "standard output is closed", stdout="closed"),
    "inventory on stdin not UTF-8": Case(
        ("plan", "-"), "<stdin>: standard input is not valid UTF-8 (byte 35)",
        stdin=b"version: 1\naliases:\n  - {alias: caf\xe9, ip: 10.0.0.1}\n"),
    "inventory on a closed stdin": Case(("apply", "--yes", "-"), "<stdin>: standard input is closed", stdin=None),
    "password file not UTF-8": Case(
        ("--password-file", "pw", "apply", "--yes", "inv.yaml"), "password file pw is not UTF-8 text",
        files={"pw": b"sip\xe9capture\n"}, env={"HOMER_PASSWORD": ""}),
    "password file under a file": Case(
        ("--password-file", "afile/pw", "check"), "cannot read password file afile/pw: Not a directory",
        env={"HOMER_PASSWORD": ""}),
    "password on stdin not UTF-8": Case(
        ("--password-stdin", "check"), "the password on standard input is not UTF-8 text",
        stdin=b"sip\xe9capture\n", env={"HOMER_PASSWORD": ""}),
    "password on a closed stdin": Case(
        ("--password-stdin", "check"), "cannot read the password from standard input", stdin=None,
        env={"HOMER_PASSWORD": ""}),
    "password in the environment not UTF-8": Case(
        ("apply", "--yes", "inv.yaml"), "the password (HOMER_PASSWORD) is not UTF-8 text",
        env={"HOMER_PASSWORD": os.fsdecode(b"sip\xe9capture")}),
    "user name in the environment not UTF-8": Case(
        ("check",), "the user name (HOMER_USERNAME) is not UTF-8 text",
        env={"HOMER_USERNAME": os.fsdecode(b"adm\xe9")}),
    "timeout not a number": Case(("--timeout", "nan", "check"), "'nan' is not a finite number", exit_code=64),
    "timeout infinite": Case(("--timeout", "inf", "check"), "inf is not in the range 0.1<=x<=3600", exit_code=64),
    "timeout not a number in the environment": Case(
        ("check",), "'nan' is not a finite number", env={"HOMER_TIMEOUT": "nan"}, exit_code=64),
    "lock wait not a number": Case(
        ("--lock-wait", "nan", "apply", "--yes", "--prune", "inv.yaml"), "'nan' is not a finite number",
        exit_code=64),
    "delete limit not a number": Case(
        ("apply", "--yes", "--plan", "saved.plan", "--max-delete-percent", "nan"), "'nan' is not a finite number",
        files={"saved.plan": b"{}"}, exit_code=64),
    "url with an open bracket": Case(("--url", "http://[::1", "check"), "invalid HOMER URL: Invalid IPv6 URL"),
    "token not Latin-1": Case(
        ("--token", "tok\u20acen", "check"), "character 4 is not Latin-1 (U+20AC)",
        env={"HOMER_USERNAME": "", "HOMER_PASSWORD": ""}),
    "csv cell over 128 KiB": Case(
        ("apply", "--yes", "big.csv"), "field larger than field limit", files={"big.csv": _csv_with_a_big_cell()}),
    "inventory is a directory": Case(("plan", "adir"), "adir: cannot read file: Is a directory"),
    "inventory under a file": Case(("plan", "afile/inv.yaml"), "cannot read file: Not a directory"),
    "inventory missing": Case(("apply", "--yes", "missing.yaml"), "missing.yaml: cannot read file: No such file"),
    "inventory is an endless device": Case(("validate", "/dev/zero"), "/dev/zero: file is larger than 64 MiB"),
    "inventory on stdin too large": Case(
        ("validate", "-"), "<stdin>: standard input is larger than 64 MiB", stdin=b"#" * (64 * 1024 * 1024 + 1)),
    "inventory empty": Case(("apply", "--yes", "empty.yaml"), "empty.yaml: file is empty", files={"empty.yaml": b""}),
    "inventory binary": Case(
        ("apply", "--yes", "bin.yaml"), "bin.yaml: file is not valid UTF-8 (byte 0)",
        files={"bin.yaml": bytes(range(255, 0, -1))}),
    "inventory yaml with a tab": Case(
        ("apply", "--yes", "tab.yaml"), "tab.yaml:3: invalid YAML",
        files={"tab.yaml": b"version: 1\naliases:\n\t- {alias: host-one, ip: 10.0.0.1}\n"}),
    "saved plan not UTF-8": Case(
        ("apply", "--yes", "--plan", "bad.plan"), "cannot read plan file bad.plan", files={"bad.plan": b"\xff\xfe{"}),
    "saved plan not an object": Case(
        ("apply", "--yes", "--plan", "list.plan"), "plan file list.plan is not a homer-sync plan",
        files={"list.plan": b"[]\n"}),
}


def run_case(case: Case, emulator, tmp_path) -> subprocess.CompletedProcess:
    (tmp_path / "afile").write_text("a regular file\n")
    (tmp_path / "adir").mkdir()
    (tmp_path / "inv.yaml").write_text(INVENTORY)
    for name, data in case.files.items():
        (tmp_path / name).write_bytes(data)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOMER_")}
    env.update({"HOMER_URL": emulator.url, "HOMER_USERNAME": "admin", "HOMER_PASSWORD": PASSWORD,
                "XDG_STATE_HOME": str(tmp_path / "state"), "NO_COLOR": "1", **case.env})
    stdout: int | None = subprocess.PIPE
    preexec = None
    if case.stdout == "closed":
        stdout, preexec = None, (lambda: os.close(1))
    elif case.stdout != "pipe":
        stdout = os.open(case.stdout, os.O_WRONLY)
    if case.stdin is None:
        preexec = lambda: os.close(0)  # noqa: E731
    try:
        return subprocess.run([sys.executable, "-m", "homer_sync", *case.args], cwd=tmp_path, env=env,
                              input=case.stdin, stdout=stdout, stderr=subprocess.PIPE, preexec_fn=preexec,
                              timeout=120)
    finally:
        if isinstance(stdout, int) and stdout > 2:
            os.close(stdout)


@pytest.mark.parametrize("name", list(CASES))
def test_a_local_failure_is_one_clear_line_and_nothing_is_written(name, emulator, tmp_path, output_guard):
    case = CASES[name]
    emulator.seed([{"alias": "old-host", "ip": "10.0.9.9", "port": 5060}])
    before = emulator.aliases()
    emulator.reset_stats()
    done = run_case(case, emulator, tmp_path)
    err = done.stderr.decode("utf-8", "replace")
    output_guard.record(err, (done.stdout or b"").decode("utf-8", "replace"))
    assert done.returncode == case.exit_code, err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line and not line.startswith("Warning:")]
    assert errors and errors[0].startswith(("Error:", "Usage:")), err
    assert case.message in err
    assert len([line for line in errors if line.startswith("Error:")]) == 1, err
    assert emulator.aliases() == before
    assert [(m, p) for m, p, _ in emulator.request_log if m in ("PUT", "DELETE") or
            (m == "POST" and p.startswith(ALIAS_PATH))] == []
