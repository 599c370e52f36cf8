"""The one revision grammar: ``REV``, ``A..B``, ``A...B`` and ``REV:PATH``, as git spells them.

A revision is a base — ``HEAD`` (or ``@``), a full ref, a branch, a tag, a
remote-tracking branch (``origin/main``), or a commit id of at least four hex
digits — followed by any number of ``~N`` (Nth first-parent ancestor) and
``^N`` (Nth parent) steps. Every command parses revisions here, so
``HEAD~2^2``, ``v1..main`` and ``main:language_module`` mean the same thing
to ``log``, ``diff``, ``show``, ``history`` and ``merge``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from dulwich.objects import Commit, Tag

from ..errors import EmptyRepositoryError, RevisionNotFoundError, UsageError
from .graph import CommitGraph
from .objects import ObjectId, find_objects, oid, read_object
from .refs import BRANCH_PREFIX, HEAD, REMOTE_PREFIX, TAG_PREFIX, RefStore

_REV = re.compile(r"^(?P<base>.+?)(?P<ops>(?:~\d*|\^\d*)*)$")
_HEX = re.compile(r"^[0-9a-f]{4,40}$")
_STEP = re.compile(r"~\d*|\^\d*")
#: Annotated tags of tags followed at most.
_MAX_TAG_DEPTH = 16


@dataclass(frozen=True)
class RevRange:
    """``A..B`` (commits of ``end`` not in ``start``), ``A...B`` (of either, not of both), or one revision."""

    start: str | None
    end: str
    symmetric: bool = False


def parse_range(text: str) -> RevRange:
    """Split ``A..B`` / ``A...B`` / ``REV``; an empty side means ``HEAD``, as in git."""
    text = text.strip()
    if "..." in text:
        start, end = text.split("...", 1)
        return RevRange(start or HEAD, end or HEAD, True)
    if ".." in text:
        start, end = text.split("..", 1)
        return RevRange(start or HEAD, end or HEAD)
    if not text:
        raise UsageError("empty revision", "name a branch, a tag, a commit id, or HEAD~N")
    return RevRange(None, text)


def is_range(text: str) -> bool:
    """Whether ``text`` is written as a range (``A..B`` or ``A...B``)."""
    return ".." in text


def split_path(text: str) -> tuple[str, str | None]:
    """``REV:PATH`` -> (``REV``, ``PATH``); a plain revision -> (it, None). ``:PATH`` means ``HEAD:PATH``."""
    rev, sep, path = text.partition(":")
    if not sep:
        return text, None
    return rev or HEAD, path


class Resolver:
    """Turns revision text into commit ids against one repository's refs and objects."""

    def __init__(self, refs: RefStore, objects: Any, graph: CommitGraph) -> None:
        self.refs = refs
        self.objects = objects
        self.graph = graph

    def resolve(self, rev: str = HEAD) -> ObjectId:
        """The commit ``rev`` names (RevisionNotFoundError, naming it, if none)."""
        rev = rev.strip()
        match = _REV.match(rev)
        if not rev or match is None:
            raise RevisionNotFoundError(f"unknown revision {rev!r}")
        commit = self._base(match.group("base"), rev)
        for step in _STEP.findall(match.group("ops")):
            count = int(step[1:]) if len(step) > 1 else 1
            if step[0] == "~":
                for _ in range(count):
                    parents = self.graph.parents(commit)
                    if not parents:
                        raise RevisionNotFoundError(f"{rev}: history is not that long",
                                                    "see how far it goes with `brainvcs log --oneline`")
                    commit = parents[0]
            elif count:
                parents = self.graph.parents(commit)
                if count > len(parents):
                    raise RevisionNotFoundError(f"{rev}: commit {commit[:12]} has no parent {count}",
                                                "^N picks the Nth parent of a merge; see `brainvcs log`")
                commit = parents[count - 1]
        return commit

    def _base(self, base: str, rev: str) -> ObjectId:
        if base in (HEAD, "@"):
            sha = self.refs.get(HEAD)
            if sha is None:
                branch = self.refs.head_branch() or "HEAD"
                raise EmptyRepositoryError(f"{rev}: branch {branch!r} has no commits yet",
                                           "commit a state first: brainvcs commit -m MESSAGE STATE.json")
            return self.peel(sha, rev)
        for ref in (base, BRANCH_PREFIX + base, TAG_PREFIX + base, REMOTE_PREFIX + base):
            if ref.startswith("refs/"):
                sha = self.refs.get(ref)
                if sha is not None:
                    return self.peel(sha, rev)
        if _HEX.match(base):
            matches = find_objects(self.objects, base, rev)
            commits = [m for m in matches if isinstance(read_object(self.objects, m, rev), (Commit, Tag))]
            if len(commits) == 1:
                return self.peel(commits[0], rev)
            if len(commits) > 1:
                raise RevisionNotFoundError(f"short id {base!r} is ambiguous ({len(commits)} commits)",
                                            "give more hex digits")
        raise RevisionNotFoundError(f"unknown revision {rev!r}",
                                    "name a branch, a tag, a commit id, or HEAD~N "
                                    "(see `brainvcs branch` and `brainvcs log`)")

    def peel(self, sha: ObjectId, rev: str) -> ObjectId:
        """The commit an object id names, through annotated tags."""
        obj = read_object(self.objects, sha, rev)
        for _ in range(_MAX_TAG_DEPTH):
            if not isinstance(obj, Tag):
                break
            obj = read_object(self.objects, obj.object[1], rev)
        if not isinstance(obj, Commit):
            raise RevisionNotFoundError(f"{rev} names a {obj.type_name.decode()}, not a commit")
        return oid(obj.id)
