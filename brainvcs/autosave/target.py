"""Where autosaves land: the branch, the trailers, and the compare-and-swap bookkeeping."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from ..errors import RefConflict
from ..storage.refs import BRANCH_PREFIX, check_ref_name
from ..repo import CommitResult, Repository
from ..storage.commits import CommitInfo
from ..storage.objects import ObjectId
from ..storage.packs import fsync_dir

SOURCE_TRAILER = "Brain-Source"
SEQ_TRAILER = "Brain-Autosave-Seq"
#: ``Brain-Source`` value of autosave commits (from an Autosaver and from ``watch``).
AUTOSAVE_SOURCE = "autosave"
AUTOSAVE_PREFIX = "autosave/"
# How far back a new session looks for the last autosave sequence number.
_SEQ_LOOKBACK = 1000


def is_autosave(info: CommitInfo) -> bool:
    """Whether a commit was written by an autosave."""
    return info.trailers.get(SOURCE_TRAILER) == AUTOSAVE_SOURCE


class AutosaveTarget:
    """Where autosaves land, and the compare-and-swap bookkeeping that keeps them honest.

    ``branch`` is the branch the brain works on; saves go to
    ``autosave/<branch>`` unless ``on_branch``. The first save of a session
    starts the autosave branch at ``branch``'s tip, or continues it; if
    ``branch`` moved on meanwhile, that save gets both tips as parents so
    neither line of history becomes unreachable. Every later save expects the
    tip this target wrote last: if another writer moved it, the save fails
    with :class:`RefConflict` and the next one lands on top of theirs.
    """

    def __init__(self, branch: str, *, on_branch: bool = False) -> None:
        self.branch = check_ref_name(branch)
        self.autosave_branch = branch if on_branch else check_ref_name(AUTOSAVE_PREFIX + branch)
        self.on_branch = on_branch
        self._tip: ObjectId | None = None
        self._known = False
        self._session_started = False
        self._seq = 0

    @property
    def ref(self) -> str:
        """The full ref autosaves move."""
        return BRANCH_PREFIX + self.autosave_branch

    def commit(self, repo: Repository, state: Mapping[str, Any], message: str, *,
               summary: str | None = None, author: str | None = None,
               private: bool = False) -> tuple[CommitResult, int]:
        """Commit ``state`` as the next autosave; returns the result and its sequence number.

        ``private``: nothing will change ``state`` afterwards (the repository keeps it uncopied)."""
        with repo.writing():
            parents: list[str] | None = None
            if not self._known:
                expected, parents = self._start(repo)
                self._seq = _last_seq(repo, expected)
            else:
                expected = self._tip
            seq = self._seq + 1
            try:
                result = repo.commit(state, message, branch=self.ref, expected_head=expected, parents=parents,
                                     author=author, summary=summary, state_is_private=private,
                                     trailers={SOURCE_TRAILER: AUTOSAVE_SOURCE, SEQ_TRAILER: str(seq)})
            except RefConflict:
                self._known = False  # re-read the tip next time and land on top of it
                raise
            if result.changed and repo.gitdir is not None:
                # The ref file was fsynced and renamed into place; the rename is durable
                # only once its directory is synced too. Only then is the save acknowledged.
                fsync_dir(os.path.dirname(os.path.join(repo.gitdir, self.ref)))
        self._known = self._session_started = True
        if result.changed:
            assert result.commit is not None
            self._tip = result.commit.id
            self._seq = seq
        else:
            self._tip = expected
        return result, seq

    def reread(self) -> None:
        """Forget the tip this target last wrote: the next commit reads the branch again (after a sync moved it)."""
        self._known = False

    def _start(self, repo: Repository) -> tuple[ObjectId | None, list[str] | None]:
        auto_tip = repo.refs.get(self.ref)
        if self.on_branch or self._session_started:
            return auto_tip, None
        src_tip = repo.refs.get(BRANCH_PREFIX + self.branch)
        if src_tip is None or src_tip == auto_tip:
            return auto_tip, None
        if auto_tip is None:
            repo.refs.move(self.ref, None, src_tip, f"autosave: branch from {self.branch}")
            return src_tip, None
        if repo.is_ancestor(src_tip, auto_tip):
            return auto_tip, None
        if repo.is_ancestor(auto_tip, src_tip):
            repo.refs.move(self.ref, auto_tip, src_tip, f"autosave: fast-forward to {self.branch}")
            return src_tip, None
        return auto_tip, [auto_tip, src_tip]


def _last_seq(repo: Repository, start: ObjectId | None) -> int:
    if start is None:
        return 0
    for info in repo.iter_log(start, max_count=_SEQ_LOOKBACK, first_parent=True):
        if is_autosave(info):
            try:
                return int(info.trailers.get(SEQ_TRAILER, "0"))
            except ValueError:
                return 0
    return 0
