"""Source types by name, each module imported only when an inventory uses it.

A source module may need a library that is an optional extra of homer-sync
(``pip install 'homer-sync[dns]'``); when it is missing, the operator is told
which extra to install instead of seeing an ImportError.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType


@dataclass(frozen=True)
class SourceType:
    module: str  # dotted module name
    extra: str | None  # the optional dependency group that provides its libraries


TYPES = {
    "netbox": SourceType(f"{__package__}.netbox", None),  # requests is a core dependency
    "dns": SourceType(f"{__package__}.dns", "dns"),
    "kamailio": SourceType(f"{__package__}.kamailio", "dns"),  # host names in URIs resolve through dnspython
    "command": SourceType(f"{__package__}.command", None),
}


class SourceTypeUnavailable(Exception):
    """A source type is unknown, or its module or library cannot be imported; the message says what to do."""


def source_module(type_name: str) -> ModuleType:
    """The module implementing ``type_name`` (imported on first use)."""
    kind = TYPES.get(type_name)
    if kind is None:
        raise SourceTypeUnavailable(f"unknown source type {type_name!r}; known types: {', '.join(TYPES)}")
    name = kind.module
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name:
            raise SourceTypeUnavailable(f"source type {type_name!r} is not available in this homer-sync") from None
        install = f"pip install 'homer-sync[{kind.extra}]'" if kind.extra else "reinstall homer-sync"
        raise SourceTypeUnavailable(
            f"source type {type_name!r} needs the Python package {exc.name!r}, which is not installed ({install})"
        ) from None
