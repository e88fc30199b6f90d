"""YAML text -> data whose mappings and lists remember their lines, from PyYAML's parser events.

What yamlfast does not read (flow collections, anchors, multi-line scalars, tags...) and every
syntax error come here, on libyaml when PyYAML has it and on the pure-Python parser otherwise.
A module of its own so that PyYAML is imported only when a text needs it.
"""

from __future__ import annotations

import yaml

from .problems import FileProblems
from .yamlnodes import new_map, new_seq, plain_scalar

_BaseLoader: type[yaml.SafeLoader] | type[yaml.CSafeLoader]
try:  # libyaml parses about ten times faster than the pure-Python parser.
    _BaseLoader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _BaseLoader = yaml.SafeLoader

_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_SCALAR_TAGS = frozenset(
    "tag:yaml.org,2002:" + name for name in ("null", "bool", "int", "float", "str", "binary", "timestamp")
)
_TEXT_TAGS = (_MERGE_TAG, "tag:yaml.org,2002:value")
_MERGE_KEY = "<<"
_NO_KEY = object()
_IN_SEQUENCE = object()  # the key slot of a sequence frame (a mapping key may be None: "null: x")
_MERGE = object()


def _yaml_error(problem: str, mark):
    return yaml.constructor.ConstructorError(None, None, problem, mark)


def load_reporting(f: FileProblems, text: str):
    """(data, True), or (None, False) after reporting the syntax error (see yamlsource.load_yaml)."""
    try:
        return build(text), True
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        reason = " ".join(str(exc.problem or exc.context or "syntax error").split())
        if mark is None:
            f.error(None, None, f"invalid YAML: {reason}")
        else:
            f.error(mark.line + 1, None, f"invalid YAML: {reason} (column {mark.column + 1})")
    except yaml.YAMLError as exc:
        f.error(None, None, f"invalid YAML: {' '.join(str(exc).split())}")
    return None, False


def build(text: str):
    """Safe-load one YAML document into Map/Seq/scalars carrying line numbers.

    Built straight from the parser's events: libyaml's composer plus the
    generic constructor cost several times more than this for big files.
    Semantics follow SafeLoader (anchors, ``<<`` merge keys, explicit tags) except
    for unquoted scalars, which yamlnodes.plain_scalar reads (never YAML 1.1's
    octal, base 60, yes/no...); duplicate keys are recorded on the mapping for the validator to report.
    """
    loader = _BaseLoader(text)
    try:
        return _build_from_events(loader)
    finally:
        loader.dispose()


def _build_from_events(loader):
    get_event = loader.get_event
    scalars: dict = {}  # (tag, text) -> constructed non-string value
    anchors: dict = {}
    stack: list = []  # frames: [container, key (_IN_SEQUENCE for a sequence), key_line, merges]
    root = None
    documents = 0

    def attach(value, line):
        nonlocal root
        if not stack:
            root = value
            return
        frame = stack[-1]
        container = frame[0]
        if frame[1] is _IN_SEQUENCE:
            container.append(value)
            container.item_lines.append(line)
        elif frame[1] is _NO_KEY:
            frame[1], frame[2] = value, line
        else:
            key, frame[1] = frame[1], _NO_KEY
            if key is _MERGE:
                frame[3].append(value)
                return
            if key in container:
                container.add_duplicate(key, frame[2])
            container[key] = value
            container.key_lines[key] = frame[2]

    def check_key(event, value):
        if stack and stack[-1][1] is _NO_KEY:
            try:
                hash(value)
            except TypeError:
                raise _yaml_error("found unhashable key", event.start_mark) from None

    while True:
        event = get_event()
        kind = type(event)
        if kind is yaml.ScalarEvent:
            tag, text = event.tag, event.value
            if tag is None or tag == "!":
                if not event.implicit[0]:
                    value = text  # quoted
                elif text == _MERGE_KEY and stack and stack[-1][1] is _NO_KEY:
                    value = _MERGE
                else:
                    value = plain_scalar(text)
            elif tag == _STR_TAG:
                value = text
            elif tag == _MERGE_TAG and stack and stack[-1][1] is _NO_KEY:
                value = _MERGE
            elif tag in _TEXT_TAGS:  # a lone "<<" or "=" used as a value
                value = text
            else:
                value = scalars.get((tag, text), _NO_KEY)
                if value is _NO_KEY:
                    if tag not in _SCALAR_TAGS:
                        raise _yaml_error(f"unsupported tag {tag!r}", event.start_mark)
                    node = yaml.ScalarNode(tag, text, event.start_mark, event.end_mark)
                    try:
                        value = scalars[(tag, text)] = loader.yaml_constructors[tag](loader, node)
                    except (ValueError, KeyError, OverflowError, TypeError):
                        # !!int abc, !!bool maybe, !!timestamp 2024-02-30: PyYAML fails outside its own errors
                        raise _yaml_error(f"{text!r} is not a valid {tag.rsplit(':', 1)[-1]}",
                                          event.start_mark) from None
            if event.anchor is not None:
                anchors[event.anchor] = value
            attach(value, event.start_mark.line + 1)
        elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
            is_map = kind is yaml.MappingStartEvent
            expected = "tag:yaml.org,2002:map" if is_map else "tag:yaml.org,2002:seq"
            if event.tag not in (None, "!", expected):
                raise _yaml_error(f"unsupported tag {event.tag!r}", event.start_mark)
            check_key(event, [])
            line = event.start_mark.line + 1
            value = new_map(line) if is_map else new_seq(line)
            if event.anchor is not None:
                anchors[event.anchor] = value
            attach(value, value.line)
            stack.append([value, _NO_KEY, None, []] if is_map else [value, _IN_SEQUENCE, None, None])
        elif kind is yaml.MappingEndEvent:
            mapping, _, _, merges = stack.pop()
            if merges:
                _apply_merges(mapping, merges, event)
        elif kind is yaml.SequenceEndEvent:
            stack.pop()
        elif kind is yaml.AliasEvent:
            if event.anchor not in anchors:
                raise _yaml_error(f"found undefined alias {event.anchor!r}", event.start_mark)
            value = anchors[event.anchor]
            check_key(event, value)
            attach(value, event.start_mark.line + 1)
        elif kind is yaml.DocumentStartEvent:
            documents += 1
            if documents > 1:
                raise _yaml_error("expected a single document in the stream, but found another document",
                                  event.start_mark)
        elif kind is yaml.StreamEndEvent:
            return root


def _apply_merges(mapping, merges, event):
    """YAML merge keys: explicit keys win, then earlier merge sources win."""
    sources = []
    for value in merges:
        items = value if isinstance(value, list) and not isinstance(value, dict) else [value]
        for item in items:
            if not isinstance(item, dict):
                raise _yaml_error("expected a mapping or list of mappings for merging", event.start_mark)
            sources.append(item)
    for source in sources:
        for key, value in source.items():
            if key not in mapping:
                mapping[key] = value
                mapping.key_lines[key] = getattr(source, "key_lines", {}).get(key, mapping.line)
