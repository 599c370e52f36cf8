"""brainvcs remotes against C git's ``git daemon`` (git://, anonymous push)."""

from __future__ import annotations

from pathlib import Path

import pytest

from brainvcs import Repository
from brainvcs.brains import SIZES, learning_step, synthetic_state
from brainvcs.demo import learn
from brainvcs.errors import RemoteError
from brainvcs.remote import ops
from tests.conftest import run_cli

from . import remote_checks as checks
from .gitservers import GitDaemonServer


def test_push_history_clone_and_c_git_fsck(git_daemon_server: GitDaemonServer, git_env: dict[str, str],
                                           tmp_path: Path) -> None:
    url = git_daemon_server.create_repo(checks.unique_name("history"))
    checks.push_history_and_clone(url, git_env, tmp_path)


def test_commit_pushed_by_c_git_is_pulled(git_daemon_server: GitDaemonServer, git_env: dict[str, str],
                                          tmp_path: Path) -> None:
    url = git_daemon_server.create_repo(checks.unique_name("interop"))
    checks.c_git_push_is_pulled(url, git_env, tmp_path)


def test_stale_push_is_refused(git_daemon_server: GitDaemonServer, tmp_path: Path) -> None:
    url = git_daemon_server.create_repo(checks.unique_name("stale"))
    checks.stale_push_is_refused(url, tmp_path)


def test_hook_refusal_is_an_error(git_daemon_server: GitDaemonServer, tmp_path: Path) -> None:
    name = checks.unique_name("hook")
    url = git_daemon_server.create_repo(name)
    checks.hook_refusal_is_reported(url, git_daemon_server.repo_path(name), tmp_path)


def test_missing_repository_and_closed_port_are_one_line_each(git_daemon_server: GitDaemonServer) -> None:
    with pytest.raises(RemoteError) as missing:
        ops.ls_remote(git_daemon_server.url_for("no-such-brain.git"))
    assert missing.value.message == (f"no repository at {git_daemon_server.url_for('no-such-brain.git')} "
                                     "(no such repository: /no-such-brain.git)")
    with pytest.raises(RemoteError) as refused:
        ops.ls_remote("git://127.0.0.1:1/brain.git")
    assert refused.value.message == "cannot connect to git://127.0.0.1:1/brain.git: connection refused"
    assert refused.value.exit_code == 10


def test_incremental_push_sends_only_the_new_objects(git_daemon_server: GitDaemonServer, tmp_path: Path) -> None:
    url = git_daemon_server.create_repo(checks.unique_name("incremental"))
    state = synthetic_state(**SIZES["S"])
    with Repository.init(tmp_path / "brain") as repo:
        repo.commit(state, "initial brain")
        ops.remote_add(repo, "origin", url)
        full = ops.push(repo)
        learning_step(state, step=1)
        step = repo.commit(state, "one learning step")
        incremental = ops.push(repo)
        assert incremental.objects_sent == step.written.objects
        assert 0 < incremental.bytes_sent < full.bytes_sent // 2
        with ops.clone(url, tmp_path / "copy") as copy:
            assert copy.checkout() == state


def test_shallow_clone_checks_out_the_tip_and_can_push(git_daemon_server: GitDaemonServer, tmp_path: Path) -> None:
    url = git_daemon_server.create_repo(checks.unique_name("shallow"))
    with Repository.init(tmp_path / "trainer") as trainer:
        for text in checks.texts()[:3]:
            learn(trainer, [text])
        ops.remote_add(trainer, "origin", url)
        ops.push(trainer)
        tip, state = trainer.head(), trainer.checkout()
    with ops.clone(url, tmp_path / "shallow", depth=1) as shallow:
        assert shallow.head() == tip
        assert shallow.checkout() == state
        assert (tmp_path / "shallow" / "shallow").read_text(encoding="utf-8") == f"{tip}\n"
        learn(shallow, [checks.texts()[3]])
        pushed = ops.push(shallow)
        assert [r.kind for r in pushed.refs] == ["fast-forward"]
        assert ops.ls_remote(url).refs["refs/heads/main"] == shallow.head()


def test_every_history_command_works_on_a_depth_2_clone(git_daemon_server: GitDaemonServer, tmp_path: Path) -> None:
    """History stops at the shallow cut for every walk: none of them asks for a commit the clone lacks."""
    url = git_daemon_server.create_repo(checks.unique_name("depth2"))
    with Repository.init(tmp_path / "trainer") as trainer:
        for text in checks.texts()[:4]:
            learn(trainer, [text])
        ops.remote_add(trainer, "origin", url)
        ops.push(trainer)
        full_log = [c.id for c in trainer.log()]
    clone = tmp_path / "shallow"
    assert run_cli("clone", url, clone, "--depth", "2", "-q").exit_code == 0
    with Repository.open(clone) as repo:
        assert [c.id for c in repo.log()] == full_log[:2]
        assert repo.verify().commits == 2
        word = next(iter(repo.checkout()["language_module"]["vocabulary"]))
    for args in (["log", "--oneline"], ["verify"], ["history", f"language_module.word_frequency.{word}"],
                 ["stats"], ["log", "--learned", word], ["gc"], ["show", "HEAD~1"], ["log", "--stat"]):
        result = run_cli(*args, "-C", clone)
        assert result.exit_code == 0, (args, result.output)
        assert "is missing from the repository" not in result.output
    assert "verified 2 commit(s)" in run_cli("verify", "-C", clone).output
    with Repository.open(clone) as repo:  # gc kept the clone whole and shallow
        assert [c.id for c in repo.log()] == full_log[:2] and repo.verify().ok
