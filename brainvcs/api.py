"""``brainvcs.Repository``: the whole Python API on one class, with the CLI's verbs and option names.

The core :class:`brainvcs.repo.Repository` (commit, checkout, log, branches,
tags, reset, verify, gc) sits below the features in the layers, so it cannot
call them. This subclass, at the top of the features, adds the verbs that
live in feature packages — ``diff``, ``merge``, ``revert``, ``fetch``,
``pull``, ``push``, ``sync``, ``clone``, ``history``, ``stats``, ``value_at`` —
each a one-line call of the function the CLI command calls, with the same
names. ``Repository.open``/``init``/``memory`` return this class when called
on it, so ``from brainvcs import Repository`` gives every verb.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from .diff import BrainDiff
from .diff import api as diff_api
from .merge import api as merge_api
from .merge.outcomes import Resolution
from .query import HistoryPoint, StatsRow, history, stats, value_at
from .remote import ops
from .remote.progress import ProgressFn
from .repo import CommitResult
from .repo import Repository as CoreRepository
from .snapshot.paths import Segment
from .storage.revisions import is_range


class Repository(CoreRepository):
    """A brainvcs repository with every verb of the command line (see :mod:`brainvcs.repo` for the core)."""

    @classmethod
    def clone(cls, url: str, path: str | os.PathLike[str] | None = None, *, branch: str | None = None,
              depth: int | None = None, remote: str = "origin", progress: ProgressFn | None = None) -> Repository:
        """Copy the brain repository at ``url`` into ``path``; returns it open (``brainvcs clone``)."""
        cloned = ops.clone(url, path, branch=branch, depth=depth, remote=remote, progress=progress)
        gitdir = cloned.gitdir
        cloned.close()
        return cls.open(gitdir if gitdir is not None else ".", search_parents=False)

    def diff(self, a: str | None = None, b: str = "HEAD", *, modules: list[str] | None = None,
             path: str | None = None, tolerance: float = 0.0) -> BrainDiff:
        """What was learned from ``a`` to ``b`` (``a`` None: ``b``'s parent); ``A..B``/``A...B`` in ``a`` too."""
        old, new = diff_api.split_range(a, None if a is not None and is_range(a) else b, self)
        return diff_api.diff(self, old, new, modules=modules, path=path, tolerance=tolerance)

    def merge(self, branch: str, *, strategy: str | None = None,
              resolutions: Mapping[str, Resolution | str] | None = None, dry_run: bool = False,
              message: str | None = None, author: str | None = None, into: str | None = None) -> merge_api.MergeResult:
        """Merge ``branch`` into the current branch: fast-forward or a semantic merge commit (``brainvcs merge``)."""
        return merge_api.merge(self, branch, strategy=strategy, resolutions=resolutions, dry_run=dry_run,
                               message=message, author=author, into=into)

    def revert(self, rev: str, *, message: str | None = None, author: str | None = None,
               strategy: str | None = None) -> CommitResult:
        """A new commit undoing what ``rev`` learned, keeping what came after (``brainvcs revert``)."""
        result: CommitResult = merge_api.revert(self, rev, message=message, author=author, strategy=strategy)
        return result

    def fetch(self, remote: str = "origin", *, prune: bool = False, depth: int | None = None,
              progress: ProgressFn | None = None) -> ops.FetchResult:
        """Download the remote's branches into ``refs/remotes/<remote>/*`` (``brainvcs fetch``)."""
        return ops.fetch(self, remote, prune=prune, depth=depth, progress=progress)

    def pull(self, remote: str = "origin", branch: str | None = None, *, strategy: str | None = None,
             progress: ProgressFn | None = None) -> ops.PullResult:
        """Fetch, then fast-forward or merge the remote's learning into ``branch`` (``brainvcs pull``)."""
        return ops.pull(self, remote, branch, strategy=strategy, progress=progress)

    def push(self, remote: str = "origin", refspecs: list[str] | None = None, *, force: bool = False,
             set_upstream_branch: bool = False, progress: ProgressFn | None = None) -> ops.PushResult:
        """Send branches and tags to the remote; refused refs raise PushRejectedError (``brainvcs push``)."""
        return ops.push(self, remote, refspecs, force=force, set_upstream_branch=set_upstream_branch,
                        progress=progress)

    def sync(self, remote: str = "origin", branch: str | None = None, *, attempts: int = 5,
             strategy: str | None = None, on_conflict: str | None = None,
             progress: ProgressFn | None = None) -> ops.SyncResult:
        """Fetch, merge and push until the remote holds both sides' learning (``brainvcs sync``)."""
        return ops.sync(self, remote, branch, attempts=attempts, strategy=strategy, on_conflict=on_conflict,
                        progress=progress)

    def history(self, path: str | Sequence[Segment], rev_range: str = "HEAD", *,
                changes_only: bool = False) -> list[HistoryPoint]:
        """The value of ``path`` at each commit of ``rev_range``, oldest first (``brainvcs history``)."""
        return history(self, path, rev_range, changes_only=changes_only)

    def stats(self, rev_range: str = "HEAD") -> list[StatsRow]:
        """Learning curves: one row of measures per commit (``brainvcs stats``)."""
        return stats(self, rev_range)

    def value_at(self, rev: str, path: str | Sequence[Segment]) -> Any:
        """The value at ``path`` in the snapshot of ``rev`` (``brainvcs show REV:PATH``)."""
        return value_at(self, rev, path)
