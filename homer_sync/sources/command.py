"""``type: command``: run a program (argv, no shell) that prints inventory YAML or JSON.

The program prints either a list of ``aliases:`` items or a mapping with an
``aliases`` list (``version: 1`` allowed). It runs in the inventory file's
directory with the caller's environment. A non-zero exit, a timeout, empty or
invalid output fail the source, and so the run, before anything is written.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from typing import Any

from .base import SourceContext, SourceEntry, SourceError

KEYS = ("argv", "timeout")
DEFAULT_TIMEOUT = 30.0
STDERR_SHOWN = 300  # characters of the program's last stderr line quoted in an error


def check(spec: Mapping[str, Any]) -> list[tuple[str, str]]:
    problems = [(key, f"unknown key {key!r}; a command source takes: {', '.join(KEYS)}") for key in spec
                if key not in KEYS]
    argv = spec.get("argv")
    if "argv" not in spec:
        problems.append(("", "missing argv (the program and its arguments, as a list; no shell is used)"))
    elif isinstance(argv, str):
        first = argv.split()[0] if argv.split() else "prog"
        problems.append(("argv", f"argv must be a list (no shell is used), e.g. [{first}, ...]"))
    elif not isinstance(argv, list) or not argv:
        problems.append(("argv", "argv must be a non-empty list of strings"))
    else:
        for index, arg in enumerate(argv):
            if not isinstance(arg, (str, int, float)) or isinstance(arg, bool):
                problems.append((f"argv[{index}]", "each argument must be a string"))
    if "timeout" in spec:
        timeout = spec["timeout"]
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
            problems.append(("timeout", "timeout must be a number of seconds above 0"))
    return problems


def collect(spec: Mapping[str, Any], context: SourceContext) -> list[SourceEntry]:
    argv = [str(arg) for arg in spec["argv"]]
    name = f"command {argv[0]}"
    timeout = float(spec.get("timeout", DEFAULT_TIMEOUT))
    program = argv[0]
    if os.sep in program and not os.path.isabs(program):
        program = os.path.join(context.base_dir, program)
    try:
        done = subprocess.run([program, *argv[1:]], cwd=context.base_dir, env=dict(context.environ) or None,
                              stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise SourceError(name, f"did not finish within {timeout:g}s (timeout); it was stopped") from None
    except OSError as exc:
        raise SourceError(name, f"cannot run it: {exc.strerror or exc}") from None
    if done.returncode != 0:
        how = (f"was killed by signal {-done.returncode}" if done.returncode < 0
               else f"exited with status {done.returncode}")
        raise SourceError(name, how + _stderr_tail(done.stderr))
    try:
        text = done.stdout.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceError(name, f"printed output that is not UTF-8 (byte {exc.start})") from None
    return parse_output(name, text)


def parse_output(name: str, text: str) -> list[SourceEntry]:
    """The program's stdout -> entries; SourceError when it is not an inventory."""
    from ..inventory.problems import FileProblems
    from ..inventory.yamlsource import load_yaml

    if not text.strip():
        raise SourceError(name, "printed nothing; expected inventory YAML or JSON (print [] for no aliases)")
    problems: list = []
    if text.lstrip()[:1] in "[{":
        text = text.replace("\t", " ")  # JSON allows tabs between tokens; YAML does not
    doc, ok = load_yaml(FileProblems("output", problems), text)
    if not ok:
        raise SourceError(name, f"printed invalid output: {problems[0]}")
    items = doc
    if isinstance(doc, dict):
        unknown = [key for key in doc if key not in ("version", "aliases")]
        if unknown:
            raise SourceError(name, f"printed a mapping with {unknown[0]!r}; expected 'aliases' (and 'version: 1')")
        if doc.get("version", 1) != 1:
            raise SourceError(name, f"printed version {doc['version']!r}; this homer-sync reads version 1")
        items = doc.get("aliases") or []
    if not isinstance(items, list):
        raise SourceError(name, "printed something that is neither a list of aliases nor a mapping with aliases")
    lines = getattr(items, "item_lines", [None] * len(items))
    return [SourceEntry(f"{name} output line {line}" if line else name, item)
            for item, line in zip(items, lines, strict=False)]


def _stderr_tail(stderr: bytes) -> str:
    lines = [line for line in stderr.decode("utf-8", "replace").splitlines() if line.strip()]
    if not lines:
        return ""
    last = " ".join(lines[-1].split())
    return f": {last[:STDERR_SHOWN]}"
