"""Building many objects at once: the cyclic garbage collector waits until it is done (and, in the
command-line process, then leaves what was built alone).

An inventory or an alias list of 100,000 aliases is hundreds of thousands of small
containers, none of them in a reference cycle. CPython's collector would walk them
all again each time the heap grows by a quarter: about a third of the time it takes
to load such an inventory. Loading, listing and diffing run with it paused; it
resumes as it was (a thread that paused it while another already had leaves it as
the first one found it), and whatever cycles were made meanwhile are collected then.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

_freeze_when_done = False


def freeze_bulk_data(enabled: bool = True) -> None:
    """For a short-lived process (the command line): when a paused block ends, what exists then is
    moved out of the collector's reach (``gc.freeze``) instead of being walked again by the next
    collections (about 0.1 s for a plan of 100,000 aliases, whose data lives until exit anyway).
    Frozen objects are still freed when their last reference goes; only cycles among them would
    wait for the process to end. Off by default: a library must not do this to its host."""
    global _freeze_when_done
    _freeze_when_done = enabled


@contextmanager
def collector_paused() -> Iterator[None]:
    """Run the block (or, as a decorator, the function) without cyclic garbage collection."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            if _freeze_when_done:
                gc.freeze()
            gc.enable()
