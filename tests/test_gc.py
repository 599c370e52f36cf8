"""Tests for brainvcs.storage.gc: pack consolidation and pruning of unreachable objects."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path
from typing import Any

import pytest
from dulwich.objects import Blob

from brainvcs import Repository
from brainvcs.storage import gc
from brainvcs.storage.gc import GcReport
from brainvcs.storage.graph import CommitGraph
from brainvcs.storage.objects import oid, pack_count
from tests.conftest import git


def state(step: int) -> dict[str, Any]:
    """A brain that changes a little at every step (a sharded map and a growing list)."""
    return {
        "language_module": {"word_frequency": {f"w{i:04d}": i + (step if i % 97 == 0 else 0) for i in range(1100)}},
        "brain_history": [{"step": s} for s in range(step + 1)],
        "cognitive_metrics": {"step": step},
    }


def all_objects(repo: Repository) -> set[bytes]:
    """Every object id in the store (packed and loose)."""
    return set(iter(repo.objects))


def reachable(repo: Repository) -> set[bytes]:
    """Object ids reachable from every ref and HEAD."""
    heads = {sha.encode() for sha in repo.refs.all().values()}
    head = repo.head()
    if head is not None:
        heads.add(head.encode())
    return set(CommitGraph(repo.objects).reachable_objects([oid(h) for h in heads]))


def commit_steps(repo: Repository, steps: range, branch: str | None = None) -> dict[str, int]:
    """Commit ``state(step)`` for each step; return commit id -> step."""
    ids = {}
    for step in steps:
        result = repo.commit(state(step), f"step {step}", branch=branch, timestamp=1_700_000_000 + step)
        assert result.commit is not None
        ids[result.commit.id] = step
    return ids


def fsck(repo: Repository) -> subprocess.CompletedProcess[str]:
    """``git fsck --strict`` on the repository."""
    assert repo.gitdir is not None
    return git("--git-dir", repo.gitdir, "fsck", "--strict", "--no-dangling", check=False)


def test_gc_leaves_one_pack_and_keeps_every_reachable_commit(repo: Repository) -> None:
    ids = commit_steps(repo, range(5))
    repo.create_tag("v1", "HEAD~3", message="annotated")
    assert pack_count(repo.objects) == 6  # one per commit, one for the tag object
    everything = all_objects(repo)
    assert reachable(repo) == everything
    report = repo.gc()
    assert (report.packs_before, report.packs_after) == (6, 1)
    assert (report.objects_kept, report.objects_dropped) == (len(everything), 0)
    assert report.bytes_after < report.bytes_before  # successive shard versions delta against each other
    assert report.to_json() == dataclasses.asdict(report)
    assert report.to_json()["packs_after"] == 1
    assert pack_count(repo.objects) == 1
    assert all_objects(repo) == everything
    for commit_id, step in ids.items():
        assert repo.checkout(commit_id) == state(step)
    assert repo.tags() == {"v1": repo.resolve("HEAD~3")}
    assert repo.verify().ok
    # Running it again has nothing to do but rewrite the one pack.
    again = repo.gc()
    assert (again.packs_before, again.packs_after, again.objects_kept, again.objects_dropped) == (
        1, 1, len(everything), 0)


def test_gc_drops_the_objects_of_a_deleted_branch(repo: Repository) -> None:
    commit_steps(repo, range(2))
    repo.create_branch("doomed")
    side = commit_steps(repo, range(10, 13), branch="doomed")
    before = all_objects(repo)
    repo.delete_branch("doomed", force=True)
    keep = reachable(repo)
    assert not any(sha.encode() in keep for sha in side)
    report = repo.gc()
    assert report.objects_dropped == len(before - keep) > 0
    assert report.objects_kept == len(keep)
    assert all_objects(repo) == keep
    assert pack_count(repo.objects) == 1
    assert repo.checkout() == state(1)
    assert repo.verify().ok


def test_gc_without_prune_keeps_unreachable_objects(repo: Repository) -> None:
    commit_steps(repo, range(2))
    stray = Blob.from_string(b"written by an interrupted commit\n")
    repo.objects.add_object(stray)  # loose and unreachable
    before = all_objects(repo)
    report = repo.gc(prune=False)
    assert (report.objects_kept, report.objects_dropped, report.packs_after) == (len(before), 0, 1)
    assert all_objects(repo) == before
    assert list(repo.objects._iter_loose_objects()) == []  # now inside the pack
    pruned = repo.gc()
    assert pruned.objects_dropped == 1
    assert stray.id not in repo.objects


def test_git_fsck_is_clean_after_gc(repo: Repository) -> None:
    commit_steps(repo, range(3))
    repo.create_branch("other", "HEAD~1")
    repo.create_tag("v1", message="release")
    before = fsck(repo)
    assert (before.returncode, before.stdout) == (0, "")
    repo.gc()
    after = fsck(repo)
    assert after.returncode == 0, after.stderr
    assert after.stdout == ""
    assert "error" not in after.stderr.lower()
    assert git("--git-dir", repo.gitdir or "", "count-objects", "-v").stdout.splitlines()[:1] == ["count: 0"]


def test_aggressive_gc_widens_c_gits_delta_window(repo: Repository, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    ids = commit_steps(repo, range(6))
    trace = tmp_path / "trace"
    monkeypatch.setenv("GIT_TRACE", str(trace))  # C git logs each command it runs
    repo.gc()
    assert "--window=50" in trace.read_text() and "--window=250" not in trace.read_text()
    trace.unlink()
    report = repo.gc(aggressive=True)
    assert "--window=250" in trace.read_text()
    assert (report.packs_after, report.objects_dropped) == (1, 0)
    for commit_id, step in ids.items():
        assert repo.checkout(commit_id) == state(step)
    assert fsck(repo).returncode == 0
    assert repo.verify().ok


def test_commits_consolidate_packs_over_the_limit(repo: Repository, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gc, "AUTO_PACK_LIMIT", 4)
    monkeypatch.setattr(gc, "AUTO_PACK_MERGE", 3)
    counts = []
    ids: dict[str, int] = {}
    for step in range(8):
        ids.update(commit_steps(repo, range(step, step + 1)))
        counts.append(pack_count(repo.objects))
    # 5 packs > 4: the 3 smallest become 1 (-> 3); again at the 7th commit.
    assert counts == [1, 2, 3, 4, 3, 4, 3, 4]
    assert all_objects(repo) == reachable(repo)
    for commit_id, step in ids.items():
        assert repo.checkout(commit_id) == state(step)
    assert repo.verify().ok


def test_consolidate_directly(repo: Repository) -> None:
    commit_steps(repo, range(4))
    before = all_objects(repo)
    assert gc.consolidate(repo.objects, limit=4) is False
    assert pack_count(repo.objects) == 4
    assert gc.consolidate(repo.objects, limit=2, merge=4) is True
    assert pack_count(repo.objects) == 1
    assert all_objects(repo) == before


def test_gc_of_a_memory_repository_does_nothing(mem_repo: Repository) -> None:
    commit_steps(mem_repo, range(2))
    assert mem_repo.gc() == GcReport(0, 0, 0, 0, 0, 0)
    assert gc.consolidate(mem_repo.objects, limit=0) is False
    assert mem_repo.checkout() == state(1)


def test_gc_keeps_a_clone_readable(repo: Repository, tmp_path: Path) -> None:
    ids = commit_steps(repo, range(3))
    repo.gc()
    assert repo.gitdir is not None
    git("clone", "-q", "--bare", repo.gitdir, tmp_path / "clone.git")
    with Repository.open(tmp_path / "clone.git") as clone:
        for commit_id, step in ids.items():
            assert clone.checkout(commit_id) == state(step)


def test_gc_recompresses_what_commits_stored_fast(tmp_path: Path) -> None:
    import numpy as np

    from brainvcs.storage.packs import SAMPLE_ABOVE

    # Noise where a commit samples it, zeros after: stored at level 0 by the commit, tiny once deflated.
    tensor = np.zeros(SAMPLE_ABOVE, dtype=np.float64)
    tensor[:4096] = np.random.default_rng(1).random(4096)
    repo = Repository.init(tmp_path / "r")
    repo.commit({"t": {"weights": tensor}}, "tensors")
    packs = tmp_path / "r" / "objects" / "pack"
    before = sum(p.stat().st_size for p in packs.glob("*.pack"))
    assert before > tensor.nbytes  # stored, not deflated
    repo.gc()
    after = sum(p.stat().st_size for p in packs.glob("*.pack"))
    assert after < before / 8  # gc deflated it
    assert np.array_equal(repo.checkout()["t"]["weights"], tensor)
    subprocess.run(["git", "--git-dir", str(tmp_path / "r"), "fsck", "--strict"], check=True, capture_output=True)
