"""What the repository's operations return: results that say what happened, as text and as JSON."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..snapshot.canonical import Blake3Digest
from ..storage.commits import CommitInfo
from ..storage.objects import ObjectId, WriteStats


@dataclass(frozen=True)
class CommitResult:
    """What :meth:`Repository.commit` did."""

    commit: CommitInfo | None
    ref: str
    fingerprint: Blake3Digest
    written: WriteStats
    changed: bool
    #: Modules the branch tip had and this state does not (the commit removed them).
    removed_modules: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """A stable JSON-ready dict."""
        return {
            "commit": self.commit.to_json() if self.commit else None, "ref": self.ref,
            "fingerprint": self.fingerprint, "changed": self.changed,
            "removed_modules": list(self.removed_modules),
            "written": {"objects": self.written.objects, "bytes": self.written.bytes,
                        "blobs": self.written.blobs, "trees": self.written.trees},
        }


@dataclass(frozen=True)
class Status:
    """Where HEAD is and what it holds."""

    branch: str | None
    head: CommitInfo | None
    detached: bool
    modules: dict[str, dict[str, Any]]
    fingerprint: str | None
    changed_modules: list[str] | None = None

    def to_json(self) -> dict[str, Any]:
        """A stable JSON-ready dict."""
        return {"branch": self.branch, "detached": self.detached,
                "head": self.head.to_json() if self.head else None, "fingerprint": self.fingerprint,
                "modules": self.modules, "changed_modules": self.changed_modules}


@dataclass(frozen=True)
class BranchInfo:
    """A branch and where it points."""

    name: str
    commit: ObjectId
    current: bool
