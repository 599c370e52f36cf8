"""The remote API: clone, fetch, pull, push, ls-remote and sync (and the remote config verbs).

Every verb is one function with the CLI's name and option names. The rules
that keep results honest:

- objects land (one pack, fsynced) before any ref moves, and every ref moves
  by compare-and-swap under the repository lock;
- a remote-tracking ref ``refs/remotes/<remote>/<branch>`` moves after a
  successful fetch, and after a push only for the refs the server accepted —
  dulwich reports a server-side refusal only in the per-ref status, so each
  ref's status is checked;
- a push that would lose the remote's commits (non-fast-forward) is refused
  on this side unless forced, and any refused ref makes the push raise
  :class:`~brainvcs.errors.PushRejectedError` after the accepted ones are recorded;
- ``sync`` loops fetch → merge → push until the push lands, so neither side's
  learning is lost when the remote moves in between.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from dulwich.refs import Ref

from ..errors import BrainVCSError, RemoteError, RepositoryExistsError, RevisionNotFoundError, UsageError
from ..storage.refs import BRANCH_PREFIX, REMOTE_PREFIX, check_ref_name
from ..repo import Repository
from ..storage.objects import ObjectId
from .config import (Remote, remote_add, remote_get, remote_list, remote_remove, remote_rename, remote_url,
                     set_upstream, tracking_ref, upstream)
from .progress import ProgressFn
from .fetch import (FetchResult, LsRemoteResult, RefUpdate, config_stack, working_dir, fetch_url, fetch,
                    ls_remote)
from .push import PushRefResult, PushResult, is_ancestor, push_refs
from .urls import directory_name, parse_url

__all__ = [
    "FetchResult", "LsRemoteResult", "PullResult", "PushRefResult", "PushResult", "RefUpdate", "Remote",
    "SyncResult", "clone", "fetch", "ls_remote", "pull", "push", "remote_add", "remote_get", "remote_list",
    "remote_remove", "remote_rename", "sync",
]

#: Reasons a push may fail only because the remote moved; ``sync`` retries on these.
RETRYABLE = ("non-fast-forward", "fetch first", "stale info", "failed to lock", "cannot lock",
             "failed to update ref", "incorrect old value")


@dataclass(frozen=True)
class PullResult:
    """What :func:`pull` did to a local branch."""

    branch: str
    remote: str
    remote_branch: str
    status: Literal["up-to-date", "fast-forward", "merged", "created"]
    old: ObjectId | None
    new: ObjectId
    fetch: FetchResult | None = None

    def line(self) -> str:
        """What ``pull`` prints: how the remote's learning came in."""
        source = f"{self.remote}/{self.remote_branch}"
        if self.status == "up-to-date":
            return f"Already up to date with {source} ({self.new[:7]})."
        if self.status == "fast-forward":
            return f"Fast-forward {self.branch} {(self.old or '')[:7]}..{self.new[:7]} from {source}"
        if self.status == "created":
            return f"Created {self.branch} at {self.new[:7]} from {source}"
        return f"Merged {source} into {self.branch}: {self.new[:7]}"

    def to_json(self) -> dict[str, Any]:
        """A stable JSON-ready dict."""
        return {"branch": self.branch, "remote": self.remote, "remote_branch": self.remote_branch,
                "status": self.status, "old": self.old, "new": self.new,
                "fetch": self.fetch.to_json() if self.fetch else None}


