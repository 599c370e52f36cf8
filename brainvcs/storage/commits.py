"""A commit as brainvcs shows it: ids, people, times, the message and its trailers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dulwich.objects import Commit

from .objects import FINGERPRINT_TRAILER, ObjectId, oid, parse_trailers


@dataclass(frozen=True)
class CommitInfo:
    """One commit as brainvcs shows it."""

    id: ObjectId
    tree: ObjectId
    parents: tuple[ObjectId, ...]
    author: str
    committer: str
    author_time: int
    author_tz: int
    commit_time: int
    message: str
    trailers: dict[str, str] = field(default_factory=dict)

    @property
    def summary(self) -> str:
        """The first line of the message."""
        return self.message.split("\n", 1)[0]

    @property
    def fingerprint(self) -> str | None:
        """The state fingerprint recorded in the commit's trailer."""
        return self.trailers.get(FINGERPRINT_TRAILER)

    def to_json(self) -> dict[str, Any]:
        """A stable JSON-ready dict (used by ``--json`` output)."""
        return {
            "id": self.id, "tree": self.tree, "parents": list(self.parents), "author": self.author,
            "committer": self.committer, "author_time": self.author_time, "author_tz": self.author_tz,
            "commit_time": self.commit_time, "message": self.message, "summary": self.summary,
            "fingerprint": self.fingerprint, "trailers": dict(self.trailers),
        }

    @classmethod
    def from_commit(cls, commit: Commit) -> CommitInfo:
        """Build from a dulwich commit object."""
        message = commit.message.decode("utf-8", "replace")
        return cls(
            id=oid(commit.id), tree=oid(commit.tree), parents=tuple(oid(p) for p in commit.parents),
            author=commit.author.decode("utf-8", "replace"), committer=commit.committer.decode("utf-8", "replace"),
            author_time=commit.author_time, author_tz=commit.author_timezone, commit_time=commit.commit_time,
            message=message.rstrip("\n"), trailers=parse_trailers(message),
        )
