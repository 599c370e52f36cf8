"""The Autosaver's background thread: waiting for captures, committing them, retrying, syncing with the team.

:class:`SaveLoop` is the half of :class:`~brainvcs.autosave.saver.Autosaver`
that runs in the saver thread; the other half (``saver.py``) is what the
learning side calls: start, stop, notify, hooks, captures. The attributes
below are set by the Autosaver's constructor.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..errors import BrainVCSError
from ..repo import Repository
from ..snapshot.collector import collector_left_alone
from .capture import Capture, SaveResult, Waiter, copy_state
from .target import AutosaveTarget
from .teamsync import TeamSync

__all__ = ["MAX_RETRY_DELAY", "SaveLoop", "log"]

log = logging.getLogger("brainvcs.autosave")

#: Longest wait between retries of a failing save.
MAX_RETRY_DELAY = 60.0


class SaveLoop:
    """The saver thread's work (see the module docstring)."""

    lock: Any
    team: TeamSync | None
    target: AutosaveTarget
    every_seconds: float | None
    every_changes: int | None
    max_overhead: float | None
    message: str
    author: str | None
    copy: bool
    on_save: Callable[[SaveResult], None] | None
    on_error: Callable[[BaseException], None] | None
    saves: int
    last_save: SaveResult | None
    errors: list[BaseException]
    _get_state: Callable[[], Mapping[str, Any]]
    _shared: Repository | None
    _path: Path | None
    _cond: threading.Condition
    _changes: int
    _pending: Capture | None
    _inflight: Capture | None
    _last_capture: float
    _hold_until: float
    _failures: int
    _stopping: bool

    @property
    def autosave_branch(self) -> str:
        """The branch autosaves land on."""
        return self.target.autosave_branch

    def _capture(self, reason: str, waiter: Waiter | None = None, *, locked: bool = False) -> None:
        raise NotImplementedError  # the Autosaver's

    # The background thread ----------------------------------------------------------
    def _open(self) -> Repository:
        if self._shared is not None:
            return self._shared
        assert self._path is not None
        return Repository.open(self._path, search_parents=False)

    def _release(self, repo: Repository) -> None:
        if repo is not self._shared:
            repo.close()

    def _run(self) -> None:
        with collector_left_alone():  # (this thread commits while the brain's own threads learn)
            self._work()

    def _work(self) -> None:
        repo: Repository | None = None
        try:
            while True:
                capture = self._next()
                if capture is None:
                    return
                if repo is None:
                    try:
                        repo = self._open()
                    except Exception as exc:  # e.g. the repository was moved away: retried later
                        self._failed(capture, exc)
                        continue
                if not self._save(repo, capture):
                    # Reopen before the next attempt: nothing cached (packs another process
                    # consolidated away, a half-read ref) can make the failure stick.
                    self._release(repo)
                    repo = None
        finally:
            if repo is not None:
                self._release(repo)

    def _next(self) -> Capture | None:
        """Wait for a capture to save (taking one when the interval is due); None when stopping."""
        while True:
            with self._cond:
                while True:
                    if self._pending is not None:
                        capture, self._pending = self._pending, None
                        self._inflight = capture
                        return capture
                    if self._stopping:
                        return None
                    now = time.monotonic()
                    due_at = self._due_at()
                    if due_at is not None and now >= due_at:
                        break
                    self._cond.wait(None if due_at is None else due_at - now)
            # Outside the condition: the brain lock may be held by a learning step for a while.
            if self._acquire_brain_lock():
                try:
                    self._capture("interval", locked=True)
                finally:
                    self.lock.release()

    def _due_at(self) -> float | None:
        """When the background thread should capture next (None: not until something changes)."""
        if not self._changes:
            return None
        times = []
        if self.every_seconds is not None:
            times.append(self._last_capture + self.every_seconds)
        if self.every_changes is not None and self._changes >= self.every_changes:
            times.append(self._last_capture)  # due now; notify_change() waited for the budget
        return max(min(times), self._hold_until) if times else None

    def _acquire_brain_lock(self) -> bool:
        # Poll, so that a stop() called by a thread holding the lock is not deadlocked.
        while not self.lock.acquire(timeout=0.05):
            if self._stopping:
                return False
        return True

    def _failed(self, capture: Capture, exc: BaseException) -> None:
        if self.team is not None:
            # Its learning is not on any commit: whatever descends from it descends from its own base instead.
            with self.lock:
                self.team.lineage.failed(capture.state, capture.base_state, capture.base)
            with self._cond:
                if self._pending is not None and self._pending.base_state is capture.state:
                    self._pending.base_state, self._pending.base = capture.base_state, capture.base
        with self._cond:
            self._changes += capture.changes  # still unsaved: the next capture covers them
            self._failures += 1
            delay = min(MAX_RETRY_DELAY, (self.every_seconds or 1.0) * 2 ** (self._failures - 1))
            self._hold_until = max(self._hold_until, time.monotonic() + delay)
        self._report(exc)
        self._finish(capture, error=exc)

    def _finish(self, capture: Capture, result: SaveResult | None = None,
                error: BaseException | None = None) -> None:
        # Under the condition, so stop() never attaches a waiter to a capture already finished.
        with self._cond:
            if self._inflight is capture:
                self._inflight = None
            waiters, capture.waiters = capture.waiters, []
        for waiter in waiters:
            waiter.finish(result, error)

    def _save(self, repo: Repository, capture: Capture) -> bool:
        """Commit one capture; False if it failed (reported, and its changes counted as unsaved)."""
        started = time.monotonic()
        summary = f"{capture.changes} change(s) since the last autosave ({capture.reason})"
        try:
            state = capture.state if self.team is None else self.team.to_commit(
                repo, self.target.ref, capture.state, capture.base_state, capture.base)
            # A capture the saver copied itself is private: the repository may keep it uncopied (team sync
            # reads captures again later, and a getter trusted with copy=False might hand out live state).
            result, seq = self.target.commit(repo, state, self.message, summary=summary, author=self.author,
                                             private=self.copy and self.team is None)
        except Exception as exc:
            self._throttle(capture.seconds + time.monotonic() - started)
            self._failed(capture, exc)
            return False
        with self._cond:
            self._failures = 0
            self._hold_until = 0.0
        if self.team is not None and result.commit is not None:
            self.team.committed(repo, capture.state, state, result.commit.id)
        self._throttle(capture.seconds + time.monotonic() - started)
        saved = None
        if result.changed:
            assert result.commit is not None
            saved = SaveResult(seq, result.commit, self.autosave_branch, capture.changes, capture.reason,
                               time.monotonic() - started)
            self.saves += 1
            self.last_save = saved
            if self.on_save is not None:
                try:
                    self.on_save(saved)
                except Exception:
                    log.exception("autosave on_save callback failed (the save itself landed)")
        self._finish(capture, result=saved)
        if self.team is not None and self.team.due() and not self._stopping:
            self._team_sync(repo)
        return True

    def _take_live(self) -> Mapping[str, Any] | None:
        """Lock the brain and read it (None: stopping); the caller releases the lock."""
        if not self._acquire_brain_lock():
            return None
        try:
            state = self._get_state()
            return copy_state(state) if self.copy else state
        except BaseException:
            self.lock.release()
            raise

    def _changed(self) -> None:
        """The brain changed outside the learning loop (it took a sync in): the next capture saves it."""
        with self._cond:
            self._changes += 1
            self._cond.notify_all()

    def _team_sync(self, repo: Repository) -> None:
        """Sync the autosave branch; errors are reported and backed off, never raised."""
        assert self.team is not None
        try:
            event = self.team.run(repo, self.autosave_branch)
        except Exception as exc:
            self._report(exc)
            return
        finally:
            self.target.reread()  # the sync may have moved the branch: land the next autosave on its tip
        if event.adopted:  # save it (a no-op when the brain is the synced tip)
            self._changed()

    def _throttle(self, cost: float) -> None:
        # A save that cost ``cost`` seconds is followed by enough idle time to keep within the budget.
        if self.max_overhead is not None:
            with self._cond:
                self._hold_until = max(self._hold_until, time.monotonic() + cost * (1 / self.max_overhead - 1))

    def _report(self, exc: BaseException) -> None:
        self.errors.append(exc)
        del self.errors[:-100]
        if isinstance(exc, BrainVCSError):
            hint = f" (hint: {exc.hint})" if exc.hint else ""
            log.error("autosave to %s failed: %s%s", self.autosave_branch, exc.message, hint)
        else:
            log.error("autosave to %s failed: %s: %s", self.autosave_branch, type(exc).__name__, exc,
                      exc_info=exc)
        if self.on_error is not None:
            try:
                self.on_error(exc)
            except Exception:
                log.exception("autosave on_error callback failed")
