"""Load, validate and expand inventory files (YAML, JSON, CSV); dump aliases back to one.

Every problem is collected with file:line and the field path, and raised at
once in one :class:`errors.InventoryError`. Nothing here touches HOMER; the
only network access is the resolution of ``host:`` entries and the reading
of the inventory's ``sources:``.

Two steps, so that a caller can read the sources while it lists HOMER:
:func:`open_inventory` reads and checks the files offline (an
:class:`InventoryDraft`); ``draft.load()`` collects the sources, resolves the
hosts and expands everything into an :class:`Inventory`. :func:`load_inventory`
does both. Each step has its module: yamlsource / csvsource (text -> data),
document / entries / prune / sources (validation), resolve (host names),
merge (ip x port, duplicates), lint (warnings), dump.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from ..bulk import collector_paused
from ..errors import InventoryError
from ..model import Alias, sort_key
from .csvsource import CSV_COLUMNS, parse_csv
from .document import VERSION, parse_document
from .dump import dump_collected, dump_inventory
from .entries import Entry
from .keys import key_line
from .lint import name_warnings, overlap_warnings
from .merge import DEFAULT_MAX_ALIASES, expand
from .origin import BACKUP_KEY, BackupOrigin, parse_origin
from .problems import FileProblems, Problem
from .protect import ProtectConfig, parse_protect
from .prune import OWNER_TAGS, PruneConfig
from .resolve import Resolver, parse_resolver, resolve_all, system_resolver
from .sources import Collected, SourceFailure, SourceSpec, collect_sources, default_context, source_entries

__all__ = [
    "BackupOrigin", "CSV_COLUMNS", "DEFAULT_MAX_ALIASES", "OWNER_TAGS", "VERSION", "Collected", "Inventory",
    "InventoryDraft", "Problem", "ProtectConfig", "PruneConfig", "Resolver", "SourceFailure", "dump_collected",
    "dump_inventory", "load_inventory", "open_inventory", "system_resolver",
]


@dataclass(frozen=True)
class Inventory:
    aliases: tuple[Alias, ...]
    prune: PruneConfig
    warnings: tuple[Problem, ...]
    sources: tuple[str, ...]  # the files read
    unresolved_hosts: tuple[str, ...] = ()
    collected: tuple[Collected, ...] = ()  # what each inventory source yielded, in declaration order
    backup_of: tuple[BackupOrigin, ...] = ()  # the servers the backup files among the files came from
    protect: ProtectConfig = ProtectConfig()  # never updated or deleted (every file's protect: block, merged)


@dataclass(frozen=True)
class InventoryDraft:
    """Inventory files read and checked offline; sources not yet read, hosts not yet resolved."""

    entries: tuple[Entry, ...]
    prune: PruneConfig  # the owned scopes of the sources included
    files: tuple[str, ...]
    source_specs: tuple[SourceSpec, ...] = field(default=())
    on_request: Callable | None = field(default=None, compare=False)  # the -v hook for sources' HTTP requests
    max_aliases: int = DEFAULT_MAX_ALIASES  # more after expansion (ip x port) is a problem, found before any is made
    resolver: Resolver | None = field(default=None, compare=False)  # the files' resolver: block (None: the system's)
    backup_of: tuple[BackupOrigin, ...] = ()  # the backup: blocks of the files (origin.py)
    protect: ProtectConfig = ProtectConfig()  # the union of the files' protect: blocks

    def collect(self, *, environ=None, on_request=None, resolver: Resolver | None = None) -> list[Collected]:
        """Read every source at once (network, files, programs); raises SourceFailure."""
        hook = on_request or self.on_request
        return collect_sources(list(self.source_specs), lambda spec: default_context(
            spec, environ=environ, resolver=resolver or self.resolver, on_request=hook))

    @collector_paused()
    def finish(self, collected: list[Collected] = (), *, resolve_hosts: bool = True,  # type: ignore[assignment]
               resolver: Resolver | None = None) -> Inventory:
        """Validate the sources' entries, resolve hosts, expand and merge; raises InventoryError."""
        problems: list[Problem] = []
        entries = list(self.entries) + source_entries(list(collected), problems)
        hosts = list(dict.fromkeys(host for entry in entries for host, _, _ in entry.hosts))
        # Each distinct host is resolved once per call: that is the cache.
        resolved = resolve_all(hosts, resolver or self.resolver or system_resolver) if resolve_hosts else {}
        seen = expand(entries, resolved, problems, self.max_aliases)
        order = {source: i for i, source in enumerate(dict.fromkeys(self.files))}

        def by_place(problem):
            return (order.get(problem.source, len(order)), problem.line or 0)

        if problems:
            raise InventoryError(sorted(problems, key=by_place))
        aliases = tuple(sorted((alias for alias, _ in seen.values()), key=sort_key))
        warnings = sorted(name_warnings(entries, resolved) + overlap_warnings(seen), key=by_place)
        return Inventory(
            aliases=aliases,
            prune=self.prune,
            warnings=tuple(warnings),
            sources=self.files,
            unresolved_hosts=() if resolve_hosts else tuple(sorted(hosts)),
            collected=tuple(collected),
            backup_of=self.backup_of,
            protect=self.protect,
        )

    def load(self, *, resolve_hosts: bool = True, resolver: Resolver | None = None, collect_sources: bool = True,
             environ=None, on_request=None) -> Inventory:
        """collect() then finish(): the complete inventory."""
        collected = self.collect(environ=environ, on_request=on_request, resolver=resolver) if collect_sources else []
        return self.finish(collected, resolve_hosts=resolve_hosts, resolver=resolver)


