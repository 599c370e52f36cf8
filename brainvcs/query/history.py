"""A path's value across commits, and the commit where a key was first learned."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import PathNotFoundError, UsageError
from ..repo import Repository
from ..snapshot.paths import Segment, format_path, parse_path
from ..snapshot.tensors import is_array
from ..storage.commits import CommitInfo
from .walker import Walker

#: Where ``log --learned WORD`` looks for WORD.
DEFAULT_LEARNED_MAP = "language_module.word_frequency"


# --------------------------------------------------------------------------
# Paths and ranges


def commits_in_range(repo: Repository, rev_range: str = "HEAD") -> list[CommitInfo]:
    """The commits of ``REV``, ``A..B`` or ``A...B``, oldest first (parents before children, first parents first)."""
    return [CommitInfo.from_commit(repo.graph.commit(sha)) for sha in repo.range_commits(rev_range)]


# --------------------------------------------------------------------------
# history and first_learned


@dataclass(frozen=True)
class HistoryPoint:
    """The value of a path at one commit; ``changed``: differs from the previous point (or is the first)."""

    commit: CommitInfo
    value: Any
    present: bool
    changed: bool = True

    def to_json(self) -> dict[str, Any]:
        """A stable JSON-ready dict (numpy arrays as ``{"$tensor": {dtype, shape, values}}``)."""
        return {"commit": self.commit.id, "summary": self.commit.summary, "author_time": self.commit.author_time,
                "present": self.present, "changed": self.changed, "value": to_jsonable(self.value)}


def to_jsonable(value: Any) -> Any:
    """``value`` with numpy arrays written out as tensor documents (as state files hold them)."""
    if is_array(value):
        return {"$tensor": {"dtype": value.dtype.str, "shape": list(value.shape), "values": value.tolist()}}
    if isinstance(value, dict):
        return {k: to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_jsonable(v) for v in value]
    return value


def _same(a: Any, b: Any) -> bool:
    if is_array(a) or is_array(b):
        return is_array(a) and is_array(b) and a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    return type(a) is type(b) and a == b


def _segments(path: str | Sequence[Segment]) -> tuple[Segment, ...]:
    segments = parse_path(path) if isinstance(path, str) else list(path)
    if not segments or not isinstance(segments[0], str):
        raise UsageError(f"invalid path {path!r}: it must start with a module name")
    return tuple(segments)


def history(repo: Repository, path: str | Sequence[Segment], rev_range: str = "HEAD", *,
            changes_only: bool = False) -> list[HistoryPoint]:
    """The value of ``path`` at every commit of ``rev_range``, oldest first.

    ``present`` is False where the path does not exist (``value`` is then
    None); ``changes_only`` keeps only the points where the value changed.
    A path that exists in none of the commits is :class:`PathNotFoundError`.
    """
    segments = _segments(path)
    walker = Walker(repo)
    points: list[HistoryPoint] = []
    previous: tuple[bool, Any] | None = None
    for commit in commits_in_range(repo, rev_range):
        walker.open(commit)
        found = walker.locate(segments)
        value = walker.value(found) if found.present else None
        changed = previous is None or previous[0] != found.present or not _same(previous[1], value)
        previous = (found.present, value)
        if changed or not changes_only:
            points.append(HistoryPoint(commit, value, found.present, changed))
    if points and not any(point.present for point in points):
        shown = format_path(list(segments))
        raise PathNotFoundError(f"{shown} does not exist in any of the {len(points)} commit(s) of {rev_range}",
                                f"check the spelling; `brainvcs checkout {rev_range.split('..')[-1] or 'HEAD'} "
                                f"--module {segments[0]}` shows what that module holds")
    return points


def first_learned(repo: Repository, path_to_map: str | Sequence[Segment], key: str,
                  rev: str = "HEAD") -> CommitInfo | None:
    """The oldest commit of ``rev`` (a REV or an A..B range) where ``key`` appeared in the map at ``path_to_map``.

    "Appeared": the commit has the key and none of its parents has it. Walks
    oldest to newest and stops at the first such commit (None: never).
    """
    segments = (*_segments(path_to_map), key)
    walker = Walker(repo)
    for commit in commits_in_range(repo, rev):
        walker.open(commit)
        if not walker.locate(segments).present:
            continue
        # In a full history the first hit has no parent with the key; a range may start after it appeared.
        for parent in repo.graph.parents(commit.id):  # none past a shallow clone's cut
            walker.open(CommitInfo.from_commit(repo.graph.commit(parent)))
            if walker.locate(segments).present:
                break
        else:
            return commit
    return None


def value_at(repo: Repository, rev: str, path: str | Sequence[Segment]) -> Any:
    """The value at ``path`` in the snapshot of ``rev`` (``show REV:PATH``), reading only what leads to it.

    A path the snapshot does not hold is :class:`PathNotFoundError`.
    """
    segments = _segments(path)
    walker = Walker(repo)
    walker.open(repo.commit_info(rev))
    found = walker.locate(segments)
    if not found.present:
        raise PathNotFoundError(f"{format_path(list(segments))} does not exist in {rev}",
                                f"`brainvcs show {rev}` lists the modules of that snapshot")
    return walker.value(found)

