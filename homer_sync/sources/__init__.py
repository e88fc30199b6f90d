"""Inventory sources: programs and services that yield alias entries (NetBox, DNS, Kamailio, a command).

A source never writes anywhere. It turns its configuration block (one item of an
inventory's ``sources:`` list) into :class:`SourceEntry` records, each an ordinary
``aliases:`` item; the inventory loader validates, expands, merges and lints them
exactly like hand-written entries, naming ``SourceEntry.origin`` in every problem.
"""

from .base import SourceContext, SourceEntry, SourceError

__all__ = ["SourceContext", "SourceEntry", "SourceError"]