@dataclass(frozen=True)
class SyncResult:
    """What :func:`sync` did: the integrations it made, the push that landed, how many rounds it took."""

    branch: str
    remote: str
    attempts: int
    status: Literal["up-to-date", "pushed"]
    pulls: list[PullResult] = field(default_factory=list)
    push: PushResult | None = None

    @property
    def head(self) -> ObjectId | None:
        """Where the branch ended up (the same commit locally and on the remote)."""
        return self.pulls[-1].new if self.pulls else (self.push.refs[0].new if self.push and self.push.refs else None)

    def lines(self) -> list[str]:
        """What ``sync`` prints: each integration, the push's ref lines, and where the branch ended."""
        out = [step.line() for step in self.pulls if step.status != "up-to-date"]
        if self.push is not None:
            out.extend(ref.line() for ref in self.push.refs)
        where = f" at {self.head[:7]}" if self.head else ""
        rounds = f" after {self.attempts} rounds" if self.attempts > 1 else ""
        out.append(f"{self.branch} is in sync with {self.remote}{where}{rounds}.")
        return out

    def to_json(self) -> dict[str, Any]:
        """A stable JSON-ready dict."""
        return {"branch": self.branch, "remote": self.remote, "attempts": self.attempts, "status": self.status,
                "pulls": [p.to_json() for p in self.pulls], "push": self.push.to_json() if self.push else None}


# Helpers ------------------------------------------------------------------------


# Fetch, pull, ls-remote ------------------------------------------------------------


def _current_branch(repo: Repository, branch: str | None) -> str:
    if branch is not None:
        return check_ref_name(branch)
    current = repo.current_branch
    if current is None:
        raise UsageError("HEAD is detached: there is no branch to pull into or push",
                         "switch to a branch first (brainvcs switch NAME), or name the branch")
    return current


def integrate(repo: Repository, branch: str, remote: str, remote_branch: str, *,
              strategy: str | None = None, on_conflict: str | None = None) -> PullResult:
    """Bring ``refs/remotes/<remote>/<remote_branch>`` into local ``branch``: fast-forward, or a semantic merge.

    ``strategy`` goes to the merge engine (``mean``/``max``/``min`` for floats
    changed on both sides; ``ours``/``theirs`` also settle any other conflict).
    ``on_conflict`` (``ours``/``theirs``) settles only what would conflict,
    leaving every other default as it is.
    """
    theirs_ref = tracking_ref(remote, remote_branch)
    theirs = repo.refs.get(theirs_ref)
    if theirs is None:
        raise RevisionNotFoundError(f"remote {remote!r} has no branch {remote_branch!r}",
                                    f"push it first (brainvcs push {remote} {branch}), or see `brainvcs ls-remote {remote}`")
    local = BRANCH_PREFIX + branch
    with repo.writing():
        ours = repo.refs.get(local)
        if ours is not None and (ours == theirs or is_ancestor(repo, theirs, ours)):
            return PullResult(branch, remote, remote_branch, "up-to-date", ours, ours)
        if ours is None or is_ancestor(repo, ours, theirs):
            repo.check_snapshot(theirs)  # the branch adopts their snapshot unread: read it first
            if ours is None:
                repo.refs.move(local, None, theirs, f"pull {remote}: created from {remote}/{remote_branch}")
                return PullResult(branch, remote, remote_branch, "created", None, theirs)
            repo.refs.move(local, ours, theirs, f"pull {remote}: fast-forward")
            return PullResult(branch, remote, remote_branch, "fast-forward", ours, theirs)
        merged = merge_diverged(repo, branch, f"{remote}/{remote_branch}", ours, strategy=strategy,
                                on_conflict=on_conflict)
    return PullResult(branch, remote, remote_branch, "merged", ours, merged)


def merge_diverged(repo: Repository, branch: str, theirs: str, ours: ObjectId, *,
                   strategy: str | None = None, on_conflict: str | None = None) -> ObjectId:
    """Merge the remote-tracking ref ``theirs`` into local ``branch`` with the semantic merge engine.

    The engine (:func:`brainvcs.merge.api.merge`) commits a merge with parents
    ``[ours, theirs]`` on ``branch`` by compare-and-swap; its conflicts
    (MergeConflictError) propagate unchanged, and then no ref has moved.
    """
    try:
        from ..merge import api as merge_api
    except ImportError:  # an installation without the merge package can still fast-forward
        raise BrainVCSError(f"{branch} and {theirs} have diverged and this installation has no merge engine",
                            "merge them by hand: check out both states, combine, and commit with both parents") from None
    result = merge_api.merge(repo, theirs, into=branch, strategy=strategy, on_conflict=on_conflict,
                             message=f"Merge {theirs} into {branch}")
    tip = result.tip
    if tip is None or tip == ours:
        raise BrainVCSError(f"merging {theirs} into {branch} left the branch at {ours[:12]} ({result.status})")
    return tip


