"""Pausing Python's cyclic garbage collector while a large JSON value is built.

``json.loads`` of a 100k-element annotation batch makes about a million lists and dicts;
each 700 new containers start a collection, and as the young objects pile up the
collector keeps rescanning them (and every older object of the process, in full
collections): on a 2-vCPU VM the parse took 0.4-2 s instead of 0.24 s with collection
paused. None of those objects can be garbage in a cycle while they are being built, so
collection is paused for the parse and resumed after it (it then runs normally).

The pause is process-wide (``gc`` has one switch): a count of the pauses in progress
keeps collection off until the last one ends, and leaves it off if it was off before.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_active = 0
_was_enabled = False


@contextmanager
def gc_paused() -> Iterator[None]:
    """Collection off inside the ``with`` block (see the module docstring).

    >>> import gc
    >>> with gc_paused():
    ...     gc.isenabled()
    False
    >>> gc.isenabled()
    True
    """
    global _active, _was_enabled
    with _lock:
        if _active == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0 and _was_enabled:
                gc.enable()
