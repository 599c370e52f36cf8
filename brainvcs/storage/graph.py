"""The commit graph: one source of parents for every walk over history.

Every command that follows history (log, ancestry, merge bases, reachability
for gc and push, verify, history queries) asks :class:`CommitGraph` for a
commit's parents. It reads each commit once and stops at a shallow clone's
cut: the parents of a ``clone --depth`` boundary commit are not in the
repository, and the graph says the commit has none (as git's
``parents_provider`` does) instead of failing on a missing object.

The algorithms below the class (:func:`ancestors`, :func:`merge_bases`) are
pure functions of a parents callback, so they can be tested without a disk.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator, Sequence

from dulwich.objects import Commit, Tag, Tree

from .objects import ObjectId, oid, read_commit, read_object

#: Returns the parent ids of a commit.
ParentsOf = Callable[[ObjectId], Sequence[ObjectId]]

_GITLINK = 0o160000
#: Tags of tags followed at most (as verify does).
_MAX_TAG_DEPTH = 16
_DIR_MODE = 0o040000


class CommitGraph:
    """The commits of one object store, with the shallow boundary (``shallow``) cut."""

    def __init__(self, store: object, shallow: Iterable[bytes | str] = ()) -> None:
        self.store = store
        self.shallow = frozenset(oid(s) for s in shallow)
        self._parents: dict[ObjectId, tuple[ObjectId, ...]] = {}
        self._times: dict[ObjectId, int] = {}

    def commit(self, commit: ObjectId) -> Commit:
        """The commit object (CorruptObjectError if missing or not a commit)."""
        found = read_commit(self.store, commit)  # type: ignore[arg-type]
        self.record(found)
        return found

    def record(self, found: Commit) -> tuple[ObjectId, ...]:
        """Learn a commit read elsewhere; returns its parents as :meth:`parents` would."""
        commit = oid(found.id)
        parents = () if commit in self.shallow else tuple(oid(p) for p in found.parents)
        self._parents[commit] = parents
        self._times[commit] = found.commit_time
        return parents

    def parents(self, commit: ObjectId) -> tuple[ObjectId, ...]:
        """The parents of ``commit`` present in this repository (none at a shallow boundary)."""
        found = self._parents.get(commit)
        if found is None:
            self.commit(commit)
            found = self._parents[commit]
        return found

    def is_shallow(self, commit: ObjectId) -> bool:
        """Whether history is cut at ``commit`` (its parents were not fetched)."""
        return commit in self.shallow

    def commit_time(self, commit: ObjectId) -> int:
        """The committer time of ``commit``."""
        if commit not in self._times:
            self.commit(commit)
        return self._times[commit]

    def ancestors(self, heads: Iterable[ObjectId]) -> set[ObjectId]:
        """Every commit reachable from ``heads``, the heads included."""
        return ancestors(self.parents, heads)

    def is_ancestor(self, ancestor: ObjectId, descendant: ObjectId) -> bool:
        """Whether ``ancestor`` is reachable from ``descendant`` (or equal); False past a shallow cut."""
        seen: set[ObjectId] = set()
        stack = [descendant]
        while stack:
            commit = stack.pop()
            if commit == ancestor:
                return True
            if commit in seen:
                continue
            seen.add(commit)
            stack.extend(self.parents(commit))
        return False

    def merge_bases(self, ours: Iterable[ObjectId], theirs: Iterable[ObjectId]) -> list[ObjectId]:
        """Best common ancestors of two sets of commits, sorted by id (empty for unrelated histories)."""
        return merge_bases(self.parents, ours, theirs)

    def walk(self, heads: Iterable[ObjectId], *, first_parent: bool = False,
             hidden: Iterable[ObjectId] = ()) -> Iterator[Commit]:
        """Commits reachable from ``heads`` and not from ``hidden``, newest first (git log's default order)."""
        excluded = self.ancestors(hidden)
        heap: list[tuple[int, int, ObjectId]] = []
        seen: set[ObjectId] = set()
        counter = 0
        for head in heads:
            if head not in seen and head not in excluded:
                seen.add(head)
                heapq.heappush(heap, (-self.commit_time(head), counter, head))
                counter += 1
        while heap:
            _, _, commit = heapq.heappop(heap)
            found = self.commit(commit)
            yield found
            parents = self.parents(commit)
            for parent in parents[:1] if first_parent else parents:
                if parent not in seen and parent not in excluded:
                    seen.add(parent)
                    heapq.heappush(heap, (-self.commit_time(parent), counter, parent))
                    counter += 1

    def oldest_first(self, heads: Sequence[ObjectId], hidden: Iterable[ObjectId] = ()) -> list[ObjectId]:
        """Commits reachable from ``heads`` and not from ``hidden``: parents before children, first parents first."""
        excluded = self.ancestors(hidden)
        order: list[ObjectId] = []
        done: set[ObjectId] = set()
        stack: list[tuple[ObjectId, bool]] = [(head, False) for head in reversed(heads)]
        while stack:
            commit, expanded = stack.pop()
            if expanded:
                order.append(commit)
                continue
            if commit in done or commit in excluded:
                continue
            done.add(commit)
            stack.append((commit, True))
            stack.extend((p, False) for p in reversed(self.parents(commit)) if p not in done and p not in excluded)
        return order

    def reachable_objects(self, heads: Iterable[ObjectId]) -> dict[bytes, bytes | None]:
        """Every object reachable from ``heads`` (commits, tags) -> the snapshot path it was found at (None: none).

        The path is a delta hint for packing (objects at one path delta well
        against each other). Gitlinks point outside the repository and are skipped.
        """
        found: dict[bytes, bytes | None] = {}
        trees: list[tuple[bytes, bytes]] = []
        commits: list[ObjectId] = []
        for head in heads:  # a ref may name an annotated tag (possibly of a tag): keep it, follow it
            obj = read_object(self.store, head, "history")  # type: ignore[arg-type]
            for _ in range(_MAX_TAG_DEPTH):
                if not isinstance(obj, Tag):
                    break
                found[obj.id] = None
                obj = read_object(self.store, obj.object[1], "history")  # type: ignore[arg-type]
            if isinstance(obj, Commit):
                commits.append(oid(obj.id))
            elif isinstance(obj, Tree):
                trees.append((obj.id, b""))
            else:
                found[obj.id] = None
        for commit in self.ancestors(commits):
            raw = commit.encode("ascii")
            found[raw] = None
            trees.append((self.commit(commit).tree, b""))
        while trees:
            sha, path = trees.pop()
            if sha in found:
                continue
            found[sha] = path
            tree = read_object(self.store, sha, "history")  # type: ignore[arg-type]
            if not isinstance(tree, Tree):
                continue
            for item in tree.iteritems():
                if item.mode == _GITLINK:
                    continue
                child = item.path if not path else path + b"/" + item.path
                if item.mode == _DIR_MODE:
                    trees.append((item.sha, child))
                elif item.sha not in found:
                    found[item.sha] = child
        return found


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
    """Best common ancestors of two sets of commits, sorted by id (empty for unrelated histories).

    git's ``merge-base --all``: common ancestors that are not ancestors of
    another common ancestor. Criss-cross histories have several.
    """
    common = ancestors(parents_of, ours) & ancestors(parents_of, theirs)
    if not common:
        return []
    # Every ancestor of a common ancestor is common too, so the commits strictly
    # below the common set are exactly those reachable from its members' parents.
    below = ancestors(parents_of, (p for c in common for p in parents_of(c)))
    return sorted(common - below)
