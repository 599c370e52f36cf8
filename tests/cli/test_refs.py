"""CLI tests for branch, switch and tag (results checked through the API)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from brainvcs import Repository
from tests.conftest import run_cli, sample_state


@pytest.fixture
def repo_dir(tmp_path: Path) -> Path:
    """A repository with two commits on main (made through the API)."""
    with Repository.init(tmp_path / "brain") as repo:
        repo.commit(sample_state(0), "one", timestamp=1_700_000_000)
        repo.commit(sample_state(1), "two", timestamp=1_700_000_001)
    return tmp_path / "brain"


def ids(repo_dir: Path) -> tuple[str, str]:
    """(HEAD~1, HEAD) of main."""
    with Repository.open(repo_dir) as repo:
        return repo.resolve("main~1"), repo.resolve("main")


def test_branch_create_list_and_json(repo_dir: Path) -> None:
    old, new = ids(repo_dir)
    created = run_cli("branch", "-C", repo_dir, "alice/exp", "HEAD~1")
    assert (created.exit_code, created.output) == (0, f"Created branch alice/exp at {old[:7]}\n")
    as_json = run_cli("branch", "-C", repo_dir, "topic", "--json")
    assert json.loads(as_json.output) == {"name": "topic", "commit": new, "current": False, "previous": None}
    listing = run_cli("branch", "-C", repo_dir)
    assert listing.output.splitlines() == [f"  alice/exp  {old[:7]}", f"* main  {new[:7]}", f"  topic  {new[:7]}"]
    doc = json.loads(run_cli("branch", "-C", repo_dir, "--json").output)
    assert doc == [{"name": "alice/exp", "commit": old, "current": False},
                   {"name": "main", "commit": new, "current": True},
                   {"name": "topic", "commit": new, "current": False}]
    with Repository.open(repo_dir) as repo:
        assert repo.refs.branches() == {"alice/exp": old, "main": new, "topic": new}


def test_branch_exists_force_and_invalid_names(repo_dir: Path) -> None:
    old, new = ids(repo_dir)
    run_cli("branch", "-C", repo_dir, "topic")
    again = run_cli("branch", "-C", repo_dir, "topic", "HEAD~1")
    assert again.exit_code == 5
    assert again.stderr.startswith("error: branch 'topic' already exists\n")
    moved = run_cli("branch", "-C", repo_dir, "topic", "HEAD~1", "--force")
    assert moved.exit_code == 0
    for bad in ("bad name", "a..b", "-x", "x.lock", "HEAD"):
        result = run_cli("branch", "-C", repo_dir, "--", bad) if bad.startswith("-") else \
            run_cli("branch", "-C", repo_dir, bad)
        assert result.exit_code == 2, bad
        assert result.stderr.startswith(f"error: invalid branch name {bad!r}: it "), result.output
    with Repository.open(repo_dir) as repo:
        assert repo.refs.branches() == {"main": new, "topic": old}


def test_branch_delete(repo_dir: Path) -> None:
    old, new = ids(repo_dir)
    run_cli("branch", "-C", repo_dir, "merged", "HEAD~1")
    deleted = run_cli("branch", "-C", repo_dir, "-d", "merged")
    assert (deleted.exit_code, deleted.output) == (0, f"Deleted branch merged (was {old[:7]}).\n")
    current = run_cli("branch", "-C", repo_dir, "-d", "main")
    assert current.exit_code == 2
    assert current.stderr.startswith("error: cannot delete the current branch 'main'\n")
    with Repository.open(repo_dir) as repo:
        repo.create_branch("side", "HEAD~1")
        side = repo.commit(sample_state(7), "side only", branch="side").commit
    assert side is not None
    unmerged = run_cli("branch", "-C", repo_dir, "-d", "side")
    assert unmerged.exit_code == 2
    assert "has commits that no other branch contains" in unmerged.stderr
    forced = run_cli("branch", "-C", repo_dir, "-D", "side")
    assert (forced.exit_code, forced.output) == (0, f"Deleted branch side (was {side.id[:7]}).\n")
    missing = run_cli("branch", "-C", repo_dir, "-d", "ghost")
    assert missing.exit_code == 5
    no_name = run_cli("branch", "-C", repo_dir, "-d")
    assert no_name.exit_code == 2
    with Repository.open(repo_dir) as repo:
        assert repo.refs.branches() == {"main": new}


def test_switch_and_switch_create(repo_dir: Path) -> None:
    old, new = ids(repo_dir)
    created = run_cli("switch", "-C", repo_dir, "-c", "topic", "HEAD~1")
    assert (created.exit_code, created.output) == (0, "Switched to a new branch 'topic'\n")
    with Repository.open(repo_dir) as repo:
        assert repo.current_branch == "topic" and repo.head() == old
        result = repo.commit(sample_state(5), "on topic")
        assert result.ref == "refs/heads/topic"
    back = run_cli("switch", "-C", repo_dir, "main", "--json")
    assert json.loads(back.output) == {"name": "main", "commit": new}
    missing = run_cli("switch", "-C", repo_dir, "ghost")
    assert missing.exit_code == 5
    assert missing.stderr.splitlines() == ["error: no branch named 'ghost'",
                                           "hint: create it with `brainvcs switch -c ghost`"]
    exists = run_cli("switch", "-C", repo_dir, "-c", "topic")
    assert exists.exit_code == 5
    bad = run_cli("switch", "-C", repo_dir, "-c", "a b")
    assert bad.exit_code == 2
    with Repository.open(repo_dir) as repo:
        assert repo.current_branch == "main"


def test_tags(repo_dir: Path) -> None:
    old, new = ids(repo_dir)
    light = run_cli("tag", "-C", repo_dir, "v1", "HEAD~1")
    assert (light.exit_code, light.output) == (0, f"Tagged {old[:7]} as v1\n")
    annotated = run_cli("tag", "-C", repo_dir, "v2", "-m", "second release", "--json")
    assert json.loads(annotated.output) == {"name": "v2", "commit": new}
    assert run_cli("tag", "-C", repo_dir).output.splitlines() == [f"v1  {old[:7]}", f"v2  {new[:7]}"]
    assert json.loads(run_cli("tag", "-C", repo_dir, "--json").output) == [
        {"name": "v1", "commit": old}, {"name": "v2", "commit": new}]
    with Repository.open(repo_dir) as repo:
        assert repo.tags() == {"v1": old, "v2": new}
        assert repo.refs.get("refs/tags/v2") != new  # an annotated tag object
    exists = run_cli("tag", "-C", repo_dir, "v1")
    assert exists.exit_code == 5
    assert run_cli("tag", "-C", repo_dir, "v1", "--force").exit_code == 0
    bad = run_cli("tag", "-C", repo_dir, "v1^")
    assert bad.exit_code == 2
    assert bad.stderr.startswith("error: invalid tag name 'v1^': it ")
    deleted = run_cli("tag", "-C", repo_dir, "-d", "v2")
    assert (deleted.exit_code, deleted.output) == (0, "Deleted tag v2\n")
    assert run_cli("tag", "-C", repo_dir, "-d", "v2").exit_code == 5
    assert run_cli("tag", "-C", repo_dir, "x", "nope").exit_code == 5
    with Repository.open(repo_dir) as repo:
        assert repo.tags() == {"v1": new}
    shown = run_cli("log", "-C", repo_dir, "--oneline", "-n", "1")
    assert shown.output == f"{new[:7]} (HEAD -> main, tag: v1) two\n"
