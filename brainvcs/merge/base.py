"""Merge bases on the commit graph (pure: parents come from a callback).

The merge base of two commits is their *best* common ancestors: common
ancestors that are not ancestors of another common ancestor (git's
``merge-base --all``). Ordinary histories have one. Criss-cross histories have
several; brainvcs then merges them into one *virtual base* the way git's
recursive strategy does (:func:`brainvcs.merge.api.base_state`), so that
counters merged earlier on both sides are not counted twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from dulwich.object_store import BaseObjectStore

from ..storage.objects import ObjectId, oid, read_commit

#: Returns the parent ids of a commit.
ParentsOf = Callable[[ObjectId], Sequence[ObjectId]]


def commit_parents(store: BaseObjectStore) -> ParentsOf:
    """A memoising :data:`ParentsOf` over a dulwich object store."""
    cache: dict[ObjectId, tuple[ObjectId, ...]] = {}

    def parents_of(commit: ObjectId) -> tuple[ObjectId, ...]:
        found = cache.get(commit)
        if found is None:
            found = cache[commit] = tuple(oid(p) for p in read_commit(store, commit).parents)
        return found

    return parents_of


def ancestors(parents_of: ParentsOf, heads: Iterable[ObjectId]) -> set[ObjectId]:
    """Every commit reachable from ``heads``, the heads included."""
    seen: set[ObjectId] = set()
    stack = list(heads)
    while stack:
        commit = stack.pop()
        if commit in seen:
            continue
        seen.add(commit)
        stack.extend(parents_of(commit))
    return seen


def merge_bases(parents_of: ParentsOf, ours: Iterable[ObjectId], theirs: Iterable[ObjectId]) -> list[ObjectId]:
    """Best common ancestors of two sets of commits, sorted by id (empty for unrelated histories)."""
    common = ancestors(parents_of, ours) & ancestors(parents_of, theirs)
    if not common:
        return []
    # Every ancestor of a common ancestor is common too, so the commits strictly
    # below the common set are exactly those reachable from its members' parents.
    below = ancestors(parents_of, (p for c in common for p in parents_of(c)))
    return sorted(common - below)
