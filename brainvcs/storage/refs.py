"""Branches, tags, HEAD and remote-tracking refs; every move is compare-and-swap.

dulwich's ref container writes each ref under git's lock-file protocol
(``<ref>.lock``, then rename); :class:`RefStore` adds the compare-and-swap
contract on top: a move names the value it expects, and fails with
:class:`~brainvcs.errors.RefConflict` — changing nothing — if another writer
got there first.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager

from dulwich.errors import PackedRefsException
from dulwich.file import FileLocked
from dulwich.refs import Ref, RefsContainer, SymrefLoop, check_ref_format

from ..errors import CorruptObjectError, InvalidRefNameError, LockHeldError, RefConflict, RevisionNotFoundError
from .objects import ObjectId, git_id, oid

HEAD = "HEAD"
BRANCH_PREFIX = "refs/heads/"
TAG_PREFIX = "refs/tags/"
REMOTE_PREFIX = "refs/remotes/"

_BAD_CHARS = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")
_OBJECT_ID = re.compile(rb"[0-9a-f]{40}")


def check_ref_name(name: str, kind: str = "branch") -> str:
    """Refuse names git would refuse (``git check-ref-format`` rules), plus a leading '-'."""
    problem = None
    if not name:
        problem = "is empty"
    elif name.startswith("-"):
        problem = "starts with '-'"
    elif name in ("HEAD", "@"):
        problem = "is reserved"
    elif _BAD_CHARS.search(name):
        problem = "contains a space, a control character or one of ~ ^ : ? * [ \\"
    elif ".." in name or "@{" in name or "//" in name:
        problem = "contains '..', '@{' or '//'"
    elif name.startswith("/") or name.endswith("/") or name.endswith("."):
        problem = "starts or ends with '/' or ends with '.'"
    elif any(part.startswith(".") or part.endswith(".lock") for part in name.split("/")):
        problem = "has a component starting with '.' or ending with '.lock'"
    if problem:
        raise InvalidRefNameError(f"invalid {kind} name {name!r}: it {problem}",
                                  "use letters, digits, '-', '_', '.' and '/' (e.g. 'alice/experiment-2')")
    return name


def _b(text: str) -> bytes:
    return text.encode("utf-8")


def _ref(name: str) -> Ref:
    return Ref(name.encode("utf-8"))


@contextmanager
def _damaged_refs(what: str) -> Iterator[None]:
    """Turn what dulwich raises on a damaged ref file or ``packed-refs`` into a CorruptObjectError."""
    try:
        yield
    except (PackedRefsException, SymrefLoop, UnicodeDecodeError, ValueError, StopIteration) as exc:
        raise _damaged(what, f"{type(exc).__name__}: {exc}" if str(exc) else "it ends too early") from None


def _utf8(name: bytes) -> bool:
    try:
        name.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _damaged(what: str, detail: str) -> CorruptObjectError:
    return CorruptObjectError(f"{what} cannot be read: its ref file or packed-refs is damaged ({detail[:120]})",
                              "run `git fsck`; repair the ref with `git update-ref` or restore it from a clone")


@contextmanager
def _ref_lock_errors(ref: str) -> Iterator[None]:
    """Turn dulwich's FileLocked (a ``<ref>.lock`` file exists) into a LockHeldError naming the file."""
    try:
        yield
    except FileLocked as exc:
        lock = exc.lockfilename.decode("utf-8", "replace") if isinstance(exc.lockfilename, bytes) \
            else str(exc.lockfilename)
        raise LockHeldError(
            f"{ref} is locked by another git process ({os.path.basename(lock)} exists); it was not changed",
            f"wait for that process to finish; if none is running, the lock is stale: remove {lock} "
            "(brainvcs removes ref locks older than a few seconds on its next commit)") from None