def pull(repo: Repository, remote: str = "origin", branch: str | None = None, *, strategy: str | None = None,
         progress: ProgressFn | None = None) -> PullResult:
    """Fetch, then fast-forward ``branch`` (default: the current one) or merge the remote's learning into it."""
    branch = _current_branch(repo, branch)
    fetched = fetch(repo, remote, progress=progress)
    result = integrate(repo, branch, remote, upstream(repo, branch, remote), strategy=strategy)
    return PullResult(result.branch, result.remote, result.remote_branch, result.status, result.old, result.new,
                      fetched)


# Push and sync -------------------------------------------------------------------------

def push(repo: Repository, remote: str = "origin", refspecs: list[str] | None = None, *, force: bool = False,
         set_upstream_branch: bool = False, progress: ProgressFn | None = None) -> PushResult:
    """Send local refs to the remote; per-ref results; PushRejectedError if any ref was refused.

    ``refspecs`` are git's (``main``, ``main:other``, ``+main``, ``:gone``);
    the default pushes the current branch to the same name. ``force`` allows
    non-fast-forward updates for every ref (``+`` does it for one).
    """
    config = remote_get(repo, remote)
    url = remote_url(repo, config)
    specs = refspecs if refspecs else [_current_branch(repo, None)]
    result = push_refs(repo, remote, url, specs, force=force, progress=progress,
                       config=config_stack(repo), cwd=working_dir(repo))
    if set_upstream_branch:
        for ref in result.refs:
            if ref.ok and ref.src and ref.src.startswith(BRANCH_PREFIX) and ref.dst.startswith(BRANCH_PREFIX):
                set_upstream(repo, ref.src[len(BRANCH_PREFIX):], remote, ref.dst[len(BRANCH_PREFIX):])
    return result


def sync(repo: Repository, remote: str = "origin", branch: str | None = None, *, attempts: int = 5,
         strategy: str | None = None, on_conflict: str | None = None,
         progress: ProgressFn | None = None) -> SyncResult:
    """Fetch, merge and push ``branch`` until the remote and the local branch hold one brain with both learnings.

    A push refused because the remote moved after the fetch (another machine
    synced first) starts the next round; after ``attempts`` rounds the last
    PushRejectedError is raised. Nothing is ever forced. ``strategy`` is
    passed to each merge (see :func:`integrate`); a merge conflict stops the
    sync with MergeConflictError and moves no ref, unless ``on_conflict``
    (``ours``/``theirs``) settles it.
    """
    if attempts < 1:
        raise UsageError(f"attempts must be at least 1, not {attempts}")
    branch = _current_branch(repo, branch)
    if repo.refs.get(BRANCH_PREFIX + branch) is None:
        raise RevisionNotFoundError(f"branch {branch!r} has no commits to sync",
                                    f"commit first, or pull it: brainvcs pull {remote} {branch}")
    remote_branch = upstream(repo, branch, remote)
    pulls: list[PullResult] = []
    last_error: BrainVCSError | None = None
    for attempt in range(1, attempts + 1):
        fetched = fetch(repo, remote, progress=progress)
        if repo.refs.get(tracking_ref(remote, remote_branch)) is not None:
            step = integrate(repo, branch, remote, remote_branch, strategy=strategy, on_conflict=on_conflict)
            pulls.append(PullResult(step.branch, step.remote, step.remote_branch, step.status, step.old,
                                    step.new, fetched))
        local = repo.refs.get(BRANCH_PREFIX + branch)
        if local is not None and local == repo.refs.get(tracking_ref(remote, remote_branch)):
            return SyncResult(branch, remote, attempt, "up-to-date", pulls, None)
        try:
            pushed = push(repo, remote, [f"{BRANCH_PREFIX}{branch}:{BRANCH_PREFIX}{remote_branch}"],
                          progress=progress)
        except RemoteError as exc:
            reasons = getattr(exc, "rejected", {}) or {}
            if not reasons or not all(any(r in why for r in RETRYABLE) for why in reasons.values()):
                raise
            last_error = exc
            continue
        return SyncResult(branch, remote, attempt, "pushed", pulls, pushed)
    assert last_error is not None
    raise last_error


