"""brainvcs.Repository has every verb the CLI has, with the same names (brainvcs.api)."""

from __future__ import annotations

from pathlib import Path

import pytest

from brainvcs import Repository
from brainvcs.errors import MergeConflictError, UsageError
from tests.conftest import git, run_cli, sample_state


def test_the_python_api_has_the_clis_verbs(tmp_path: Path) -> None:
    git("init", "-q", "--bare", tmp_path / "remote.git")
    with Repository.init(tmp_path / "brain") as repo:
        repo.commit(sample_state(0), "one")
        repo.create_branch("side")
        repo.commit(sample_state(1), "two")
        assert [m.module for m in repo.diff("HEAD~1", "HEAD").modules] == [
            m.module for m in repo.diff("HEAD~1..HEAD").modules] != []
        assert [p.value for p in repo.history("cognitive_metrics.step")] == [0, 1]
        assert [row.commit.summary for row in repo.stats()] == ["one", "two"]
        assert repo.value_at("HEAD~1", "language_module.word_frequency.hello") == 3
        assert repo.merge("side").status == "up-to-date"
        from brainvcs.remote import ops

        ops.remote_add(repo, "origin", str(tmp_path / "remote.git"))
        assert repo.push().ok
        assert repo.fetch().updates is not None
        assert repo.pull().status == "up-to-date"
        assert repo.sync().status in ("up-to-date", "pushed")
    with Repository.clone(str(tmp_path / "remote.git"), tmp_path / "copy") as copy:
        assert isinstance(copy, Repository) and copy.checkout() == sample_state(1)


def test_revert_undoes_one_commits_learning_and_keeps_the_rest(repo: Repository) -> None:
    base = {"lang": {"freq": {"sea": 1}}, "log": ["a"]}
    repo.commit(base, "base")
    repo.commit({"lang": {"freq": {"sea": 6, "moss": 2}}, "log": ["a"]}, "learned sea and moss")
    repo.commit({"lang": {"freq": {"sea": 7, "moss": 2, "tide": 1}}, "log": ["a", "b"]}, "later")
    result = repo.revert("HEAD~1")
    assert result.commit is not None
    assert result.commit.summary == 'Revert "learned sea and moss"'
    # sea: +5 undone (7 - 5), moss gone, tide and the log entry of "later" kept
    assert repo.checkout() == {"lang": {"freq": {"sea": 2, "tide": 1}}, "log": ["a", "b"]}
    assert [c.summary for c in repo.log()][:2] == ['Revert "learned sea and moss"', "later"]


def test_revert_refuses_conflicts_and_merges(repo: Repository) -> None:
    repo.commit({"m": {"mood": "calm"}}, "one")
    repo.commit({"m": {"mood": "curious"}}, "two")
    repo.commit({"m": {"mood": "sleepy"}}, "three")
    head = repo.head()
    with pytest.raises(MergeConflictError):
        repo.revert("HEAD~1")
    assert repo.head() == head


def test_reset_moves_the_branch_and_keeps_the_old_tip_in_the_reflog(tmp_path: Path) -> None:
    with Repository.init(tmp_path / "brain") as repo:
        repo.commit(sample_state(0), "one")
        repo.commit(sample_state(1), "two")
        tip = repo.head()
    result = run_cli("reset", "--hard", "HEAD~1", "-C", tmp_path / "brain")
    assert result.exit_code == 0 and "main moved from" in result.output and "(one)" in result.output
    with Repository.open(tmp_path / "brain") as repo:
        assert [c.summary for c in repo.log()] == ["one"]
    reflog = (tmp_path / "brain" / "logs" / "refs" / "heads" / "main").read_text()
    assert tip is not None and tip in reflog and "reset: moving to HEAD~1" in reflog
    assert run_cli("reset", tip, "-C", tmp_path / "brain").exit_code == 0  # back, by the old id


def test_branch_flags_as_git_users_type_them(tmp_path: Path) -> None:
    git("init", "-q", "--bare", tmp_path / "remote.git")
    with Repository.init(tmp_path / "brain") as repo:
        repo.commit(sample_state(0), "one")
        repo.commit(sample_state(1), "two")
        repo.create_tag("v1", "HEAD~1")
        from brainvcs.remote import ops

        ops.remote_add(repo, "origin", str(tmp_path / "remote.git"))
        repo.push()
        repo.create_branch("exp")
        repo.commit(sample_state(2), "exp work", branch="exp")
    brain = tmp_path / "brain"
    moved = run_cli("branch", "-f", "main", "v1", "-C", brain)
    assert moved.exit_code == 0 and moved.output.startswith("Moved branch main from ")
    assert "Created" not in moved.output
    remotes = run_cli("branch", "-r", "-C", brain)
    assert remotes.output.split() == ["origin/main", remotes.output.split()[1]]
    every = run_cli("branch", "-a", "-C", brain)
    assert "remotes/origin/main" in every.output and "exp" in every.output
    refused = run_cli("branch", "-d", "exp", "-C", brain)
    assert refused.exit_code == 2 and "brainvcs branch -D exp" in refused.stderr
    assert run_cli("branch", "-D", "exp", "-C", brain).exit_code == 0
    with pytest.raises(UsageError):
        with Repository.open(brain) as repo:
            repo.delete_branch("main")
