"""Branches and tags of a :class:`~brainvcs.repo.repository.Repository`: create, move, delete, switch, list.

Every move is a compare-and-swap under the repository lock. The class is a
mixin: ``Repository`` supplies the refs, the resolver and the lock.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from dulwich.objects import Commit, Tag

from ..errors import RefExistsError, RevisionNotFoundError, UsageError
from ..storage.graph import CommitGraph
from ..storage.objects import ObjectId, now
from ..storage.refs import BRANCH_PREFIX, HEAD, REMOTE_PREFIX, TAG_PREFIX, RefStore, check_ref_name
from ..storage.revisions import Resolver
from ..storage.transaction import Transaction
from .results import BranchInfo


class Branches:
    """Branch and tag operations; mixed into ``Repository``, which provides what is declared here."""

    refs: RefStore

    @property
    def objects(self) -> Any:
        """The object store (``Repository`` provides it)."""
        raise NotImplementedError

    @property
    def graph(self) -> CommitGraph:
        """The commit graph (``Repository`` provides it)."""
        raise NotImplementedError

    @property
    def current_branch(self) -> str | None:
        """The branch HEAD points to (``Repository`` provides it)."""
        raise NotImplementedError

    def head(self) -> ObjectId | None:
        """The commit HEAD points to (``Repository`` provides it)."""
        raise NotImplementedError

    def resolve(self, rev: str = HEAD) -> ObjectId:
        """The commit a revision names (``Repository`` provides it)."""
        raise NotImplementedError

    def identity(self) -> str:
        """The author identity (``Repository`` provides it)."""
        raise NotImplementedError

    def writing(self) -> AbstractContextManager[Any]:
        """The repository lock (``Repository`` provides it)."""
        raise NotImplementedError

    def transaction(self, description: str) -> AbstractContextManager[Transaction]:
        """A commit transaction (``Repository`` provides it)."""
        raise NotImplementedError

    def branches(self) -> list[BranchInfo]:
        """Local branches, sorted by name."""
        current = self.current_branch
        return [BranchInfo(name, sha, name == current) for name, sha in self.refs.branches().items()]

    def create_branch(self, name: str, start: str = HEAD, *, force: bool = False) -> BranchInfo:
        """Create branch ``name`` at ``start``; ``force`` moves an existing one."""
        check_ref_name(name)
        target = self.resolve(start)
        with self.writing():
            existing = self.refs.get(BRANCH_PREFIX + name)
            if existing is not None and not force:
                raise RefExistsError(f"branch {name!r} already exists", "pick another name, or pass --force to move it")
            self.refs.move(BRANCH_PREFIX + name, existing, target, f"branch: created from {start}")
        return BranchInfo(name, target, name == self.current_branch)

    def delete_branch(self, name: str, *, force: bool = False) -> ObjectId:
        """Delete a branch; refuses the current one, and unmerged ones unless ``force``."""
        sha = self.refs.get(BRANCH_PREFIX + name)
        if sha is None:
            raise RevisionNotFoundError(f"no branch named {name!r}")
        if name == self.current_branch:
            raise UsageError(f"cannot delete the current branch {name!r}", "switch to another branch first")
        if not force and not self._is_merged(sha):
            raise UsageError(f"branch {name!r} has commits that no other branch contains",
                             f"merge it first, or delete it anyway with `brainvcs branch -D {name}` "
                             "(its commits become unreachable)")
        with self.writing():
            self.refs.delete(BRANCH_PREFIX + name, sha)
        return sha

    def _is_merged(self, sha: ObjectId) -> bool:
        for other, tip in self.refs.branches().items():
            if tip == sha and self.refs.get(BRANCH_PREFIX + other) == sha and other != self.current_branch:
                continue
            if self.is_ancestor(sha, tip) and tip != sha:
                return True
        head = self.head()
        return head is not None and self.is_ancestor(sha, head)

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """Whether commit ``ancestor`` is reachable from ``descendant`` (or equal)."""
        return self.graph.is_ancestor(ObjectId(ancestor), ObjectId(descendant))

    def switch(self, name: str, *, create: bool = False, start: str = HEAD) -> BranchInfo:
        """Point HEAD at branch ``name`` (creating it at ``start`` if asked).

        As in git, a name that is no local branch but exactly one remote's
        branch (``origin/NAME``) creates the local branch there.
        """
        check_ref_name(name)
        exists = self.refs.get(BRANCH_PREFIX + name) is not None
        if not exists and not create:
            tracking = [ref for ref in self.refs.remote_branches() if ref.split("/", 1)[-1] == name]
            if len(tracking) == 1:
                create, start = True, REMOTE_PREFIX + tracking[0]
        if create:
            if exists:
                raise RefExistsError(f"branch {name!r} already exists", f"switch to it with `brainvcs switch {name}`")
            if self.head() is not None or start != HEAD:
                self.create_branch(name, start)
        elif not exists:
            raise RevisionNotFoundError(f"no branch named {name!r}", f"create it with `brainvcs switch -c {name}`")
        with self.writing():
            self.refs.set_head_branch(name)
        return BranchInfo(name, self.refs.get(BRANCH_PREFIX + name) or ObjectId(""), True)

    def ref_labels(self) -> dict[str, list[str]]:
        """Commit id -> ref labels, as ``git log --decorate`` shows them (``HEAD -> main``, ``tag: v1``...)."""
        out: dict[str, list[str]] = {}
        head_branch = self.current_branch
        head = self.head()
        for name, sha in self.refs.branches().items():
            label = f"HEAD -> {name}" if name == head_branch else name
            out.setdefault(sha, []).insert(0 if name == head_branch else len(out.get(sha, [])), label)
        if head_branch is None and head is not None:
            out.setdefault(head, []).insert(0, "HEAD")
        for name, sha in self.tags().items():
            out.setdefault(sha, []).append(f"tag: {name}")
        for name, sha in self.refs.remote_branches().items():
            out.setdefault(sha, []).append(name)
        return out

    def tags(self) -> dict[str, ObjectId]:
        """Tag name -> the commit it names."""
        resolver = Resolver(self.refs, self.objects, self.graph)
        return {name: resolver.peel(sha, name) for name, sha in self.refs.tags().items()}

    def create_tag(self, name: str, rev: str = HEAD, *, message: str | None = None,
                   force: bool = False) -> ObjectId:
        """Tag a commit (annotated when ``message`` is given); returns the tagged commit."""
        check_ref_name(name, "tag")
        target = self.resolve(rev)
        with self.transaction("tag") as tx:
            existing = self.refs.get(TAG_PREFIX + name)
            if existing is not None and not force:
                raise RefExistsError(f"tag {name!r} already exists", "pick another name, or pass --force to move it")
            value = target
            if message is not None:
                tag = Tag()
                tag.name = name.encode("utf-8")
                tag.object = (Commit, target.encode("ascii"))
                tag.tagger = self.identity().encode("utf-8")
                tag.tag_time = now()
                tag.tag_timezone = 0
                tag.message = (message.strip("\n") + "\n").encode("utf-8")
                value = tx.add_object(tag)
            tx.move(TAG_PREFIX + name, existing, value, f"tag: {name}")
        return target

    def delete_tag(self, name: str) -> None:
        """Delete a tag."""
        sha = self.refs.get(TAG_PREFIX + name)
        if sha is None:
            raise RevisionNotFoundError(f"no tag named {name!r}")
        with self.writing():
            self.refs.delete(TAG_PREFIX + name, sha)

    def reset(self, rev: str) -> tuple[ObjectId | None, ObjectId]:
        """Move the current branch (or a detached HEAD) to ``rev``; returns (old tip, new tip).

        The old tip stays in the branch's reflog. brainvcs repositories are
        bare, so there is no index or working tree to reset: git's
        ``--soft``, ``--mixed`` and ``--hard`` all come to this.
        """
        target = self.resolve(rev)
        ref = self.refs.head_ref()
        with self.writing():
            old = self.refs.get(ref)
            if old != target:
                self.refs.move(ref, old, target, f"reset: moving to {rev}")
        return old, target

