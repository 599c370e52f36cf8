"""Concurrent writers: an opt-in retry around compare-and-swap commits.

Several processes (or threads, each with its own :class:`Repository`) may
commit to one branch. :meth:`Repository.commit` with ``expected_head`` either
lands or raises :class:`~brainvcs.errors.RefConflict` (exit code 7) and changes
nothing; no writer can silently overwrite another. :func:`commit_with_retry`
turns a conflict into another attempt:

* ``strategy="rebase"``: read the new tip, call ``make_state(tip_state)`` again
  and commit on top of it (the change is recomputed, so no update is lost);
* ``strategy="merge"``: keep the state computed on the old tip as its own
  commit and join it to the new tip with a merge commit whose state is
  ``merge_states(base, ours, theirs)``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .snapshot import layout
from .errors import RefConflict, UsageError
from .storage.refs import BRANCH_PREFIX, check_ref_name
from .repo import CommitResult, Repository
from .storage.objects import ObjectId, oid

State = Mapping[str, Any]
#: Longest sleep between two attempts.
MAX_BACKOFF = 1.0


@dataclass(frozen=True)
class RetryResult:
    """The commit that landed, and how many attempts it took."""

    result: CommitResult
    attempts: int
    conflicts: tuple[RefConflict, ...]


def commit_with_retry(repo: Repository, make_state: Callable[[State | None], State], message: str, *,
                      branch: str | None = None, attempts: int = 5, strategy: str = "rebase",
                      merge_states: Callable[[State | None, State, State], State] | None = None,
                      backoff: float = 0.01, author: str | None = None,
                      trailers: Mapping[str, str] | None = None, seed: int | None = None) -> RetryResult:
    """Commit ``make_state(state at the tip)`` on ``branch``, retrying up to ``attempts`` times on RefConflict.

    ``make_state`` receives the state at the branch tip (None for a new branch)
    and must return a new state without mutating its argument. Between
    attempts it sleeps a random, exponentially growing delay starting at
    ``backoff`` seconds. When every attempt conflicted, the last RefConflict
    is raised (nothing of it landed).
    """
    if attempts < 1:
        raise UsageError(f"attempts must be at least 1, not {attempts}")
    if strategy not in ("rebase", "merge"):
        raise UsageError(f"unknown strategy {strategy!r}", "use 'rebase' or 'merge'")
    if strategy == "merge" and merge_states is None:
        raise UsageError("strategy='merge' needs merge_states(base, ours, theirs)")
    ref = repo.refs.head_ref() if branch is None else (
        branch if branch.startswith("refs/") else BRANCH_PREFIX + check_ref_name(branch))
    rng = random.Random(seed)
    conflicts: list[RefConflict] = []
    base = repo.refs.get(ref)
    base_state = repo.checkout(base) if base else None
    ours = make_state(base_state)
    ours_id: ObjectId | None = None
    for attempt in range(1, attempts + 1):
        tip = repo.refs.get(ref) if attempt > 1 else base
        try:
            if attempt == 1 or strategy == "rebase" or tip is None:
                if attempt > 1:
                    ours = make_state(repo.checkout(tip) if tip else None)
                result = repo.commit(ours, message, branch=ref, expected_head=tip, author=author, trailers=trailers)
            else:
                if ours_id is None:
                    ours_id = _write_commit(repo, ours, message, [base] if base else [], author, trailers)
                merged = merge_states(base_state, ours, repo.checkout(tip))  # type: ignore[misc]
                result = repo.commit(merged, f"Merge concurrent change: {message.splitlines()[0]}", branch=ref,
                                     parents=[tip, ours_id], expected_head=tip, author=author, trailers=trailers)
            return RetryResult(result, attempt, tuple(conflicts))
        except RefConflict as exc:
            conflicts.append(exc)
            if attempt < attempts:
                time.sleep(min(MAX_BACKOFF, backoff * 2 ** (attempt - 1)) * rng.uniform(0.5, 1.5))
    last = conflicts[-1]
    last.hint = (f"gave up after {attempts} attempts, each beaten by another writer; "
                 "retry later or with more attempts")
    raise last


def _write_commit(repo: Repository, state: State, message: str, parents: list[ObjectId], author: str | None,
                  trailers: Mapping[str, str] | None) -> ObjectId:
    """Write a commit of ``state`` without moving any ref (the second parent of a merge)."""
    snapshot = layout.build(state)
    with repo.transaction("commit (concurrent)") as tx:
        tree = tx.add_tree(snapshot.tree)
        commit = tx.add_commit(tree, parents, message, author or repo.identity(), snapshot.fingerprint,
                               trailers=trailers)
    return oid(commit.id)
