"""Pausing Python's cyclic garbage collector while brainvcs builds or reads a whole brain.

Committing, reading and rebuilding a brain allocate millions of containers,
none of them garbage; the collector would only rescan them again and again
(it costs a first commit of the M synthetic brain ~0.25 s, a live object's
~0.5 s, a load twice its time). So that work runs with the collector off.

The collector is process-wide. A thread that works *beside* the user's own
threads (the Autosaver's worker, committing while the brain goes on
learning) must not switch it off for them: it runs under
:func:`collector_left_alone`, and :func:`collector_paused` does nothing there.
A program that commits from a saving thread of its own can do the same::

    with collector_left_alone():
        repo.commit(brain, "checkpoint")
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collector_left_alone", "collector_paused"]

_THREAD = threading.local()


@contextmanager
def collector_paused() -> Iterator[None]:
    """Run the block with the cyclic garbage collector off (as it was, after), unless this thread
    is under :func:`collector_left_alone`."""
    if getattr(_THREAD, "left_alone", False) or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@contextmanager
def collector_left_alone() -> Iterator[None]:
    """In this thread, for the block, :func:`collector_paused` leaves the collector as it is."""
    before = getattr(_THREAD, "left_alone", False)
    _THREAD.left_alone = True
    try:
        yield
    finally:
        _THREAD.left_alone = before
