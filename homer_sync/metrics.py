"""Prometheus text-format metrics of a run, for node_exporter's textfile collector.

One :class:`RunMetrics` per server of the run; :func:`render_metrics` turns them
into the exposition format and :func:`write_metrics_file` replaces the file
atomically (write beside it, then rename), so the collector never reads half a file.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .errors import HomerSyncError

ACTIONS = ("create", "update", "delete")
PREFIX = "homer_sync"


@dataclass(frozen=True)
class RunMetrics:
    """What one server's run did; counts are None when the run did not get that far."""

    server: str
    command: str  # "plan" | "apply" | "check"
    finished_at: float  # seconds since the epoch
    duration_seconds: float
    exit_code: int
    planned: Mapping[str, int] = field(default_factory=dict)  # action -> count
    applied: Mapping[str, int] = field(default_factory=dict)
    failed: Mapping[str, int] = field(default_factory=dict)
    declared: int | None = None  # aliases the inventory declares
    on_server: int | None = None  # aliases HOMER held when the plan was made
    left_alone: int | None = None  # server aliases the plan leaves as they are, undeclared or out of scope
    previous_success: float | None = None  # the last success an earlier run recorded (previous_successes)

    @property
    def last_success(self) -> float | None:
        """This run's end if it succeeded, else the last success an earlier run recorded: the file is
        replaced by every run, and "no success for N hours" must survive a string of failures."""
        return self.finished_at if self.succeeded else self.previous_success

    @property
    def succeeded(self) -> bool:
        return self.exit_code in (0, 2)

    @property
    def changes(self) -> bool:
        """Whether the command plans changes at all (``check`` does not)."""
        return self.command in ("plan", "apply")

    @property
    def drift(self) -> int | None:
        """Changes still pending after this run: the plan's for ``plan``; for ``apply`` the planned
        ones it did not apply (failed, not started, or all of them when it was refused or declined)."""
        if not self.changes or (not self.planned and self.exit_code not in (0, 2, 3)):
            return None
        if self.command == "plan":
            return sum(self.planned.values())
        return max(0, sum(self.planned.values()) - sum(self.applied.values()))


_HELP = {
    "last_run_timestamp_seconds": ("gauge", "When the last run finished (Unix time)."),
    "last_success_timestamp_seconds": ("gauge", "When the last run that ended with exit code 0 or 2 finished."),
    "last_run_duration_seconds": ("gauge", "Wall time of the last run."),
    "last_run_exit_code": ("gauge", "Exit code of the last run (0 ok, 1 error, 2 changes pending, 3 refused)."),
    "changes_planned": ("gauge", "Changes the last run planned, by action."),
    "changes_applied": ("gauge", "Changes the last run applied, by action."),
    "changes_failed": ("gauge", "Changes the last run failed to apply or did not start, by action."),
    "aliases_declared": ("gauge", "Aliases the inventory declares."),
    "aliases_on_server": ("gauge", "Aliases HOMER held when the last plan was made."),
    "aliases_left_alone": ("gauge", "Server aliases the last plan left as they are (undeclared, out of scope)."),
    "drift_changes": ("gauge", "Changes pending after the last run (0 when HOMER matches the inventory)."),
}


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    return repr(float(value)) if isinstance(value, float) else str(value)


def render_metrics(runs: Iterable[RunMetrics]) -> str:
    """The exposition text: every family once, with its HELP and TYPE, one sample per server (and action)."""
    samples: dict[str, list[str]] = {name: [] for name in _HELP}

    def add(name: str, value, **labels: str) -> None:
        if value is None:
            return
        text = ",".join(f'{key}="{_label(val)}"' for key, val in labels.items())
        samples[name].append(f"{PREFIX}_{name}{{{text}}} {_number(value)}")

    for run in runs:
        server = {"server": run.server, "command": run.command}
        add("last_run_timestamp_seconds", run.finished_at, **server)
        add("last_success_timestamp_seconds", run.last_success, **server)
        add("last_run_duration_seconds", run.duration_seconds, **server)
        add("last_run_exit_code", run.exit_code, **server)
        for family, counts in (("changes_planned", run.planned), ("changes_applied", run.applied),
                               ("changes_failed", run.failed)):
            if run.changes and (counts or run.succeeded):
                for action in ACTIONS:
                    add(family, counts.get(action, 0), **server, action=action)
        add("aliases_declared", run.declared, **server)
        add("aliases_on_server", run.on_server, **server)
        add("aliases_left_alone", run.left_alone, **server)
        add("drift_changes", run.drift, **server)
    lines = []
    for name, (kind, text) in _HELP.items():
        if samples[name]:
            lines += [f"# HELP {PREFIX}_{name} {text}", f"# TYPE {PREFIX}_{name} {kind}", *samples[name]]
    return "\n".join(lines) + "\n"


_SUCCESS = re.compile(rf"^{PREFIX}_last_success_timestamp_seconds\{{(?P<labels>[^}}]*)\}} (?P<value>\S+)$", re.M)
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def _unlabel(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), value)


def previous_successes(text: str) -> dict[tuple[str, str], float]:
    """(server, command) -> last success timestamp, read from a metrics file this module wrote."""
    found = {}
    for match in _SUCCESS.finditer(text):
        labels = {key: _unlabel(value) for key, value in _LABEL.findall(match["labels"])}
        try:
            value = float(match["value"])
        except ValueError:
            continue
        if "server" in labels and "command" in labels:
            found[(labels["server"], labels["command"])] = value
    return found


def read_previous_successes(path: str | os.PathLike) -> dict[tuple[str, str], float]:
    """previous_successes of the file at ``path``; empty when there is none (or it cannot be read)."""
    try:
        return previous_successes(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return {}


def write_metrics_file(path: str | os.PathLike, text: str) -> None:
    """Replace ``path`` with ``text`` atomically; HomerSyncError with one clear line when it cannot."""
    target = Path(path)
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent or ".")
    except OSError as exc:
        raise HomerSyncError(f"cannot write metrics file {target}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temporary, 0o644)  # node_exporter usually runs as another user
        os.replace(temporary, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise HomerSyncError(f"cannot write metrics file {target}: {exc.strerror or exc}") from None
