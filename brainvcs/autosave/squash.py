"""``squash``: one commit in place of a run of autosaves, before sharing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import RevisionNotFoundError, UsageError
from ..storage.refs import BRANCH_PREFIX, check_ref_name
from ..repo import Repository
from ..storage.commits import CommitInfo
from ..storage.objects import ObjectId, oid
from ..storage.transaction import check_author
from .target import SEQ_TRAILER, SOURCE_TRAILER, is_autosave


@dataclass(frozen=True)
class SquashResult:
    """The commit that replaced a run of autosaves."""

    commit: CommitInfo
    branch: str
    onto: ObjectId
    previous_tip: ObjectId
    squashed: tuple[ObjectId, ...]

    def to_json(self) -> dict[str, Any]:
        """A stable JSON-ready dict."""
        return {"commit": self.commit.to_json(), "branch": self.branch, "onto": self.onto,
                "previous_tip": self.previous_tip, "squashed": list(self.squashed)}


def squash(repo: Repository, branch: str | None = None, *, onto: str, message: str,
           author: str | None = None) -> SquashResult:
    """Replace the autosaves on ``branch`` since ``onto`` by one commit with the same snapshot.

    Every commit reachable from the branch tip but not from ``onto`` must be
    an autosave (``Brain-Source: autosave``); the new commit has ``onto`` as
    its only parent and the tip's tree. The branch moves by compare-and-swap
    (:class:`RefConflict` if it moved meanwhile). The previous tip is returned:
    the squashed commits stay in the reflog until ``gc`` is told otherwise.
    """
    if not message.strip():
        raise UsageError("empty commit message", "pass -m MESSAGE")
    author = check_author(author or repo.identity())
    name = branch or repo.current_branch
    if name is None:
        raise UsageError("HEAD is detached: name the branch to squash")
    ref = name if name.startswith("refs/") else BRANCH_PREFIX + check_ref_name(name)
    tip = repo.refs.get(ref)
    if tip is None:
        raise RevisionNotFoundError(f"no branch named {name!r}")
    base = repo.resolve(onto)
    if base == tip:
        raise UsageError(f"nothing to squash: {name} is at {onto}")
    if not repo.is_ancestor(base, tip):
        raise UsageError(f"{onto} ({base[:7]}) is not an ancestor of {name}",
                         "squash onto a commit the branch's history contains, e.g. the branch it was autosaving")
    excluded = {info.id for info in repo.iter_log(base)}
    run = [info for info in repo.iter_log(tip) if info.id not in excluded]
    for info in run:
        if not is_autosave(info):
            raise UsageError(f"{info.id[:7]} ({info.summary!r}) is not an autosave; only autosaves are squashed",
                             "pick an --onto at or after that commit")
    seqs = sorted(int(s) for s in (info.trailers.get(SEQ_TRAILER, "") for info in run) if s.isdigit())
    span = f", seq {seqs[0]}..{seqs[-1]}" if seqs else ""
    summary = f"squashed {len(run)} autosave(s) of {name}{span}"
    tree = repo.commit_info(tip).tree
    fingerprint = repo.manifest(tip)["fingerprint"]
    with repo.transaction("squash") as tx:
        # Same tree, new parent: the snapshot is not re-encoded, so it is bit-for-bit the tip's.
        commit = tx.add_commit(tree, [base], message, author, fingerprint, trailers={SOURCE_TRAILER: "squash"},
                               summary=summary)
        tx.move(ref, tip, oid(commit.id), f"squash: {len(run)} autosave(s) onto {base[:12]}")
    return SquashResult(CommitInfo.from_commit(commit), name, base, tip, tuple(info.id for info in run))
