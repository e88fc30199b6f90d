"""The inventory's ``sources:`` block: offline checks, concurrent collection, entries with their origin.

Each item names a source ``type`` (see sources/registry.py); the keys ``name``
and ``owns`` belong to the framework, every other key to the type's module,
whose ``check()`` validates them offline (problems at file:line). At run time
``collect_sources`` reads every source at once; a failing source fails the whole
run (an incomplete list must never drive a plan, let alone a prune), and each
entry a source yields is validated exactly like a hand-written one, its problems
naming the object it came from.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import HomerSyncError
from ..sources.base import SourceContext, SourceEntry, SourceError
from ..sources.registry import TYPES, SourceTypeUnavailable, source_module
from .entries import Entry, parse_entry
from .keys import check_keys, key_line
from .problems import FileProblems, Problem, describe
from .prune import PruneConfig, parse_scope

FRAMEWORK_KEYS = ("type", "name", "owns", "time_limit")
DEFAULT_TIME_LIMIT = 300.0  # seconds a whole source may take; its own timeouts bound each request


@dataclass(frozen=True)
class SourceSpec:
    """One validated item of a ``sources:`` list."""

    type: str
    config: Mapping[str, Any]  # the item without the framework keys: what the module reads
    label: str  # "sources[0] netbox", or the item's name
    file: str
    line: int | None
    base_dir: str
    defaults: dict  # the file's defaults, applied to the source's entries
    owns: PruneConfig | None
    time_limit: float = DEFAULT_TIME_LIMIT

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.line is not None else self.file


@dataclass(frozen=True)
class Collected:
    """What one source yielded."""

    spec: SourceSpec
    entries: tuple[SourceEntry, ...]


class SourceFailure(HomerSyncError):
    """At least one source could not be read; nothing is planned and nothing is written."""

    def __init__(self, failures: list[tuple[SourceSpec, str]]):
        self.failures = failures
        lines = [f"{spec.where}: {spec.label}: {message}" for spec, message in failures]
        head = "an inventory source failed" if len(lines) == 1 else f"{len(lines)} inventory sources failed"
        super().__init__("\n  ".join([f"{head}; nothing was planned or written:"] + lines))


def parse_sources(f: FileProblems, node, line, defaults: dict, base_dir: str) -> list[SourceSpec]:
    """The ``sources`` list -> SourceSpecs; every problem is reported at its file:line."""
    if not isinstance(node, list):
        f.error(line, "sources", f"sources must be a list, got {describe(node)}")
        return []
    specs = []
    item_lines = getattr(node, "item_lines", [line] * len(node))
    for index, item in enumerate(node):
        spec = _parse_source(f, item, item_lines[index], f"sources[{index}]", defaults, base_dir)
        if spec is not None:
            specs.append(spec)
    return specs


def _parse_source(f: FileProblems, item, line, path: str, defaults: dict, base_dir: str) -> SourceSpec | None:
    if not isinstance(item, dict):
        f.error(line, path, f"each source must be a mapping with a type ({', '.join(TYPES)}), got {describe(item)}")
        return None
    line = getattr(item, "line", line)
    type_name = item.get("type")
    if "type" not in item:
        f.error(line, path, f"missing type (one of {', '.join(TYPES)})")
        return None
    try:
        module = source_module(type_name) if isinstance(type_name, str) else None
    except SourceTypeUnavailable as exc:
        f.error(key_line(item, "type"), f"{path}.type", str(exc))
        return None
    if module is None or not isinstance(type_name, str):
        f.error(key_line(item, "type"), f"{path}.type",
                f"type must be one of {', '.join(TYPES)}, got {describe(type_name)}")
        return None
    ok = True
    name = item.get("name")
    if "name" in item and (not isinstance(name, str) or not name.strip()):
        f.error(key_line(item, "name"), f"{path}.name", f"name must be a non-empty string, got {describe(name)}")
        ok = False
    owns = None
    if "owns" in item:
        scope = parse_scope(f, item["owns"], key_line(item, "owns"), f"{path}.owns")
        ok &= scope is not None
        owns = PruneConfig(**scope) if scope else None
    time_limit = item.get("time_limit", DEFAULT_TIME_LIMIT)
    if isinstance(time_limit, bool) or not isinstance(time_limit, (int, float)) or not 0 < time_limit < 86400:
        f.error(key_line(item, "time_limit"), f"{path}.time_limit",
                f"time_limit must be a number of seconds above 0 and below 86400, got {describe(time_limit)}")
        ok = False
    config = {key: value for key, value in item.items() if key not in FRAMEWORK_KEYS}
    for field_path, message in module.check(config):
        top = str(field_path).split(".")[0].split("[")[0]
        where = f"{path}.{field_path}" if field_path else path
        f.error(key_line(item, top) if top in item else line, where, message)
        ok = False
    # Keys the module does not know are reported by its check(); duplicates only here.
    ok &= check_keys(f, item, tuple(item), path)
    if not ok:
        return None
    label = name.strip() if isinstance(name, str) and name.strip() else f"{path} {type_name}"
    return SourceSpec(type_name, config, label, f.source, line, base_dir, defaults, owns, float(time_limit))


def collect_sources(specs: list[SourceSpec], context: Callable[[SourceSpec], SourceContext], *,
                    clock: Callable[[], float] = time.monotonic) -> list[Collected]:
    """Read every source at once; raise SourceFailure naming each one that failed.

    A source that is still running when its context's ``timeout`` has passed fails the run: its
    thread is a daemon that is abandoned, never waited for, so a hung source cannot hold the run.
    """
    if not specs:
        return []
    results: list[tuple[SourceEntry, ...] | str | None] = [None] * len(specs)
    contexts = [context(spec) for spec in specs]

    def run(index: int) -> None:
        spec = specs[index]
        try:
            results[index] = tuple(source_module(spec.type).collect(spec.config, contexts[index]))
        except (SourceError, SourceTypeUnavailable) as exc:
            results[index] = str(exc)
        except Exception as exc:  # a defect in a source must still end in one line, before any write
            results[index] = f"failed unexpectedly ({type(exc).__name__}: {exc})"

    started = clock()
    threads = [threading.Thread(target=run, args=(i,), name=f"homer-sync-source-{i}", daemon=True)
               for i in range(len(specs))]
    for thread in threads:
        thread.start()
    for index, thread in enumerate(threads):
        thread.join(max(0.0, started + contexts[index].timeout - clock()))
        if thread.is_alive():
            results[index] = (f"did not finish within its time limit of {contexts[index].timeout:g} s "
                              "(time_limit); it was abandoned")
    failures = [(spec, result) for spec, result in zip(specs, results, strict=True) if isinstance(result, str)]
    if failures:
        raise SourceFailure(failures)
    return [Collected(spec, result) for spec, result in zip(specs, results, strict=True) if isinstance(result, tuple)]


def default_context(spec: SourceSpec, *, environ: Mapping[str, str] | None = None,
                    resolver=None, on_request=None) -> SourceContext:
    return SourceContext(base_dir=spec.base_dir, environ=dict(os.environ if environ is None else environ),
                         timeout=spec.time_limit, resolver=resolver, on_request=on_request)


def source_entries(collected: list[Collected], problems: list[Problem]) -> list[Entry]:
    """Each yielded SourceEntry validated as an ``aliases`` item; problems name its origin."""
    entries = []
    for result in collected:
        for item in result.entries:
            origin = getattr(item, "origin", None) or result.spec.label
            f = FileProblems(origin, problems)
            if not isinstance(item, SourceEntry) or not isinstance(item.fields, Mapping):
                f.error(None, None, f"{result.spec.label} yielded {describe(item)} instead of an entry")
                continue
            entry = parse_entry(f, dict(item.fields), None, None, result.spec.defaults)
            if entry is not None:
                entry.from_source = (result.spec.file, result.spec.line, result.spec.label)
                entries.append(entry)
    return entries
