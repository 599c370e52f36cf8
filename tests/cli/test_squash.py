"""CLI tests for `brainvcs squash` (results checked through the API)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from brainvcs import Repository
from brainvcs.autosave import SOURCE_TRAILER, Autosaver, squash
from brainvcs.errors import RefConflict
from tests.conftest import IDENTITY, git, run_cli, sample_state


def autosave(repo: Repository, states: list[dict[str, Any]], **options: Any) -> list[str]:
    """Autosave each state in turn; return the commit ids, oldest first."""
    ids = []
    state: dict[str, Any] = {}
    with Autosaver(repo, get_state=lambda: state, every_seconds=None, **options) as saver:
        for value in states:
            state = value
            saved = saver.save_now()
            assert saved is not None
            ids.append(saved.commit.id)
    return ids


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Repository]:
    """main holds one commit; autosave/main three autosaves on top of it."""
    with Repository.init(tmp_path / "brain") as opened:
        opened.commit(sample_state(0), "base")
        autosave(opened, [sample_state(1), sample_state(2), sample_state(3)])
        yield opened


def test_squash_collapses_the_autosaves_into_one_commit(repo: Repository) -> None:
    assert repo.gitdir is not None
    old_tip = repo.commit_info("autosave/main")
    autosaves = [info.id for info in repo.log("autosave/main", max_count=3)]
    result = run_cli("squash", "-C", repo.gitdir, "autosave/main", "--onto", "main", "-m", "learned 1 to 3")
    assert result.exit_code == 0
    new = repo.commit_info("autosave/main")
    assert result.output == (f"[autosave/main {new.id[:7]}] learned 1 to 3\n"
                             f" squashed 3 autosave(s) onto {repo.resolve('main')[:7]}; previous tip {old_tip.id[:7]}\n")
    assert new.parents == (repo.resolve("main"),)
    assert new.tree == old_tip.tree  # the very same snapshot
    assert new.fingerprint == old_tip.fingerprint
    assert new.trailers[SOURCE_TRAILER] == "squash"
    assert new.message.startswith("learned 1 to 3\n\nsquashed 3 autosave(s) of autosave/main, seq 1..3\n")
    assert new.author == IDENTITY
    assert repo.checkout("autosave/main") == sample_state(3)
    assert [info.summary for info in repo.log("autosave/main")] == ["learned 1 to 3", "base"]
    assert [repo.commit_info(sha).id for sha in autosaves] == autosaves  # squashed, not destroyed
    assert repo.verify().ok
    fsck = git("--git-dir", repo.gitdir, "fsck", "--strict", "--no-progress", check=False)
    assert fsck.returncode == 0, fsck.stderr


def test_squash_json_and_the_current_branch(tmp_path: Path) -> None:
    with Repository.init(tmp_path / "brain") as repo:
        base = repo.commit(sample_state(0), "base").commit
        assert base is not None and repo.gitdir is not None
        ids = autosave(repo, [sample_state(1), sample_state(2)], on_branch=True)
        result = run_cli("squash", "-C", repo.gitdir, "--onto", base.id[:8], "-m", "session", "--json")
        assert result.exit_code == 0
        report = json.loads(result.output)
        assert report["branch"] == "main" and report["onto"] == base.id
        assert report["previous_tip"] == ids[-1]
        assert sorted(report["squashed"]) == sorted(ids)
        assert report["commit"]["summary"] == "session"
        assert repo.head() == report["commit"]["id"]
        assert repo.checkout("main") == sample_state(2)


def test_squash_refuses_a_commit_that_is_not_an_autosave(repo: Repository) -> None:
    assert repo.gitdir is not None
    manual = repo.commit(sample_state(9), "by hand", branch="autosave/main").commit
    assert manual is not None
    tip = repo.resolve("autosave/main")
    result = run_cli("squash", "-C", repo.gitdir, "autosave/main", "--onto", "main", "-m", "x")
    assert result.exit_code == 2
    assert result.output == (f"error: {manual.id[:7]} ('by hand') is not an autosave; only autosaves are squashed\n"
                             "hint: pick an --onto at or after that commit\n")
    assert repo.resolve("autosave/main") == tip


def test_squash_refuses_an_unrelated_onto_and_an_empty_run(repo: Repository) -> None:
    assert repo.gitdir is not None
    repo.commit(sample_state(5), "elsewhere", branch="other", expected_head=None)
    result = run_cli("squash", "-C", repo.gitdir, "autosave/main", "--onto", "other", "-m", "x")
    assert result.exit_code == 2
    assert "is not an ancestor of autosave/main" in result.output
    result = run_cli("squash", "-C", repo.gitdir, "autosave/main", "--onto", "autosave/main", "-m", "x")
    assert result.exit_code == 2
    assert result.output.startswith("error: nothing to squash: autosave/main is at autosave/main")
    result = run_cli("squash", "-C", repo.gitdir, "nope", "--onto", "main", "-m", "x")
    assert result.exit_code == 5
    result = run_cli("squash", "-C", repo.gitdir, "autosave/main", "--onto", "main", "-m", " ")
    assert result.exit_code == 2


def test_squash_moves_the_branch_by_compare_and_swap(repo: Repository, monkeypatch: pytest.MonkeyPatch) -> None:
    tip = repo.resolve("autosave/main")
    moved: list[str] = []
    original = repo.commit_info

    def commit_info_then_another_writer(rev: str = "HEAD") -> Any:
        info = original(rev)
        if not moved:  # another writer commits while squash prepares its commit
            result = repo.commit(sample_state(8), "meanwhile", branch="autosave/main").commit
            assert result is not None
            moved.append(result.id)
        return info

    monkeypatch.setattr(repo, "commit_info", commit_info_then_another_writer)
    with pytest.raises(RefConflict):
        squash(repo, "autosave/main", onto="main", message="too late")
    assert moved and repo.resolve("autosave/main") == moved[0] != tip
