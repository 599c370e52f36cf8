"""Autosave: commit a brain while it learns, so that no learning is lost.

* :mod:`.saver` — :class:`Autosaver` commits a live brain from a background
  thread, every ``every_seconds`` and/or every ``every_changes`` notified
  changes, plus a final save on :meth:`Autosaver.stop` and at interpreter exit;
* :mod:`.target` — where autosaves land (``autosave/<branch>`` or the branch
  itself), their trailers (``Brain-Source: autosave``, ``Brain-Autosave-Seq: N``)
  and the compare-and-swap bookkeeping;
* :mod:`.watch` — :func:`watch`, autosave for a brain that lives in another
  process (it commits a state file whenever it changes);
* :mod:`.squash` — :func:`squash`, one commit in place of a run of autosaves.

Each save is an ordinary commit: one fsynced pack, then a compare-and-swap
ref move. Guarantees, costs and recovery after a crash: ``docs/autosave.md``.
"""

from __future__ import annotations

from .capture import SaveResult, copy_state
from .saver import Autosaver
from .worker import MAX_RETRY_DELAY
from .squash import SquashResult, squash
from .target import AUTOSAVE_PREFIX, AUTOSAVE_SOURCE, SEQ_TRAILER, SOURCE_TRAILER, AutosaveTarget, is_autosave
from .watch import WatchEvent, WatchReport, watch

__all__ = [
    "AUTOSAVE_PREFIX", "AUTOSAVE_SOURCE", "MAX_RETRY_DELAY", "SEQ_TRAILER", "SOURCE_TRAILER", "AutosaveTarget",
    "Autosaver", "SaveResult", "SquashResult", "WatchEvent", "WatchReport", "copy_state", "is_autosave",
    "squash", "watch",
]
