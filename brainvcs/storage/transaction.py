"""One commit pipeline: write objects, make commits, flush, move refs by compare-and-swap — all or nothing.

Every writer (``commit``, imports, autosave squashes, concurrent retries)
goes through :class:`Transaction`, as every Mercurial mutation goes through
``repo.transaction()``::

    with repo.transaction("import") as tx:
        tree = tx.add_tree(snapshot.tree)
        commit = tx.add_commit(tree, parents, message, author, snapshot.fingerprint)
        tx.move(ref, old_tip, oid(commit.id))

Objects stay in memory until the block ends without an exception; then they
are written as one pack and made durable, stale ref locks of dead writers are
cleared, and the queued ref moves run in order, each a compare-and-swap. If
one fails, the moves already made are undone (newest first) and the error is
raised: no ref points at half of a transaction. Packs are consolidated last.
The caller holds the repository lock (``Repository.transaction`` takes it).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dulwich.objects import Commit, ShaFile

from ..errors import UsageError
from ..snapshot.layout import SnapshotTree
from .gc import consolidate
from .lock import clear_stale_ref_locks
from .objects import FINGERPRINT_TRAILER, ObjectId, ObjectWriter, WriteStats, git_id, now
from .packs import PackReader
from .refs import RefStore

#: ``Name <email>``: what git accepts as an author (no newline, no angle brackets in the name).
_IDENTITY = re.compile(r"^[^<>\n]+ <[^<>\n]*>$")
_TRAILER_KEY = re.compile(r"[A-Za-z][A-Za-z0-9-]*")


def is_identity(text: str) -> bool:
    """Whether ``text`` has git's ``Name <email>`` form."""
    return _IDENTITY.match(text) is not None


def check_author(author: str) -> str:
    """``author`` if it has git's ``Name <email>`` form (UsageError otherwise)."""
    if not _IDENTITY.match(author):
        raise UsageError(f"invalid author {author!r}", "use the form 'Name <email>'")
    return author


def make_commit(tree: str, parents: list[ObjectId], message: str, author: str, fingerprint: str, *,
                trailers: Mapping[str, str] | None = None, timestamp: int | None = None,
                summary: str | None = None) -> Commit:
    """A commit object: the message, the learning summary, then the ``Brain-Fingerprint`` and other trailers."""
    body = message.strip("\n")
    if summary:
        body += "\n\n" + summary.strip("\n")
    lines = [f"{FINGERPRINT_TRAILER}: {fingerprint}"]
    for key, value in (trailers or {}).items():
        if not _TRAILER_KEY.fullmatch(key) or "\n" in value:
            raise UsageError(f"invalid trailer {key!r}")
        lines.append(f"{key}: {value}")
    commit = Commit()
    commit.tree = git_id(tree)
    commit.parents = [git_id(p) for p in parents]
    commit.author = commit.committer = check_author(author).encode("utf-8")
    commit.author_time = commit.commit_time = timestamp if timestamp is not None else now()
    commit.author_timezone = commit.commit_timezone = 0
    commit.encoding = b"UTF-8"
    commit.message = (body + "\n\n" + "\n".join(lines) + "\n").encode("utf-8")
    return commit


@dataclass(frozen=True)
class RefMove:
    """One queued compare-and-swap: ``ref`` from ``old`` (None: must not exist) to ``new``."""

    ref: str
    old: ObjectId | None
    new: ObjectId
    reason: str


class Transaction:
    """Objects and ref moves that land together or not at all (see the module docstring)."""

    def __init__(self, objects: Any, refs: RefStore, *, packs: PackReader | None = None,
                 gitdir: str | os.PathLike[str] | None = None, description: str = "") -> None:
        self.objects = objects
        self.refs = refs
        self.gitdir = gitdir
        self.description = description
        self.writer = ObjectWriter(objects, packs)
        self.moves: list[RefMove] = []
        #: What the flush wrote (set when the transaction commits).
        self.written: WriteStats | None = None
        #: Set by :meth:`discard`: nothing is written when the block ends.
        self.discarded = False

    def add_tree(self, tree: SnapshotTree) -> ObjectId:
        """Add a snapshot's blobs and directories; returns the root tree id."""
        return self.writer.add_tree(tree)

    def add_commit(self, tree: str, parents: list[ObjectId], message: str, author: str, fingerprint: str, *,
                   trailers: Mapping[str, str] | None = None, timestamp: int | None = None,
                   summary: str | None = None) -> Commit:
        """Make a commit (see :func:`make_commit`) and add it; returns the commit object."""
        commit = make_commit(tree, parents, message, author, fingerprint, trailers=trailers, timestamp=timestamp,
                             summary=summary)
        self.writer.add_commit(commit)
        return commit

    def add_object(self, obj: ShaFile) -> ObjectId:
        """Add any git object (an annotated tag)."""
        return self.writer.add_object(obj)

    @property
    def stats(self) -> WriteStats:
        """What is pending so far (what the flush will write)."""
        return self.writer.stats

    def move(self, ref: str, old: ObjectId | None, new: ObjectId, reason: str) -> None:
        """Queue a compare-and-swap of ``ref`` from ``old`` to ``new``; it runs after the objects are durable."""
        self.moves.append(RefMove(ref, old, new, reason))

    def discard(self) -> None:
        """Drop everything added and queued (a no-op commit): nothing will be written."""
        self.discarded = True

    def commit(self) -> WriteStats:
        """Flush the objects, then move every queued ref; undo the moves made if one fails."""
        self.written = self.writer.flush()
        if self.gitdir is not None:
            clear_stale_ref_locks(self.gitdir)
        done: list[RefMove] = []
        try:
            for move in self.moves:
                self.refs.move(move.ref, move.old, move.new, move.reason)
                done.append(move)
        except BaseException:
            for move in reversed(done):
                if move.old is None:
                    self.refs.delete(move.ref, move.new)
                else:
                    self.refs.move(move.ref, move.new, move.old, f"{self.description}: rolled back")
            raise
        consolidate(self.objects)
        return self.written
