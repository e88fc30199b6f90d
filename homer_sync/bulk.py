"""Building many objects at once: the cyclic garbage collector waits until it is done.

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


@contextmanager
def collector_paused() -> Iterator[None]:
    """Run the block (or, as a decorator, the function) without cyclic garbage collection."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
