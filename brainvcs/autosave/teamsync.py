"""Continuous team sync for the Autosaver: the brain on two machines stays one brain.

After an autosave lands, and at most every ``every_seconds``, the saver's own
thread runs ``sync`` (fetch, merge, push) for the branch autosaves land on.
The network never holds the brain's lock, so learning goes on meanwhile. When
the sync brought in what another machine learned, the live brain takes it in:
under the brain's lock (hooked learning methods wait only for this), the
state saved before the sync, the live state now (which may hold learning
done during the sync) and the synced tip are merged three ways with the
usual merge rules, and the result is restored into the brain; learning done
meanwhile is then saved by the next autosave on top of the synced tip.

What would stop a merge (a label such as a focus word changed differently
on two machines) takes the remote's value (``on_conflict="theirs"``: the one
the team already shares), so a continuous sync never stalls; learned values
still merge by their rules (counters add, event logs unite...).

A push that lost the race to another machine is tried again at the next
due time; a refused or unreachable host backs off (doubling up to
:data:`MAX_SYNC_DELAY`); every failure is reported through the saver's
``on_error``, never raised into the learning loop.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import BrainVCSError, PushRejectedError, UsageError
from ..merge.plan import plan_merge
from ..merge.values import same
from ..remote import ops
from ..repo import Repository
from ..storage.refs import BRANCH_PREFIX

__all__ = ["MAX_SYNC_DELAY", "Lineage", "SyncEvent", "TeamSync"]

#: Longest wait between sync attempts after failures (seconds).
MAX_SYNC_DELAY = 300.0


class Lineage:
    """What the live brain descends from: a state, and the commit holding it once one does.

    Every capture makes the live brain descend from that capture's state (no
    commit yet); a save records the commit; a failed save hands the lineage
    back to the capture's own base; taking a sync in makes the brain descend
    from the synced tip. All of it runs under the brain's lock. Merges use
    this state as their base, so nothing the brain already holds is counted
    again.
    """

    #: Commits remembered for states that were saved unchanged (enough for the captures still in flight).
    REMEMBERED = 8

    def __init__(self) -> None:
        self.state: Mapping[str, Any] | None = None
        self.commit: str | None = None
        self._committed: dict[int, tuple[Mapping[str, Any], str]] = {}

    def captured(self, state: Mapping[str, Any]) -> tuple[Mapping[str, Any] | None, str | None]:
        """The brain was read as ``state``: returns the base it had, and descends from ``state`` now."""
        base = (self.state, self.commit)
        self.state, self.commit = state, None
        return base

    def failed(self, state: Mapping[str, Any], base_state: Mapping[str, Any] | None, base: str | None) -> None:
        """A capture's save failed: its learning is on no commit, so the brain descends from its base again."""
        if self.state is state:
            self.state, self.commit = base_state, base

    def saved(self, state: Mapping[str, Any], commit: str) -> None:
        """``state`` was committed unchanged as ``commit``."""
        self._committed[id(state)] = (state, commit)
        while len(self._committed) > self.REMEMBERED:
            del self._committed[next(iter(self._committed))]
        if self.state is state:
            self.commit = commit

    def took_in(self, tip: str, state: Mapping[str, Any]) -> None:
        """The live brain took in commit ``tip`` (whose state is ``state``)."""
        self.state, self.commit = state, tip

    def commit_of(self, state: Mapping[str, Any]) -> str | None:
        """The commit a saved capture's state went into, if remembered."""
        return self._committed.get(id(state), (None, None))[1]

    def committed_state(self) -> Mapping[str, Any] | None:
        """The state the brain descends from if a commit holds it (a merge base), else None."""
        return self.state if self.commit is not None else None


def rebase(repo: Repository, ref: str, state: Mapping[str, Any], base_state: Mapping[str, Any] | None,
           base: str | None) -> Mapping[str, Any]:
    """``state`` (read when the brain descended from ``base_state``, held by commit ``base``) as it should land on
    ``ref``'s tip: unchanged if the tip is still ``base``, else merged three ways onto the tip, so that a
    capture read before the brain took a sync in does not undo the team's learning."""
    if base_state is None:
        return state
    tip = repo.refs.get(ref)
    if tip is None or tip == base:
        return state
    return plan_merge(base_state, state, repo.checkout(tip), on_conflict="ours").apply()


@dataclass(frozen=True)
class SyncEvent:
    """One team sync the Autosaver ran: its status and whether the live brain took in new learning."""

    status: str
    adopted: bool
    seconds: float


