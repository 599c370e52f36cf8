"""CLI tests for verify and gc (results checked through the API)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from brainvcs import Repository
from brainvcs.snapshot import layout
from brainvcs.storage.objects import pack_count
from tests.conftest import run_cli, sample_state
from tests.test_verify import brain_state, commit_tree, node, put, shard_of


@pytest.fixture
def repo_dir(tmp_path: Path) -> Path:
    """A repository with three commits and a branch (made through the API)."""
    with Repository.init(tmp_path / "brain") as repo:
        for step in range(3):
            repo.commit(sample_state(step), f"step {step}", timestamp=1_700_000_000 + step)
        repo.create_branch("old", "HEAD~2")
    return tmp_path / "brain"


def test_verify_ok(repo_dir: Path) -> None:
    with Repository.open(repo_dir) as repo:
        report = repo.verify()
    assert report.ok and report.commits == 3
    result = run_cli("verify", "-C", repo_dir)
    assert (result.exit_code, result.output) == (
        0, f"verified 3 commit(s), 3 snapshot(s), {report.objects} object read(s): ok\n")
    doc = json.loads(run_cli("verify", "-C", repo_dir, "--json").output)
    assert doc == report.to_json()
    one = run_cli("verify", "-C", repo_dir, "old", "--json")
    assert (one.exit_code, json.loads(one.output)["commits"]) == (0, 1)


def test_verify_exits_9_on_a_corrupted_repository(tmp_path: Path) -> None:
    with Repository.init(tmp_path / "brain") as repo:
        repo.commit(brain_state(), "good")
        snapshot = layout.build(brain_state())
        path = shard_of("w0007")
        put(snapshot.tree, path, node(snapshot.tree, path).replace(b"7", b"8", 1))
        bad = commit_tree(repo, snapshot.tree, "bad", fingerprint=snapshot.fingerprint)
        report = repo.verify()
    assert len(report.problems) == 1
    result = run_cli("verify", "-C", tmp_path / "brain")
    assert result.exit_code == 9
    lines = result.output.splitlines()
    assert lines[0] == f"problem: {report.problems[0]}"
    assert lines[0].startswith(f"problem: commit {bad[:12]}: {path}: BLAKE3 digest mismatch")
    assert lines[1] == f"verified 2 commit(s), 2 snapshot(s), {report.objects} object read(s): 1 problem(s)"
    as_json = run_cli("verify", "-C", tmp_path / "brain", "--json")
    assert as_json.exit_code == 9
    assert json.loads(as_json.stdout) == report.to_json()
    good_only = run_cli("verify", "-C", tmp_path / "brain", "main")
    assert good_only.exit_code == 0
    checkout = run_cli("checkout", "-C", tmp_path / "brain", "bad")
    assert checkout.exit_code == 9
    assert checkout.stdout == ""
    assert checkout.stderr.startswith(f"error: {path}: BLAKE3 digest mismatch")


def test_gc(repo_dir: Path) -> None:
    with Repository.open(repo_dir) as repo:
        assert pack_count(repo.objects) == 3
        objects = set(iter(repo.objects))
    result = run_cli("gc", "-C", repo_dir)
    assert result.exit_code == 0
    assert result.output.startswith(f"packs 3 -> 1, kept {len(objects)} objects, dropped 0; ")
    with Repository.open(repo_dir) as repo:
        assert pack_count(repo.objects) == 1
        assert set(iter(repo.objects)) == objects
        assert repo.checkout("old") == sample_state(0)
        assert repo.verify().ok
    doc = json.loads(run_cli("gc", "-C", repo_dir, "--json", "--no-prune").output)
    assert (doc["packs_before"], doc["packs_after"], doc["objects_kept"], doc["objects_dropped"]) == (
        1, 1, len(objects), 0)
    doc = json.loads(run_cli("gc", "-C", repo_dir, "--json", "--aggressive").output)
    assert (doc["packs_after"], doc["objects_kept"], doc["objects_dropped"]) == (1, len(objects), 0)
    with Repository.open(repo_dir) as repo:
        assert repo.checkout("old") == sample_state(0)


def test_gc_prunes_a_deleted_branch(repo_dir: Path) -> None:
    with Repository.open(repo_dir) as repo:
        side = repo.commit(sample_state(9), "side", branch="old").commit
    assert side is not None
    assert run_cli("branch", "-C", repo_dir, "-D", "old").exit_code == 0
    doc = json.loads(run_cli("gc", "-C", repo_dir, "--json").output)
    assert doc["objects_dropped"] > 0
    with Repository.open(repo_dir) as repo:
        assert side.id.encode() not in repo.objects
        assert repo.verify().ok
