"""Load, validate and expand inventory files (YAML, JSON, CSV); dump aliases back to one.

Every problem is collected with file:line and the field path, and raised at
once in one :class:`errors.InventoryError`. Nothing here touches HOMER; the
only network access is the optional resolution of ``host:`` entries.

This module reads the files and runs the steps; each step has its module:
yamlsource / csvsource (text -> data), document / entries / prune (validation),
resolve (host names), merge (ip x port, duplicates), lint (warnings), dump.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass

from ..errors import InventoryError
from ..model import Alias, sort_key
from .csvsource import CSV_COLUMNS, parse_csv
from .document import VERSION, parse_document
from .dump import dump_inventory
from .lint import name_warnings, overlap_warnings
from .merge import expand
from .problems import FileProblems, Problem
from .prune import OWNER_TAGS, PruneConfig
from .resolve import Resolver, resolve_all, system_resolver

__all__ = [
    "CSV_COLUMNS", "OWNER_TAGS", "VERSION", "Inventory", "Problem", "PruneConfig", "Resolver",
    "dump_inventory", "load_inventory", "system_resolver",
]


@dataclass(frozen=True)
class Inventory:
    aliases: tuple[Alias, ...]
    prune: PruneConfig
    warnings: tuple[Problem, ...]
    sources: tuple[str, ...]
    unresolved_hosts: tuple[str, ...] = ()


def load_inventory(
    paths: Iterable[str] | str,
    *,
    stdin=None,
    resolve_hosts: bool = True,
    resolver: Resolver | None = None,
) -> Inventory:
    """Load, validate, merge and expand inventory files.

    ``"-"`` reads ``stdin`` (default ``sys.stdin``); ``*.csv`` files are CSV,
    everything else YAML (JSON included). Raises :class:`InventoryError`
    listing every problem found.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = [os.fspath(p) for p in paths]
    problems: list[Problem] = []
    if not paths:
        raise InventoryError([Problem("", None, None, "no inventory file given")])
    sources, entries, stdin_cache = [], [], []
    prune = prune_origin = None
    for path in paths:
        source = "<stdin>" if path == "-" else path
        sources.append(source)
        f = FileProblems(source, problems)
        text = _read(path, stdin, stdin_cache, f)
        if text is None:
            continue
        if path.lower().endswith(".csv"):
            entries.extend(parse_csv(FileProblems(source, file_problems := []), text))
            problems.extend(file_problems)
            continue
        if path.lower().endswith(".json"):
            text = text.replace("\t", " ")  # JSON allows tabs between tokens; pure-Python YAML does not
        from .yamlsource import load_yaml  # PyYAML loads with the first YAML file, not with the package

        doc, ok = load_yaml(f, text)
        if not ok:
            continue
        file_entries, file_prune, prune_line = parse_document(f, doc)
        entries.extend(file_entries)
        if file_prune is not None:
            if prune is None:
                prune, prune_origin = file_prune, f"{source}:{prune_line}"
            elif file_prune != prune:
                f.error(prune_line, "prune", f"differs from the prune block at {prune_origin}; "
                        "declare prune in one file (or make the blocks identical)")

    hosts = list(dict.fromkeys(host for entry in entries for host, _, _ in entry.hosts))
    # Each distinct host is resolved once per call: that is the cache.
    resolved = resolve_all(hosts, resolver or system_resolver) if resolve_hosts else {}
    seen = expand(entries, resolved, problems)
    order = {source: i for i, source in enumerate(dict.fromkeys(sources))}

    def by_place(problem):
        return (order.get(problem.source, -1), problem.line or 0)

    if problems:
        raise InventoryError(sorted(problems, key=by_place))
    aliases = tuple(sorted((alias for alias, _ in seen.values()), key=sort_key))
    warnings = sorted(name_warnings(entries, resolved) + overlap_warnings(seen), key=by_place)
    return Inventory(
        aliases=aliases,
        prune=prune or PruneConfig(),
        warnings=tuple(warnings),
        sources=tuple(sources),
        unresolved_hosts=() if resolve_hosts else tuple(sorted(hosts)),
    )


def _read(path: str, stdin, stdin_cache: list, f: FileProblems) -> str | None:
    if path == "-":
        if not stdin_cache:
            stream = sys.stdin if stdin is None else stdin
            stdin_cache.append(stream.read())
        return stdin_cache[0]
    try:
        with open(path, encoding="utf-8-sig") as handle:
            return handle.read()
    except UnicodeDecodeError as exc:
        f.error(None, None, f"file is not valid UTF-8 (byte {exc.start})")
    except OSError as exc:
        f.error(None, None, f"cannot read file: {exc.strerror or exc}")
    return None
