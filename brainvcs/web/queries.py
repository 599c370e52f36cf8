"""What the review page's JSON endpoints answer: the CLI's ``--json`` documents, built by the same API calls.

Kept apart from the ASGI app (:mod:`.app`) so that it needs no web library and
each answer can be checked against the API in tests. Every function takes an
open :class:`~brainvcs.api.Repository` and plain arguments and returns
JSON-ready values; errors are the API's own exceptions.
"""

from __future__ import annotations

import heapq
from typing import Any

from ..api import Repository
from ..diff import to_json
from ..diff.api import commit_diff_json
from ..diff.markdown import float_changes, histogram_bins
from ..errors import UsageError
from ..query import to_jsonable, value_at

__all__ = ["LOG_LIMIT", "diff_json", "histogram_json", "log_json", "merge_preview_json", "overview_json",
           "show_json", "topo_order", "value_json"]

#: Most commits the history panel lists (newest first).
LOG_LIMIT = 500


def overview_json(repo: Repository) -> dict[str, Any]:
    """HEAD, the current branch, branches, tags and remote-tracking branches with their commits."""
    return {
        "head": repo.head(), "branch": repo.current_branch,
        "branches": dict(repo.refs.branches()), "tags": dict(repo.tags()),
        "remotes": dict(repo.refs.remote_branches()), "labels": repo.ref_labels(),
    }


def log_json(repo: Repository, revs: list[str], limit: int = LOG_LIMIT) -> list[dict[str, Any]]:
    """Commits reachable from ``revs`` (all branches and tags if empty), newest first, as ``log --json``."""
    heads = revs or [*repo.refs.branches().values(), *repo.tags().values()]
    seen: dict[str, dict[str, Any]] = {}
    for rev in heads:
        for info in repo.log(rev, max_count=limit):
            seen.setdefault(info.id, info.to_json())
    return topo_order(list(seen.values()))[:limit]


def topo_order(commits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Commits newest first with every child before its parents (ties: later commit time, then id).

    Commit times alone do not order a history (a scripted brain commits many
    times a second); the page's graph needs children first to draw its lanes.
    """
    by_id = {c["id"]: c for c in commits}
    children = {c["id"]: 0 for c in commits}
    for c in commits:
        for parent in c["parents"]:
            if parent in children:
                children[parent] += 1
    ready = [(-c["commit_time"], c["id"]) for c in commits if children[c["id"]] == 0]
    heapq.heapify(ready)
    out: list[dict[str, Any]] = []
    while ready:
        _, cid = heapq.heappop(ready)
        commit = by_id[cid]
        out.append(commit)
        for parent in commit["parents"]:
            if parent in children:
                children[parent] -= 1
                if children[parent] == 0:
                    heapq.heappush(ready, (-by_id[parent]["commit_time"], parent))
    return out


def show_json(repo: Repository, rev: str) -> dict[str, Any]:
    """``show --json``: the commit, its manifest, and its diff against its first parent."""
    info = repo.commit_info(rev)
    return {"commit": info.to_json(), "manifest": repo.manifest(info.id), "diff": commit_diff_json(repo, info.id)}


def diff_json(repo: Repository, a: str | None, b: str, *, module: str | None = None, path: str | None = None,
              limit: int | None = 10) -> dict[str, Any]:
    """``diff --json`` of A and B, optionally one module or one path."""
    result = repo.diff(a, b, modules=[module] if module else None, path=path or None)
    return to_json(result, limit=limit)


def histogram_json(repo: Repository, a: str | None, b: str, bins: int = 24) -> dict[str, Any]:
    """Every float change (weights, thresholds...) from A to B, counted in equal bins."""
    deltas = float_changes(repo.diff(a, b))
    low, high, counts = histogram_bins(deltas, bins)
    return {"count": len(deltas), "low": low, "high": high, "counts": counts}


def value_json(repo: Repository, rev: str, path: str) -> Any:
    """The value at ``path`` in ``rev``'s snapshot (``show REV:PATH``)."""
    return to_jsonable(value_at(repo, rev, path))


def merge_preview_json(repo: Repository, into: str, source: str) -> dict[str, Any]:
    """``merge --dry-run``: merging ``source`` into branch ``into``; nothing is written."""
    if into not in repo.refs.branches():
        raise UsageError(f"{into!r} is not a branch", "preview a merge into one of the branches")
    return repo.merge(source, dry_run=True, into=into).to_json()
