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

__all__ = ["MAX_SYNC_DELAY", "SyncEvent", "TeamSync"]

#: Longest wait between sync attempts after failures (seconds).
MAX_SYNC_DELAY = 300.0


@dataclass(frozen=True)
class SyncEvent:
    """One team sync the Autosaver ran: its status and whether the live brain took in new learning."""

    status: str
    adopted: bool
    seconds: float


class TeamSync:
    """Rate-limited, backing-off ``sync`` of one branch, and adoption of the result into the live brain."""

    def __init__(self, remote: str, every_seconds: float, strategy: str | None,
                 set_state: Callable[[Mapping[str, Any]], None], on_conflict: str | None = "theirs") -> None:
        if every_seconds <= 0:
            raise UsageError(f"sync_every_seconds must be positive, not {every_seconds}")
        self.remote = remote
        self.every_seconds = every_seconds
        self.strategy = strategy
        self.on_conflict = on_conflict
        self.set_state = set_state
        self.failures = 0
        self.next_at = 0.0
        #: Syncs that got through, times the live brain took in other machines' learning, and the last sync.
        self.syncs = 0
        self.adoptions = 0
        self.last: SyncEvent | None = None

    def due(self) -> bool:
        """Whether a sync may run now (rate limit and backoff)."""
        return time.monotonic() >= self.next_at

    def run(self, repo: Repository, branch: str, saved: Mapping[str, Any] | None,
            take_live: Callable[[], Mapping[str, Any] | None], release: Callable[[], None],
            adopted: Callable[[str, Mapping[str, Any]], None] = lambda tip, state: None) -> SyncEvent:
        """Sync ``branch``; if it moved, merge it into the live brain. ``take_live`` locks the brain and reads it
        (None: the saver is stopping), ``release`` unlocks it. Raises BrainVCSError after scheduling a backoff."""
        started = time.monotonic()
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
        took = (saved is not None and after != before and after is not None
                and self.adopt(repo, after, saved, take_live, release, adopted))
        self.last = SyncEvent(result.status, took, time.monotonic() - started)
        return self.last

    def adopt(self, repo: Repository, tip: str, saved: Mapping[str, Any],
              take_live: Callable[[], Mapping[str, Any] | None], release: Callable[[], None],
              adopted: Callable[[str, Mapping[str, Any]], None]) -> bool:
        """Merge commit ``tip`` into the live brain, whose state was ``saved`` (plus what it learned since)."""
        synced = repo.checkout(tip)
        live = take_live()
        if live is None:
            return False
        try:
            if same(dict(live), dict(saved)):
                state: Mapping[str, Any] = synced
            else:  # learning happened during the sync: keep it, on top of what the team learned
                state = plan_merge(saved, live, synced, strategy=self.strategy, on_conflict="ours").apply()
            self.set_state(state)
            adopted(tip, synced)
            self.adoptions += 1
        finally:
            release()
        return True