def load_inventory(
    paths: Iterable[str] | str,
    *,
    stdin=None,
    resolve_hosts: bool = True,
    resolver: Resolver | None = None,
    collect_sources: bool = True,
    environ=None,
    max_aliases: int = DEFAULT_MAX_ALIASES,
) -> Inventory:
    """Load, validate, merge and expand inventory files, reading their sources.

    ``"-"`` reads ``stdin`` (default ``sys.stdin``); ``*.csv`` files are CSV,
    everything else YAML (JSON included). Raises :class:`InventoryError`
    listing every problem found, :class:`SourceFailure` when a source cannot be read.
    """
    draft = open_inventory(paths, stdin=stdin, resolve_hosts=resolve_hosts, resolver=resolver,
                           max_aliases=max_aliases)
    return draft.load(resolve_hosts=resolve_hosts, resolver=resolver, collect_sources=collect_sources,
                      environ=environ)


@collector_paused()
def open_inventory(paths: Iterable[str] | str, *, stdin=None, resolve_hosts: bool = True,
                   resolver: Resolver | None = None, max_aliases: int = DEFAULT_MAX_ALIASES) -> InventoryDraft:
    """Read and check inventory files (sources' configuration included); raises InventoryError.

    Sources are not read. Hosts are resolved only when the files have problems,
    to report every problem at once.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = [os.fspath(p) for p in paths]
    problems: list[Problem] = []
    if not paths:
        raise InventoryError([Problem("", None, None, "no inventory file given")])
    sources: list[str] = []
    entries: list[Entry] = []
    stdin_cache: list[str] = []
    specs: list[SourceSpec] = []
    origins: list[BackupOrigin] = []
    prune = prune_origin = None
    dns = dns_origin = None
    protect = ProtectConfig()
    for path in paths:
        source = "<stdin>" if path == "-" else path
        sources.append(source)
        f = FileProblems(source, problems)
        text = _read(path, stdin, stdin_cache, f)
        if text is None:
            continue
        if path.lower().endswith(".csv"):
            file_problems: list[Problem] = []
            entries.extend(parse_csv(FileProblems(source, file_problems), text))
            problems.extend(file_problems)
            continue
        if path.lower().endswith(".json"):
            text = text.replace("\t", " ")  # JSON allows tabs between tokens; pure-Python YAML does not
        from .yamlsource import load_yaml  # PyYAML loads with the first YAML file, not with the package

        doc, ok = load_yaml(f, text)
        if not ok:
            continue
        base_dir = "." if path == "-" else os.path.dirname(os.path.abspath(path))
        file_entries, file_prune, prune_line, file_specs = parse_document(f, doc, base_dir)
        entries.extend(file_entries)
        specs.extend(file_specs)
        if isinstance(doc, dict) and BACKUP_KEY in doc:
            origin = parse_origin(f, doc[BACKUP_KEY], key_line(doc, BACKUP_KEY))
            if origin is not None:
                origins.append(origin)
        if isinstance(doc, dict) and "protect" in doc:
            file_protect = parse_protect(f, doc["protect"], key_line(doc, "protect"))
            if file_protect is not None:
                protect = protect.union(file_protect)  # what any file protects stays protected
        if isinstance(doc, dict) and "resolver" in doc:
            line = key_line(doc, "resolver")
            file_dns = parse_resolver(f, doc["resolver"], line)
            if file_dns is not None and dns is None:
                dns, dns_origin = file_dns, f"{source}:{line}"
            elif file_dns is not None and dns is not None and file_dns.settings != dns.settings:
                f.error(line, "resolver", f"differs from the resolver block at {dns_origin}; "
                        "declare it in one file (or make the blocks identical)")
        if file_prune is not None:
            if prune is None:
                prune, prune_origin = file_prune, f"{source}:{prune_line}"
            elif file_prune != prune:
                f.error(prune_line, "prune", f"differs from the prune block at {prune_origin}; "
                        "declare prune in one file (or make the blocks identical)")
    if problems:
        # Everything wrong at once: also the hosts that do not resolve and the identity conflicts.
        hosts = list(dict.fromkeys(host for entry in entries for host, _, _ in entry.hosts))
        expand(entries, resolve_all(hosts, resolver or dns or system_resolver) if resolve_hosts else {}, problems,
               max_aliases)
        order = {source: i for i, source in enumerate(dict.fromkeys(sources))}
        raise InventoryError(sorted(problems, key=lambda p: (order.get(p.source, -1), p.line or 0)))
    prune = prune or PruneConfig()
    owned = tuple(spec.owns for spec in specs if spec.owns is not None)
    if owned:
        prune = replace(prune, owned=owned)
    return InventoryDraft(entries=tuple(entries), prune=prune, files=tuple(sources), source_specs=tuple(specs),
                          max_aliases=max_aliases, resolver=dns, backup_of=tuple(origins), protect=protect)


# An inventory larger than this is not one (a device such as /dev/zero, a wrong file): refused
# after reading one character more, instead of reading until memory runs out. 100,000 aliases
# take about 5 MiB of YAML.
MAX_INVENTORY_SIZE = 64 * 1024 * 1024
TOO_BIG = f"is larger than {MAX_INVENTORY_SIZE // (1024 * 1024)} MiB, which no inventory is"


def _read_stdin(stream, f: FileProblems) -> str | None:
    """Standard input as text, decoded as strictly as a file is (its bytes when it has them)."""
    if stream is None:
        f.error(None, None, "standard input is closed")
        return None
    try:
        raw = getattr(stream, "buffer", None)
        data = (stream if raw is None else raw).read(MAX_INVENTORY_SIZE + 1)
    except OSError as exc:
        f.error(None, None, f"cannot read standard input: {exc.strerror or exc}")
        return None
    if len(data) > MAX_INVENTORY_SIZE:
        f.error(None, None, f"standard input {TOO_BIG}")
        return None
    if isinstance(data, str):
        return data
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        f.error(None, None, f"standard input is not valid UTF-8 (byte {exc.start})")
        return None
    return text.replace("\r\n", "\n").replace("\r", "\n")  # universal newlines, as a text stream reads


def _read(path: str, stdin, stdin_cache: list, f: FileProblems) -> str | None:
    if path == "-":
        if not stdin_cache:
            text = _read_stdin(sys.stdin if stdin is None else stdin, f)
            if text is None:
                return None
            stdin_cache.append(text)
        return stdin_cache[0]
    try:
        # CSV cells may hold line breaks of their own ("\r" too): the csv module reads them, not Python.
        newline = "" if path.lower().endswith(".csv") else None
        with open(path, encoding="utf-8-sig", newline=newline) as handle:
            text = handle.read(MAX_INVENTORY_SIZE + 1)
        if len(text) <= MAX_INVENTORY_SIZE:
            return text
        f.error(None, None, f"file {TOO_BIG}")
    except UnicodeDecodeError as exc:
        f.error(None, None, f"file is not valid UTF-8 (byte {exc.start})")
    except OSError as exc:
        f.error(None, None, f"cannot read file: {exc.strerror or exc}")
    return None