class RefStore:
    """Typed, compare-and-swap access to a repository's refs."""

    def __init__(self, refs: RefsContainer) -> None:
        self._refs = refs

    # Reading -----------------------------------------------------------------
    def get(self, ref: str) -> ObjectId | None:
        """The commit a ref (following symbolic refs) points to, or None."""
        try:
            with _damaged_refs(ref):
                chain, sha = self._refs.follow(_ref(ref))
        except KeyError:
            return None
        for target in chain[1:]:  # a symbolic ref must name a ref, or it is damaged, not unborn
            if not (target.startswith(b"refs/") and check_ref_format(target) and _utf8(target)):
                raise _damaged(ref, f"it points to {target[:40]!r}, which is not a ref name")
        if not sha:
            return None
        if not _OBJECT_ID.fullmatch(sha):
            raise _damaged(ref, f"it holds {sha[:24]!r}, not an object id")
        return oid(sha)

    def head_branch(self) -> str | None:
        """Short name of the branch HEAD points to (even if unborn); None when detached."""
        with _damaged_refs(HEAD):
            target = self._refs.read_ref(Ref(b"HEAD"))
            full = target[5:].strip().decode("utf-8") if target and target.startswith(b"ref: ") else ""
        if full.startswith(BRANCH_PREFIX):
            return full[len(BRANCH_PREFIX):]
        return None

    def _listing(self, prefix: str) -> dict[str, ObjectId]:
        out: dict[str, ObjectId] = {}
        with _damaged_refs(prefix + "*"):
            names = sorted(key.decode("utf-8") for key in self._refs.keys(base=_ref(prefix.rstrip("/"))))
        for name in names:
            sha = self.get(prefix + name)
            if sha is not None:
                out[name] = sha
        return out

    def branches(self) -> dict[str, ObjectId]:
        """Branch short name -> commit id."""
        return self._listing(BRANCH_PREFIX)

    def tags(self) -> dict[str, ObjectId]:
        """Tag name -> object id (a commit, or an annotated tag object)."""
        return self._listing(TAG_PREFIX)

    def remote_branches(self) -> dict[str, ObjectId]:
        """'remote/branch' -> commit id for remote-tracking refs."""
        return self._listing(REMOTE_PREFIX)

    def all(self) -> dict[str, ObjectId]:
        """Every ref except HEAD -> object id."""
        out: dict[str, ObjectId] = {}
        with _damaged_refs("refs/*"):
            names = sorted(key.decode("utf-8") for key in self._refs.allkeys())
        for name in names:
            if name == HEAD:
                continue
            sha = self.get(name)
            if sha is not None:
                out[name] = sha
        return out

    # Moving ------------------------------------------------------------------
    def move(self, ref: str, expected: ObjectId | None, new: ObjectId, message: str) -> None:
        """Point ``ref`` at ``new`` if it currently points at ``expected`` (None: must not exist)."""
        with _ref_lock_errors(ref):
            if expected is None:
                ok = self._refs.add_if_new(_ref(ref), git_id(new), message=_b(message))
            else:
                ok = self._refs.set_if_equals(_ref(ref), git_id(expected), git_id(new), message=_b(message))
        if not ok:
            raise RefConflict(ref, expected, self.get(ref))

    def delete(self, ref: str, expected: ObjectId) -> None:
        """Remove ``ref`` if it still points at ``expected``."""
        with _ref_lock_errors(ref):
            removed = self._refs.remove_if_equals(_ref(ref), git_id(expected))
        if not removed:
            actual = self.get(ref)
            if actual is None:
                raise RevisionNotFoundError(f"{ref} does not exist")
            raise RefConflict(ref, expected, actual)
        self._drop_reflog(ref)

    def _drop_reflog(self, ref: str) -> None:
        # As `git branch -D` does: a deleted ref's reflog goes too, or it would keep
        # the ref's commits alive through gc (reflog entries are gc roots) forever.
        base = getattr(self._refs, "path", None)
        if not isinstance(base, bytes):
            return  # a memory repository keeps no reflog files
        try:
            os.remove(os.path.join(os.fsdecode(base), "logs", ref))
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            pass

    def set_head_branch(self, branch: str) -> None:
        """Make HEAD a symbolic ref to ``refs/heads/<branch>``."""
        with _ref_lock_errors(HEAD):
            self._refs.set_symbolic_ref(Ref(b"HEAD"), _ref(BRANCH_PREFIX + branch))

    def detach_head(self, commit: ObjectId) -> None:
        """Point HEAD directly at a commit."""
        with _ref_lock_errors(HEAD):
            self._refs.remove_if_equals(Ref(b"HEAD"), None)
            self._refs.add_if_new(Ref(b"HEAD"), git_id(commit))

    def head_ref(self) -> str:
        """The ref a commit on HEAD updates: the branch ref, or HEAD when detached."""
        branch = self.head_branch()
        return BRANCH_PREFIX + branch if branch is not None else HEAD
