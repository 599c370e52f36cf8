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
import logging
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
from ..merge.plan import plan_merge
from .target import AutosaveTarget

log = logging.getLogger("brainvcs.autosave")

#: Longest wait between retries of a failing save.
MAX_RETRY_DELAY = 60.0


class Autosaver:
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
        # Team sync, under the brain's lock: the state the live brain descends from, the commit holding it
        # (None while that state is a capture not yet committed), and the captures committed as they were.
        self._base_state: Mapping[str, Any] | None = None
        self._base_commit: str | None = None
        self._committed: dict[int, tuple[Mapping[str, Any], str]] = {}
        if sync_remote is not None and not copy:
            raise UsageError("team sync needs copy=True", "the saver merges states it read; they must not change")
        if sync_remote is not None:
            self.team = TeamSync(sync_remote, sync_every_seconds, sync_strategy, state_setter(brain, set_state))
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
    def autosave_branch(self) -> str:
        """The branch autosaves land on."""
        return self.target.autosave_branch

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
                base_state, base = self._base_state, self._base_commit
                if self.team is not None:  # the live brain now descends from this capture
                    self._base_state, self._base_commit = state, None
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
                if self._base_state is capture.state:
                    self._base_state, self._base_commit = capture.base_state, capture.base
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
            state = self._rebased(repo, capture)
            result, seq = self.target.commit(repo, state, self.message, summary=summary, author=self.author)
            if state is not capture.state and result.commit is not None:
                # The saved state holds the team's learning the live brain has not seen yet: take it in.
                self._adopt(repo, capture, result.commit.id)
        except Exception as exc:
            self._throttle(capture.seconds + time.monotonic() - started)
            self._failed(capture, exc)
            return False
        with self._cond:
            self._failures = 0
            self._hold_until = 0.0
        if self.team is not None and result.commit is not None and state is capture.state:
            with self.lock:
                self._committed[id(capture.state)] = (capture.state, result.commit.id)
                while len(self._committed) > 8:
                    del self._committed[next(iter(self._committed))]
                if self._base_state is capture.state:  # the live brain descends from what was just saved
                    self._base_commit = result.commit.id
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
            self._team_sync(repo, capture)
        return True

    def _rebased(self, repo: Repository, capture: Capture) -> Mapping[str, Any]:
        """The state to commit: the capture, merged onto the branch if a team sync moved it since the brain was read.

        A capture read before the live brain took in a sync holds the
        brain without the team's new learning; committed as is on the new
        tip it would undo that learning. It is merged three ways instead:
        base = the commit the brain descended from, ours = the capture,
        theirs = the tip.
        """
        if self.team is None or capture.base_state is None:
            return capture.state
        base = capture.base
        if base is None:
            with self.lock:
                base = self._committed.get(id(capture.base_state), (None, None))[1]
        tip = repo.refs.get(self.target.ref)
        if tip is None or tip == base:
            return capture.state
        return plan_merge(capture.base_state, capture.state, repo.checkout(tip), on_conflict="ours").apply()

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

    def _adopted(self, tip: str, state: Mapping[str, Any]) -> None:
        """Called with the brain's lock held, right after the live brain took in commit ``tip`` (``state``)."""
        self._base_state, self._base_commit = state, tip

    def _adopt(self, repo: Repository, capture: Capture, tip: str) -> None:
        assert self.team is not None
        if self.team.adopt(repo, tip, capture.state, self._take_live, self.lock.release, self._adopted):
            with self._cond:
                self._changes += 1
                self._cond.notify_all()

    def _team_sync(self, repo: Repository, capture: Capture) -> None:
        """Sync the autosave branch; errors are reported and backed off, never raised."""
        assert self.team is not None
        try:
            # What the live brain descends from, if a commit holds it (else the adoption waits for that commit).
            with self.lock:
                saved = self._base_state if self._base_commit is not None else None
            event = self.team.run(repo, self.autosave_branch, saved, self._take_live, self.lock.release,
                                  self._adopted)
        except Exception as exc:
            self._report(exc)
            return
        finally:
            self.target.reread()  # the sync may have moved the branch: land the next autosave on its tip
        if event.adopted:  # the brain changed under the learning loop: save it (a no-op if it is the synced tip)
            with self._cond:
                self._changes += 1
                self._cond.notify_all()

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
