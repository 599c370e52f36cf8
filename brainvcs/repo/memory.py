"""What a :class:`~brainvcs.repo.Repository` object remembers of its last commit, so the next costs what changed.

The last snapshot (its unchanged directories are shared, not rebuilt) and the
last committed state (:class:`~brainvcs.snapshot.changes.Baseline`: compared
with the next state to find what changed, when the caller declared nothing).
Both hold only for the branch tip they were made for.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..snapshot import layout
from ..snapshot.changes import Baseline
from ..snapshot.incremental import parse_changed


@dataclass
class _LastCommit:
    ref: str
    commit: str
    snapshot: layout.Snapshot
    baseline: Baseline | None


@dataclass
class Plan:
    """How to lay out one commit: the base snapshot to share with and the changed paths (None: a full build)."""

    last: _LastCommit | None
    trie: dict[str, Any] | None

    @property
    def base(self) -> layout.Snapshot | None:
        """The snapshot to reuse unchanged directories from."""
        return self.last.snapshot if self.last is not None else None


class CommitMemory:
    """The last commit of one Repository object; ``lock`` serialises its commits (the baseline is advanced in place)."""

    def __init__(self) -> None:
        self.last: _LastCommit | None = None
        #: Keep the last committed state (containers copied, values shared); False trades that memory
        #: for a full re-encode on every commit.
        self.track = True
        self.lock = threading.RLock()

    def has_baseline(self, ref: str, tip: str | None) -> bool:
        """Whether the next commit on ``ref`` (now at ``tip``) will compare with a kept state."""
        last = self.last
        return last is not None and last.ref == ref and last.commit == tip and last.baseline is not None

    def plan(self, ref: str, tip: str | None, state: Mapping[str, Any],
             changed: Iterable[str | tuple[str, ...]] | None) -> Plan:
        """What the commit of ``state`` on ``ref`` (now at ``tip``) can reuse and must re-encode."""
        last = self.last
        if last is None or last.ref != ref or last.commit != tip:
            return Plan(None, None)
        if changed is not None:
            return Plan(last, parse_changed(changed))
        if last.baseline is not None:
            return Plan(last, last.baseline.changes(state))
        return Plan(last, None)

    def remember(self, ref: str, commit: str, snapshot: layout.Snapshot, state: Mapping[str, Any],
                 plan: Plan, *, adopt: bool = False) -> None:
        """``state`` was committed as ``commit`` on ``ref`` (``adopt``: nobody will change it: keep it uncopied)."""
        last = plan.last
        self.last = None  # (a baseline half advanced must never be compared with)
        baseline = None
        if self.track:
            if last is not None and last.baseline is not None and plan.trie is not None:
                baseline = last.baseline
                baseline.advance(state, plan.trie, adopt=adopt)
            else:
                baseline = Baseline(state, adopt=adopt)
        self.last = _LastCommit(ref, commit, snapshot, baseline)
