"""The top level of a YAML/JSON inventory: version, defaults, aliases, sources and prune.

(``resolver`` and ``protect`` are read by the loader, which keeps one of each for all the files, and
so is ``backup``: see origin.py.)
"""

from __future__ import annotations

from .entries import Entry, fast_entry, parse_defaults, parse_entry
from .exact import EXACT, EXACT_KEY, STRICT
from .keys import check_keys, key_line
from .problems import FileProblems, describe
from .prune import PruneConfig, parse_prune
from .sources import SourceSpec, parse_sources

VERSION = 1
TOP_KEYS = ("version", EXACT_KEY, "backup", "defaults", "aliases", "sources", "prune", "protect", "resolver")
_FAST_ENTRIES = True  # False: every entry through parse_entry (tests compare both)
NOTHING: tuple[list[Entry], None, None, list[SourceSpec]] = ([], None, None, [])


def parse_document(f: FileProblems, doc, base_dir: str = ".") -> tuple[
        list[Entry], PruneConfig | None, int | None, list[SourceSpec]]:
    """Top level of a YAML/JSON file -> (entries, prune config or None, prune line, sources)."""
    if doc is None:
        f.error(None, None, "file is empty; expected 'version: 1' and a list of aliases")
        return NOTHING
    if not isinstance(doc, dict):
        f.error(getattr(doc, "line", 1), None,
                f"the top level must be a mapping with version and aliases, got {describe(doc)}")
        return NOTHING
    # Top-level "x-..." keys are ignored: a place for YAML anchors (as in docker compose).
    check_keys(f, doc, TOP_KEYS, "", extensions=True)
    if "version" not in doc:
        f.error(getattr(doc, "line", 1), "version", f"missing version (add 'version: {VERSION}' at the top)")
    else:
        version = doc["version"]
        if isinstance(version, bool) or version != VERSION:
            shown = version if type(version) is int else describe(version)
            f.error(key_line(doc, "version"), "version",
                    f"unsupported version {shown}; this homer-sync reads version {VERSION}")
            return NOTHING
    rules = STRICT
    if EXACT_KEY in doc:
        if doc[EXACT_KEY] is True:
            rules = EXACT
        elif doc[EXACT_KEY] is not False:
            f.error(key_line(doc, EXACT_KEY), EXACT_KEY, f"exact must be true or false, got {describe(doc[EXACT_KEY])}")
    defaults = parse_defaults(f, doc.get("defaults"), key_line(doc, "defaults"), rules)
    prune = prune_line = None
    if doc.get("prune") is not None:
        prune_line = key_line(doc, "prune")
        prune = parse_prune(f, doc["prune"], prune_line)
    sources = []
    if "sources" in doc:
        sources = parse_sources(f, doc["sources"], key_line(doc, "sources"), defaults, base_dir)
    aliases = doc.get("aliases")
    line = key_line(doc, "aliases")
    entries = []
    if "aliases" not in doc:
        if "sources" not in doc and "protect" not in doc:  # a file may only protect (given beside a backup)
            f.error(line, "aliases", "missing aliases (the list of aliases to declare) or sources")
    elif (aliases is None or aliases == []) and "sources" in doc:
        pass  # the sources declare everything
    elif aliases is None or aliases == []:
        f.error(line, "aliases", "aliases is empty; declare at least one alias")
    elif not isinstance(aliases, list):
        f.error(line, "aliases", f"aliases must be a list, got {describe(aliases)}")
    else:
        item_lines = getattr(aliases, "item_lines", [line] * len(aliases))
        fast = _FAST_ENTRIES and rules is STRICT
        source = f.source
        for index, item in enumerate(aliases):
            entry = fast_entry(source, item, index, defaults) if fast else None
            if entry is None:
                entry = parse_entry(f, item, item_lines[index], index, defaults, rules)
            if entry is not None:
                entries.append(entry)
    return entries, prune, prune_line, sources
