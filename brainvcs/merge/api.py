"""``merge``: fast-forward, or plan and commit a semantic three-way merge.

A merge keeps no state between runs: it either moves the current branch (a
fast-forward or a merge commit with two parents, by compare-and-swap) or
changes nothing and reports why (conflicts raise
:class:`~brainvcs.errors.MergeConflictError` carrying them). Rerunning with
``resolutions`` or ``strategy`` is how conflicts are settled, so
``brainvcs merge --abort`` has nothing to undo.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from ..errors import MergeConflictError, UsageError
from ..storage.refs import BRANCH_PREFIX, HEAD, RefStore, check_ref_name
from ..storage.graph import CommitGraph
from ..storage.objects import ObjectId
from .outcomes import MergePlan, Resolution
from .plan import plan_merge

#: Trailer naming the merge base(s) a merge commit was computed from.
MERGE_BASE_TRAILER = "Brain-Merge-Base"


class Repository(Protocol):
    """What a merge needs of :class:`brainvcs.repo.Repository`.

    The merge package sits below ``repo`` in the layers (``repo`` may call the
    planner), so it names the repository's shape instead of importing it.
    """

    gitdir: Path | None
    refs: RefStore

    @property
    def objects(self) -> Any:
        """The dulwich object store."""

    @property
    def current_branch(self) -> str | None:
        """The branch HEAD points to."""

    def head(self) -> ObjectId | None:
        """The commit HEAD points to."""

    def resolve(self, rev: str = ...) -> ObjectId:
        """The commit a revision names."""

    def checkout(self, rev: str = ..., *, modules: list[str] | None = None) -> dict[str, Any]:
        """The state stored at ``rev``."""

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """Whether ``ancestor`` is reachable from ``descendant``."""

    def writing(self) -> AbstractContextManager[Any]:
        """The repository write lock."""

    @property
    def graph(self) -> CommitGraph:
        """The commit graph (a shallow clone's cut respected)."""

    def check_snapshot(self, commit: ObjectId) -> None:
        """Refuse a commit whose snapshot a reader would refuse."""

    def commit_info(self, rev: str = ...) -> Any:
        """The commit a revision names (a ``CommitInfo``)."""

    def commit(self, state: Mapping[str, Any], message: str, *, author: str | None = None,
               branch: str | None = None, allow_empty: bool = False, parents: list[str] | None = None,
               expected_head: Any = ..., trailers: Mapping[str, str] | None = None,
               timestamp: int | None = None, summary: str | None = None) -> Any:
        """Commit ``state``; returns a ``brainvcs.repo.CommitResult``."""


#: What a merge did.
MergeStatus = Literal["up-to-date", "fast-forward", "merged", "planned"]


@dataclass(frozen=True)
class MergeResult:
    """What :func:`merge` did: ``up-to-date``, ``fast-forward``, ``merged``, or ``planned`` (dry run)."""

    status: MergeStatus
    ref: str
    ours: ObjectId | None
    theirs: ObjectId
    bases: tuple[ObjectId, ...] = ()
    plan: MergePlan | None = None
    commit: Any = None  # brainvcs.repo.CommitResult of the merge commit
    dry_run: bool = False

    @property
    def tip(self) -> ObjectId | None:
        """Where the branch points after the merge (where it still points, for a dry run)."""
        if self.commit is not None and self.commit.commit is not None:
            made: ObjectId = self.commit.commit.id
            return made
        if self.status == "fast-forward" and not self.dry_run:
            return self.theirs
        return self.ours

    def lines(self, ours_label: str, theirs_label: str) -> list[str]:
        """What ``merge`` prints, naming the two sides as the user did."""
        if self.status == "up-to-date":
            return ["Already up to date."]
        if self.status == "fast-forward":
            verb = "Would fast-forward" if self.dry_run else "Fast-forward"
            return [f"{verb} {ours_label}: {(self.ours or '')[:7] or '(empty)'}..{self.theirs[:7]}"]
        if self.plan is None:
            return []
        if self.status == "planned":
            bases = ", ".join(b[:7] for b in self.bases)
            return [f"Merge plan for {theirs_label} into {ours_label} (base {bases}):",
                    *self.plan.lines(ours_label, theirs_label)]
        commit = self.commit.commit if self.commit is not None else None
        head = [f"[{ours_label} {commit.id[:7]}] {commit.summary}"] if commit is not None else []
        return [*head, self.plan.summary(ours_label, theirs_label)]

    def to_json(self) -> dict[str, Any]:
        """A stable JSON-ready dict."""
        return {"status": self.status, "dry_run": self.dry_run, "ref": self.ref, "ours": self.ours,
                "theirs": self.theirs, "tip": self.tip, "bases": list(self.bases),
                "plan": self.plan.to_json() if self.plan else None,
                "commit": self.commit.to_json() if self.commit else None}


def base_state(repo: Repository, bases: list[ObjectId]) -> dict[str, Any]:
    """The state to merge against: the single merge base, or a virtual one for criss-cross histories.

    Several best bases are merged pairwise, recursively, like git's recursive
    strategy; where two bases conflict the virtual base keeps their own base's
    value, so the outer merge sees both sides as changed there and decides again.
    """
    if not bases:
        raise UsageError("the branches share no history: there is no merge base",
                         "merge brains that grew from a common commit")
    if len(bases) == 1:
        return repo.checkout(bases[0])
    state = repo.checkout(bases[0])
    heads = [bases[0]]
    for other in bases[1:]:
        inner = repo.graph.merge_bases(heads, [other])
        inner_state = base_state(repo, inner) if inner else {}
        state = plan_merge(inner_state, state, repo.checkout(other)).apply(conflicts="base")
        heads.append(other)
    return state


def plan_commits(repo: Repository, ours: ObjectId, theirs: ObjectId, *, strategy: str | None = None,
                 on_conflict: str | None = None,
                 resolutions: Mapping[str, Resolution | str] | None = None) -> tuple[MergePlan, list[ObjectId]]:
    """Plan merging commit ``theirs`` into commit ``ours``; returns the plan and the merge bases."""
    bases = repo.graph.merge_bases([ours], [theirs])
    base = base_state(repo, bases)
    plan = plan_merge(base, repo.checkout(ours), repo.checkout(theirs), strategy=strategy, resolutions=resolutions,
                      on_conflict=on_conflict)
    return plan, bases


def merge(repo: Repository, branch: str, *, strategy: str | None = None, on_conflict: str | None = None,
          resolutions: Mapping[str, Resolution | str] | None = None, dry_run: bool = False,
          message: str | None = None, author: str | None = None, into: str | None = None) -> MergeResult:
    """Merge ``branch`` (any revision) into the current branch (or into branch ``into``).

    Fast-forwards when the current branch is an ancestor of ``branch``; says
    "up to date" when ``branch`` is already contained. Otherwise plans the
    semantic merge and, unless ``dry_run``, commits it with parents
    ``[ours, theirs]`` and a summary of what came from each side. Conflicts
    raise MergeConflictError and move no ref; a concurrent commit to the branch
    raises RefConflict. ``strategy`` and ``resolutions`` (see
    :func:`~brainvcs.merge.plan.plan_merge`) only matter when a merge is planned.
    """
    theirs = repo.resolve(branch)
    ref = BRANCH_PREFIX + check_ref_name(into) if into is not None else repo.refs.head_ref()
    ours = repo.refs.get(ref)
    if ours is None or repo.is_ancestor(ours, theirs):
        if ours == theirs:
            return MergeResult("up-to-date", ref, ours, theirs, dry_run=dry_run)
        if not dry_run:
            repo.check_snapshot(theirs)  # a fast-forward adopts their snapshot unread: read it first
            with repo.writing():
                repo.refs.move(ref, ours, theirs, f"merge {branch}: fast-forward")
        return MergeResult("fast-forward", ref, ours, theirs, dry_run=dry_run)
    if repo.is_ancestor(theirs, ours):
        return MergeResult("up-to-date", ref, ours, theirs, dry_run=dry_run)
    plan, bases = plan_commits(repo, ours, theirs, strategy=strategy, resolutions=resolutions, on_conflict=on_conflict)
    if dry_run:
        return MergeResult("planned", ref, ours, theirs, tuple(bases), plan, dry_run=True)
    if plan.conflicts:
        raise MergeConflictError(plan.conflicts)
    ours_label = into or repo.current_branch or HEAD
    result = repo.commit(plan.apply(), message or f"Merge branch '{branch}' into {ours_label}",
                         branch=ref if ref != HEAD else None, author=author, parents=[ours, theirs],
                         expected_head=ours, summary=plan.summary(ours_label, branch),
                         trailers={MERGE_BASE_TRAILER: " ".join(bases)})
    return MergeResult("merged", ref, ours, theirs, tuple(bases), plan, result)


def abort_merge(repo: Repository) -> str:
    """Explain that there is nothing to abort (a brainvcs merge keeps no state between runs)."""
    if repo.gitdir is not None and (repo.gitdir / "MERGE_HEAD").exists():
        return ("brainvcs keeps no merge state; this working tree has a `git merge` in progress: "
                "`git merge --abort` cancels it")
    return "nothing to abort: a brainvcs merge either commits or changes nothing, and keeps no state between runs"


def revert(repo: Repository, rev: str, *, message: str | None = None, author: str | None = None,
           strategy: str | None = None) -> Any:
    """A new commit on the current branch that undoes what ``rev`` learned, keeping what came after.

    The semantic three-way merge of HEAD (ours) with ``rev``'s parent
    (theirs) over ``rev`` itself (base), as ``git revert`` does with lines: a
    counter ``rev`` raised by 5 goes down by 5, words it added go, later
    learning stays. Conflicts raise MergeConflictError and nothing moves.
    Returns the ``CommitResult``.
    """
    target = repo.resolve(rev)
    parents = repo.graph.parents(target)
    if len(parents) > 1:
        raise UsageError(f"{rev} is a merge: which side's learning it undoes is ambiguous",
                         "revert the commits of the branch that was merged instead")
    head = repo.head()
    if head is None:
        raise UsageError("the current branch has no commits: nothing to revert")
    before = repo.checkout(parents[0]) if parents else {}
    plan = plan_merge(repo.checkout(target), repo.checkout(head), before, strategy=strategy)
    if plan.conflicts:
        raise MergeConflictError(plan.conflicts, "the learning after it changed the same values: settle them with "
                                                 "--strategy ours|theirs, or revert by hand")
    subject = repo.commit_info(target).summary
    return repo.commit(plan.apply(), message or f'Revert "{subject}"\n\nThis reverts commit {target}.',
                       author=author, expected_head=head)

