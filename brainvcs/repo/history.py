"""History of a :class:`~brainvcs.repo.repository.Repository`: the commit graph, ranges, log.

A mixin: ``Repository`` supplies the object store, the git repository and
the revision resolver.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from dulwich.repo import MemoryRepo, Repo

from ..storage.commits import CommitInfo
from ..storage.graph import CommitGraph
from ..storage.objects import ObjectId, oid
from ..storage.refs import HEAD
from ..storage.revisions import parse_range


class History:
    """History walks; mixed into ``Repository``, which provides what is declared here."""

    _git: Repo | MemoryRepo
    _graph: CommitGraph | None

    @property
    def objects(self) -> Any:
        """The object store (``Repository`` provides it)."""
        raise NotImplementedError

    def resolve(self, rev: str = HEAD) -> ObjectId:
        """The commit ``rev`` names (``Repository`` provides it)."""
        raise NotImplementedError

    @property
    def graph(self) -> CommitGraph:
        """The commit graph every history walk uses (a shallow clone's cut respected)."""
        shallow = self.shallow
        if self._graph is None or self._graph.shallow != {oid(s) for s in shallow}:
            self._graph = CommitGraph(self.objects, shallow)
        return self._graph

    @property
    def shallow(self) -> frozenset[bytes]:
        """Commits whose parents a shallow clone does not have (``.git/shallow``)."""
        try:
            return frozenset(self._git.get_shallow())
        except (AttributeError, OSError):
            return frozenset()

    def log(self, rev: str = HEAD, *, max_count: int | None = None, first_parent: bool = False) -> list[CommitInfo]:
        """Commits reachable from ``rev``, newest first."""
        return list(self.iter_log(rev, max_count=max_count, first_parent=first_parent))

    def range_heads(self, rev_range: str) -> tuple[list[ObjectId], list[ObjectId]]:
        """(included, hidden) commits of ``REV``, ``A..B`` (B not A) or ``A...B`` (either, not both)."""
        parsed = parse_range(rev_range)
        end = self.resolve(parsed.end)
        if parsed.start is None:
            return [end], []
        start = self.resolve(parsed.start)
        if parsed.symmetric:
            return [start, end], self.graph.merge_bases([start], [end])
        return [end], [start]

    def range_commits(self, rev_range: str = HEAD) -> list[ObjectId]:
        """The commits of a range (see :meth:`range_heads`), oldest first: parents before children."""
        heads, hidden = self.range_heads(rev_range)
        return self.graph.oldest_first(heads, hidden)

    def iter_log(self, rev: str = HEAD, *, max_count: int | None = None,
                 first_parent: bool = False) -> Iterator[CommitInfo]:
        """Like :meth:`log`, lazily."""
        if max_count is not None and max_count <= 0:
            return
        heads, hidden = self.range_heads(rev)
        for emitted, commit in enumerate(self.graph.walk(heads, first_parent=first_parent, hidden=hidden), 1):
            yield CommitInfo.from_commit(commit)
            if max_count is not None and emitted >= max_count:
                return
