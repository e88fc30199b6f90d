"""YAML (and JSON) text -> plain data whose mappings and lists remember their lines.

Block YAML of the usual shape is read line by line (yamlfast); anything else is
built straight from the parser's events (yamlevents, which imports PyYAML only
then). Syntax errors become problems at file:line.
"""

from __future__ import annotations

from .problems import FileProblems
from .yamlfast import Unsupported, read_block_yaml

_FAST_READER = read_block_yaml  # None: every text through the event builder (tests compare both)


def load_yaml(f: FileProblems, text: str):
    """(data, True), or (None, False) after reporting the syntax error."""
    if _FAST_READER is not None:
        try:
            return _FAST_READER(text), True
        except Unsupported:
            pass
    from . import yamlevents

    return yamlevents.load_reporting(f, text)
