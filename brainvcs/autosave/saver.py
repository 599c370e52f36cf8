"""The Autosaver: a background thread that commits a live brain.

Consistency: the brain is read only at quiescent points, always while holding
:attr:`Autosaver.lock`. Methods wrapped by :meth:`Autosaver.hook` run holding
it; code that changes the brain any other way must hold it too (or pass the
brain's own lock as ``lock=``). The state is copied under the lock and
encoded and written outside it, so the learning thread pays only for the copy.

Cost: a Python thread competes with the learning thread for the GIL, so the
saver keeps to a budget: a save (capture included) may take at most
``max_overhead`` of the wall time, and when saves are slow the next one waits
longer than ``every_seconds``. ``stop()`` and ``save_now()`` ignore the budget.
"""

from __future__ import annotations

import atexit
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..errors import BrainVCSError, UsageError
from ..repo import Repository
from .hooks import MethodHooks
from .capture import Capture, SaveResult, Waiter, copy_state, state_getter, state_setter
from .teamsync import TeamSync
from .worker import SaveLoop
from .target import AutosaveTarget



class Autosaver(SaveLoop):
    """Commits a live brain in a background thread; use as a context manager or start()/stop().

    ``repo`` is a path or a :class:`Repository` (the thread opens its own
    instance by path, since dulwich repositories are not thread-safe; an
    in-memory repository is shared). ``brain`` is any object with
    ``to_state()``, or a state mapping itself; ``get_state`` overrides how the
    state is read. ``on_save(SaveResult)`` runs after each commit landed;
    ``on_error(exc)`` after each failed save (also logged on the
    ``brainvcs.autosave`` logger). A failed save is retried later with backoff;
    the learning is still in memory, and the final save on :meth:`stop` raises
    if it fails.

    ``lock``: the lock held while the state is read (default: a new RLock,
    :attr:`lock`); pass the brain's own if it has one. ``copy``: deep-copy the
    state read (leave it on unless ``get_state``/``to_state`` already returns
    a copy the brain will not touch). ``max_overhead``: the share of wall time
    saves may take (None: no limit). ``save_at_exit``: stop (with a final
    save) at interpreter exit. ``sync_remote``: after autosaves, at most every
    ``sync_every_seconds``, sync the autosave branch with that remote and
    merge what other machines learned into the live brain (``set_state`` puts
    a state back; default: the brain's adapter, in place; see
    :mod:`brainvcs.autosave.teamsync`). See ``docs/autosave.md``.
    """

    def __init__(self, repo: Repository | str | Path, brain: Any = None, *,
                 get_state: Callable[[], Mapping[str, Any]] | None = None,
                 every_seconds: float | None = 30.0, every_changes: int | None = None,
                 branch: str | None = None, on_branch: bool = False,
                 on_error: Callable[[BaseException], None] | None = None,
                 on_save: Callable[[SaveResult], None] | None = None,
                 message: str = "autosave", author: str | None = None,
                 lock: Any = None, copy: bool = True, save_at_exit: bool = True,
                 max_overhead: float | None = 0.05, sync_remote: str | None = None,
                 sync_every_seconds: float = 60.0, sync_strategy: str | None = None,
                 set_state: Callable[[Mapping[str, Any]], None] | None = None) -> None:
        if every_seconds is not None and every_seconds <= 0:
            raise UsageError(f"every_seconds must be positive, not {every_seconds}")
        if max_overhead is not None and not 0 < max_overhead <= 1:
            raise UsageError(f"max_overhead must be in (0, 1], not {max_overhead}")
        if every_changes is not None and every_changes < 1:
            raise UsageError(f"every_changes must be at least 1, not {every_changes}")
        if not message.strip():
            raise UsageError("empty autosave message")
        self._get_state = state_getter(brain, get_state)
        self.every_seconds = every_seconds
        self.every_changes = every_changes
        self.message = message
        self.author = author
        self.on_error = on_error
        self.on_save = on_save
        self.copy = copy
        self.save_at_exit = save_at_exit
        self.max_overhead = max_overhead
        #: Held while the brain is read; hooked methods run holding it.
        self.lock: Any = lock if lock is not None else threading.RLock()
        if isinstance(repo, Repository):
            self._shared = repo if repo.gitdir is None else None
            self._path = repo.gitdir
            current = branch or repo.current_branch
        else:
            self._shared = None
            with Repository.open(repo) as opened:
                self._path = opened.gitdir
                current = branch or opened.current_branch
        if current is None:
            raise UsageError("HEAD is detached: autosave needs a branch", "pass branch=NAME")
        self.target = AutosaveTarget(current, on_branch=on_branch)
        self._cond = threading.Condition()
        self._changes = 0
        self._pending: Capture | None = None
        self._inflight: Capture | None = None
        self._last_capture = time.monotonic()
        self._hold_until = 0.0
        self._failures = 0
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._hooks = MethodHooks(self.lock, self.notify_change)
        #: Continuous team sync (None unless ``sync_remote`` was given).
        self.team: TeamSync | None = None
        if sync_remote is not None:
            if not copy:
                raise UsageError("team sync needs copy=True", "the saver merges states it read; they must not change")
            self.team = TeamSync(sync_remote, sync_every_seconds, sync_strategy, state_setter(brain, set_state),
                                 lock=self.lock, take_live=self._take_live, changed=self._changed, report=self._report)
        #: Number of autosave commits that landed.
        self.saves = 0
        self.last_save: SaveResult | None = None
        #: Every failure reported, oldest first (at most the last 100).
        self.errors: list[BaseException] = []

    # Properties ----------------------------------------------------------------
    @property
    def branch(self) -> str:
        """The branch the brain works on."""
        return self.target.branch

    @property
    def running(self) -> bool:
        """Whether the background thread runs."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def pending_changes(self) -> int:
        """Changes notified since the last capture."""
        with self._cond:
            return self._changes

    # Life cycle ----------------------------------------------------------------
    def start(self) -> Autosaver:
        """Start the background thread (and the save at interpreter exit)."""
        if self._thread is not None:
            raise UsageError("this Autosaver was already started", "create a new Autosaver")
        self._thread = threading.Thread(target=self._run, name=f"brainvcs-autosave:{self.autosave_branch}",
                                        daemon=True)
        with self._cond:
            self._last_capture = time.monotonic()
        self._thread.start()
        if self.save_at_exit:
            atexit.register(self._at_exit)
        return self

    def stop(self, *, save: bool = True, timeout: float | None = None) -> SaveResult | None:
        """Restore hooked methods, save what changed since the last save, and stop the thread.

        Returns the final save (None if nothing changed); raises its error if it failed.
        """
        self.unhook()
        thread = self._thread
        if thread is None or self._stopping:
            return None
        atexit.unregister(self._at_exit)
        waiter = None
        if save and self.pending_changes:
            waiter = Waiter()
            self._capture("stop", waiter)
        with self._cond:
            if waiter is None:  # nothing new: report the outcome of the save still under way, if any
                last = self._pending or self._inflight
                if last is not None:
                    waiter = Waiter()
                    last.waiters.append(waiter)
            self._stopping = True
            self._cond.notify_all()
        thread.join(timeout)
        if thread.is_alive():
            raise BrainVCSError(f"the autosave thread did not finish within {timeout:g}s",
                                "its last save may still be running; the learning is still in memory")
        if waiter is None:
            return None
        waiter.done.wait()
        if waiter.error is not None:
            raise waiter.error
        return waiter.result

    def __enter__(self) -> Autosaver:
        if self._thread is None:
            self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        if exc_type is None:
            self.stop()
            return
        try:
            self.stop()
        except Exception:  # already reported; do not hide the exception that ended the block
            pass

    def _at_exit(self) -> None:
        try:
            self.stop()
        except Exception:  # reported by _report; nothing else can be done at exit
            pass

    # Changes -------------------------------------------------------------------
    def notify_change(self, count: int = 1) -> None:
        """Record that the brain changed (call at a point where its state is consistent).

        When ``every_changes`` changes have accumulated, the state is captured
        right here, on the caller's thread.
        """
        with self._cond:
            was_clean = self._changes == 0
            self._changes += count
            enough = self.every_changes is not None and self._changes >= self.every_changes
            due = enough and time.monotonic() >= self._hold_until and self.running and not self._stopping
            if was_clean or (enough and not due):
                # Wake the thread: the interval timer starts with the first change, and
                # changes held back by the budget are captured there once it allows.
                self._cond.notify_all()
        if due:
            self._capture("changes")

    def save_now(self, timeout: float | None = None) -> SaveResult | None:
        """Capture the state now and wait for its save; None if it equals the last save."""
        waiter = Waiter()
        if not self.running or self._stopping:
            repo = self._open()
            try:
                self._save(repo, self._take("now", [waiter]))
            finally:
                self._release(repo)
        else:
            self._capture("now", waiter)
            if not waiter.done.wait(timeout):
                raise BrainVCSError(f"the autosave did not finish within {timeout:g}s",
                                    "it is still running in the background")
        if waiter.error is not None:
            raise waiter.error
        return waiter.result

    # Hooks -------------------------------------------------------------------------
    def hook(self, obj: Any, *method_names: str) -> None:
        """Wrap ``obj``'s learning methods: each call runs holding :attr:`lock` and counts as a change."""
        self._hooks.hook(obj, *method_names)

    def unhook(self) -> None:
        """Put every hooked method back as it was."""
        self._hooks.unhook()

    # Capturing (any thread) -------------------------------------------------------
    def _take(self, reason: str, waiters: list[Waiter], *, locked: bool = False) -> Capture:
        """Read the brain under the lock (``locked``: the caller holds it); changes are counted first."""
        started = time.monotonic()
        with self._cond:
            changes, self._changes = self._changes, 0
            self._last_capture = time.monotonic()
        try:
            if not locked:
                self.lock.acquire()
            try:
                state = self._get_state()
                if self.copy:
                    state = copy_state(state)
                base_state, base = self.team.lineage.captured(state) if self.team is not None else (None, None)
            finally:
                if not locked:
                    self.lock.release()
        except BaseException:
            with self._cond:
                self._changes += changes
            raise
        return Capture(state, changes, reason, waiters, time.monotonic() - started, base_state, base)

    def _capture(self, reason: str, waiter: Waiter | None = None, *, locked: bool = False) -> None:
        waiters = [waiter] if waiter else []
        try:
            capture = self._take(reason, waiters, locked=locked)
        except Exception as exc:
            self._report(exc)
            for w in waiters:
                w.finish(error=exc)
            return
        with self._cond:
            if self._pending is not None:  # not saved yet: the newer capture supersedes it
                capture.base_state, capture.base = self._pending.base_state, self._pending.base
                capture.changes += self._pending.changes
                capture.seconds += self._pending.seconds
                capture.waiters[:0] = self._pending.waiters
            self._pending = capture
            self._cond.notify_all()