class TeamSync:
    """Rate-limited, backing-off ``sync`` of one branch for an Autosaver, and the live brain's lineage.

    ``take_live()`` locks the brain and reads it (None: the saver is
    stopping), ``lock`` is that lock (``release`` unlocks it after a
    ``take_live``); ``changed()`` tells the saver the brain changed;
    ``report(exc)`` reports a failure.
    """

    def __init__(self, remote: str, every_seconds: float, strategy: str | None,
                 set_state: Callable[[Mapping[str, Any]], None], *, lock: Any,
                 take_live: Callable[[], Mapping[str, Any] | None], changed: Callable[[], None],
                 report: Callable[[BaseException], None], on_conflict: str | None = "theirs") -> None:
        if every_seconds <= 0:
            raise UsageError(f"sync_every_seconds must be positive, not {every_seconds}")
        self.remote = remote
        self.every_seconds = every_seconds
        self.strategy = strategy
        self.on_conflict = on_conflict
        self.set_state = set_state
        self.lock = lock
        self.take_live = take_live
        self.changed = changed
        self.report = report
        #: What the live brain descends from (under ``lock``).
        self.lineage = Lineage()
        self.failures = 0
        self.next_at = 0.0
        #: Syncs that got through, times the live brain took in other machines' learning, and the last sync.
        self.syncs = 0
        self.adoptions = 0
        self.last: SyncEvent | None = None

    def due(self) -> bool:
        """Whether a sync may run now (rate limit and backoff)."""
        return time.monotonic() >= self.next_at

    # Around each save -------------------------------------------------------------------------------------
    def to_commit(self, repo: Repository, ref: str, state: Mapping[str, Any], base_state: Mapping[str, Any] | None,
                  base: str | None) -> Mapping[str, Any]:
        """The state to commit for a capture (:func:`rebase` onto ``ref``'s tip if a sync moved it)."""
        if base is None and base_state is not None:
            with self.lock:
                base = self.lineage.commit_of(base_state)
        return rebase(repo, ref, state, base_state, base)

    def committed(self, repo: Repository, captured: Mapping[str, Any], state: Mapping[str, Any], commit: str) -> None:
        """A capture landed as ``commit``: record it, or (rebased) take the team's learning it holds in."""
        if state is captured:
            with self.lock:
                self.lineage.saved(captured, commit)
            return
        try:
            if self.adopt(repo, commit, captured):
                self.changed()
        except Exception as exc:  # the save landed; the brain takes the team's learning in at the next sync
            self.report(exc)

    # The sync -----------------------------------------------------------------------------------------------
    def run(self, repo: Repository, branch: str) -> SyncEvent:
        """Sync ``branch``; if it moved and the brain's base is committed, merge it into the live brain.

        Raises BrainVCSError after scheduling the next attempt: a lost push race
        is tried again next time, a failing host backs off.
        """
        started = time.monotonic()
        with self.lock:
            saved = self.lineage.committed_state()  # else the adoption waits for that commit
        before = repo.refs.get(BRANCH_PREFIX + branch)
        try:
            result = ops.sync(repo, self.remote, branch, attempts=3, strategy=self.strategy,
                              on_conflict=self.on_conflict)
        except PushRejectedError:
            # Another machine pushed first (or held the ref): a race, not a failing host; try again next time.
            self.next_at = time.monotonic() + self.every_seconds
            raise
        except BrainVCSError:
            self.failures += 1
            self.next_at = time.monotonic() + min(MAX_SYNC_DELAY, self.every_seconds * 2 ** self.failures)
            raise
        self.failures = 0
        self.next_at = time.monotonic() + self.every_seconds
        self.syncs += 1
        after = repo.refs.get(BRANCH_PREFIX + branch)
        took = saved is not None and after != before and after is not None and self.adopt(repo, after, saved)
        self.last = SyncEvent(result.status, took, time.monotonic() - started)
        return self.last

    def adopt(self, repo: Repository, tip: str, saved: Mapping[str, Any]) -> bool:
        """Merge commit ``tip`` into the live brain, whose state was ``saved`` (plus what it learned since)."""
        synced = repo.checkout(tip)
        live = self.take_live()
        if live is None:
            return False
        try:
            if same(dict(live), dict(saved)):
                state: Mapping[str, Any] = synced
            else:  # learning happened during the sync: keep it, on top of what the team learned
                state = plan_merge(saved, live, synced, strategy=self.strategy, on_conflict="ours").apply()
            self.set_state(state)
            self.lineage.took_in(tip, synced)
            self.adoptions += 1
        finally:
            self.lock.release()
        return True