# Clone ---------------------------------------------------------------------------------

def clone(url: str, path: str | os.PathLike[str] | None = None, *, branch: str | None = None,
          depth: int | None = None, remote: str = "origin", progress: ProgressFn | None = None) -> Repository:
    """Copy a remote brain repository into a new bare repository at ``path``; returns it open.

    Like ``git clone --bare`` plus remote-tracking refs: ``refs/remotes/<remote>/*``
    for every remote branch, a local branch for ``branch`` (default: the
    remote's HEAD) with its upstream set, and HEAD on it. A password in
    ``url`` is used for this clone only and is not stored. On failure the new
    directory is removed: nothing is half-written.
    """
    parsed = parse_url(url)
    target = Path(path) if path is not None else Path.cwd() / directory_name(parsed)
    existed = target.exists()
    if existed and (not target.is_dir() or any(target.iterdir())):
        raise RepositoryExistsError(f"{target} exists and is not empty", "clone into a new or empty directory")
    if branch is not None:
        check_ref_name(branch)
    repo = Repository.init(target)
    try:
        stored = parsed.for_config()
        with repo.writing():
            config = repo.git.get_config()
            section = (b"remote", remote.encode("utf-8"))
            config.set(section, b"url", stored.encode("utf-8"))
            config.set(section, b"fetch", f"+refs/heads/*:{REMOTE_PREFIX}{remote}/*".encode("utf-8"))
            config.write_to_path()
        fetched = fetch_url(repo, remote, parsed, depth=depth, progress=progress)
        _checkout_default(repo, remote, fetched, branch)
    except BaseException:
        repo.close()
        if existed:
            for child in target.iterdir():
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        else:
            shutil.rmtree(target, ignore_errors=True)
        raise
    return repo


def _checkout_default(repo: Repository, remote: str, fetched: FetchResult, branch: str | None) -> None:
    branches = {u.remote_ref[len(BRANCH_PREFIX):] for u in fetched.updates if u.remote_ref.startswith(BRANCH_PREFIX)}
    if branch is not None and branch not in branches:
        raise RevisionNotFoundError(f"remote branch {branch!r} not found in {fetched.url}",
                                    "see `brainvcs ls-remote URL` for the branches it has")
    # The remote's HEAD when it names a branch it has (`git init --bare` leaves HEAD on a `master`
    # that may never exist), else `main`, else the only branch; with several, none is guessed.
    fallback = "main" if "main" in branches else (next(iter(branches)) if len(branches) == 1 else None)
    chosen = branch or (fetched.head if fetched.head in branches else fallback)
    if chosen is None:
        return  # an empty remote, or several branches and no usable HEAD: HEAD stays unborn
    with repo.writing():
        if chosen in branches:
            tip = repo.refs.get(tracking_ref(remote, chosen))
            assert tip is not None
            existing = repo.refs.get(BRANCH_PREFIX + chosen)
            if existing != tip:
                repo.refs.move(BRANCH_PREFIX + chosen, existing, tip, f"clone: from {fetched.url}")
        repo.refs.set_head_branch(chosen)
        if fetched.head is not None and fetched.head in branches:
            repo.git.refs.set_symbolic_ref(Ref(f"{REMOTE_PREFIX}{remote}/HEAD".encode("utf-8")),
                                           Ref(tracking_ref(remote, fetched.head).encode("utf-8")))
    if chosen in branches:
        set_upstream(repo, chosen, remote, chosen)

