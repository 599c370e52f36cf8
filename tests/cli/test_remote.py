"""CLI tests for remote, clone, fetch, pull, push, ls-remote and sync (local transport; results checked via the API)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from brainvcs import Repository
from brainvcs.remote import ops
from tests.conftest import run_cli, sample_state


@pytest.fixture
def server(tmp_path: Path) -> Path:
    """An empty bare repository standing in for a remote."""
    Repository.init(tmp_path / "server.git").close()
    return tmp_path / "server.git"


@pytest.fixture
def work(tmp_path: Path, server: Path) -> Path:
    """A repository with two commits and ``origin`` -> ``server``."""
    path = tmp_path / "work"
    with Repository.init(path) as repo:
        repo.commit(sample_state(0), "first")
        repo.commit(sample_state(1), "second")
    assert run_cli("remote", "add", "-C", path, "origin", server).exit_code == 0
    return path


def _head(path: Path, rev: str = "HEAD") -> str:
    with Repository.open(path) as repo:
        return repo.resolve(rev)


def test_remote_add_list_verbose_rename_remove(work: Path, server: Path) -> None:
    assert run_cli("remote", "-C", work).stdout == "origin\n"
    assert run_cli("remote", "-C", work, "-v").stdout == f"origin\t{server} (fetch)\norigin\t{server} (push)\n"
    listed = run_cli("remote", "list", "-C", work, "--json")
    assert json.loads(listed.stdout) == [
        {"name": "origin", "url": str(server), "fetch": ["+refs/heads/*:refs/remotes/origin/*"]}]
    renamed = run_cli("remote", "-C", work, "rename", "origin", "team")
    assert renamed.stdout == "Renamed remote origin to team\n"
    removed = run_cli("remote", "rm", "-C", work, "team")
    assert removed.stdout == "Removed remote team\n"
    with Repository.open(work) as repo:
        assert ops.remote_list(repo) == []


def test_remote_add_with_a_password_is_refused_without_echoing_it(work: Path) -> None:
    result = run_cli("remote", "add", "-C", work, "up", "https://bob:hunter2@example.com/b.git")
    assert result.exit_code == 2
    assert "hunter2" not in result.output
    assert result.stderr.startswith("error: the URL https://bob:***@example.com/b.git carries a password")


def test_unknown_remote_is_a_usage_error(work: Path) -> None:
    result = run_cli("fetch", "-C", work, "nowhere")
    assert result.exit_code == 2
    assert result.stderr == ("error: no remote named 'nowhere'\n"
                             "hint: add it with `brainvcs remote add nowhere URL` (see `brainvcs remote -v`)\n")


def test_push_prints_per_ref_lines_and_json(work: Path, server: Path) -> None:
    first = run_cli("push", "-C", work)
    assert first.exit_code == 0, first.output
    lines = first.stdout.splitlines()
    assert lines[:2] == [f"To {server}", " * [new branch]      main -> main"]
    assert lines[2].startswith("sent ") and lines[2].endswith(" bytes")
    again = run_cli("push", "-C", work, "--json")
    payload = json.loads(again.stdout)
    assert payload["ok"] is True
    assert payload["refs"] == [{"src": "refs/heads/main", "dst": "refs/heads/main", "old": _head(work),
                                "new": _head(work), "status": "up-to-date", "kind": None, "reason": None,
                                "ok": True}]
    assert (payload["objects_sent"], payload["bytes_sent"]) == (0, 0)
    assert again.stderr == ""
    assert _head(server) == _head(work)


def test_rejected_push_exits_12_with_lines_and_tracking_ref_unchanged(work: Path, server: Path,
                                                                      tmp_path: Path) -> None:
    assert run_cli("push", "-C", work).exit_code == 0
    assert run_cli("clone", "-q", server, tmp_path / "other").exit_code == 0
    with Repository.open(tmp_path / "other") as other:
        other.commit(sample_state(5), "other")
    assert run_cli("push", "-C", tmp_path / "other").exit_code == 0
    with Repository.open(work) as repo:
        repo.commit(sample_state(6), "ours")
        tracking = repo.refs.get("refs/remotes/origin/main")
    result = run_cli("push", "-C", work)
    assert result.exit_code == 12
    assert " ! [rejected]        main -> main (fetch first)" in result.stdout.splitlines()
    assert result.stderr.startswith(f"error: push to {server} rejected for main (fetch first)\nhint: ")
    assert "fetch and merge (brainvcs pull / sync) first" in result.stderr
    with Repository.open(work) as repo:
        assert repo.refs.get("refs/remotes/origin/main") == tracking
    as_json = run_cli("push", "-C", work, "--json")
    assert as_json.exit_code == 12
    assert json.loads(as_json.stdout)["refs"][0]["reason"] == "fetch first"
    forced = run_cli("push", "-C", work, "--force")
    assert forced.exit_code == 0
    assert forced.stdout.splitlines()[1].endswith(" main -> main (forced)")


def test_clone_fetch_pull_and_ls_remote(work: Path, server: Path, tmp_path: Path) -> None:
    assert run_cli("push", "-C", work).exit_code == 0
    cloned = run_cli("clone", server, tmp_path / "copy")
    assert cloned.exit_code == 0, cloned.output
    assert cloned.stdout == f"Cloned into {tmp_path / 'copy'}\nOn branch main at {_head(work)[:7]}\n"
    with Repository.open(work) as repo:
        repo.commit(sample_state(2), "third")
    assert run_cli("push", "-C", work, "-q").exit_code == 0
    fetched = run_cli("fetch", "-C", tmp_path / "copy")
    old, new = _head(tmp_path / "copy")[:7], _head(work)[:7]
    assert fetched.stdout == f"From {server}\n   {old}..{new}  main -> origin/main\n"
    pulled = run_cli("pull", "-C", tmp_path / "copy")
    assert pulled.stdout == f"Fast-forward main {old}..{new} from origin/main\n"
    assert _head(tmp_path / "copy") == _head(work)
    assert run_cli("pull", "-C", tmp_path / "copy").stdout == f"Already up to date with origin/main ({new}).\n"
    listed = run_cli("ls-remote", server)
    assert listed.stdout == f"{_head(work)}\tHEAD\n{_head(work)}\trefs/heads/main\n"
    by_name = run_cli("ls-remote", "-C", tmp_path / "copy", "origin", "--json")
    assert json.loads(by_name.stdout) == {"url": str(server), "head": "main",
                                          "refs": {"HEAD": _head(work), "refs/heads/main": _head(work)}}


def test_clone_json_and_errors(work: Path, server: Path, tmp_path: Path) -> None:
    assert run_cli("push", "-C", work).exit_code == 0
    result = run_cli("clone", server, tmp_path / "copy", "--json", "--branch", "main")
    payload = json.loads(result.stdout)
    assert payload == {"path": str(tmp_path / "copy"), "remote": "origin", "branch": "main", "head": _head(work),
                       "branches": {"origin/HEAD": _head(work), "origin/main": _head(work)}}
    missing = run_cli("clone", tmp_path / "nothing-here.git", tmp_path / "c2")
    assert missing.exit_code == 10
    assert missing.stderr.startswith(f"error: repository {tmp_path / 'nothing-here.git'} does not exist")
    assert not (tmp_path / "c2").exists()


def test_sync_cli(work: Path, server: Path) -> None:
    first = run_cli("sync", "-C", work)
    assert first.exit_code == 0, first.output
    assert first.stdout == f"* [new branch]      main -> main\nmain is in sync with origin at {_head(work)[:7]}.\n"
    second = run_cli("sync", "-C", work, "--json")
    payload = json.loads(second.stdout)
    assert (payload["status"], payload["attempts"], payload["push"]) == ("up-to-date", 1, None)


def test_progress_never_reaches_json_or_quiet_output(work: Path) -> None:
    # CliRunner's streams are not terminals, so nothing but the result is printed either way.
    quiet = run_cli("push", "-C", work, "--quiet", "--json")
    assert quiet.stderr == ""
    assert json.loads(quiet.stdout)["ok"] is True


def test_push_after_gc_works_and_a_local_fault_is_never_blamed_on_the_remote(tmp_path: Path) -> None:
    """init, commit, gc, commit, push, commit, push: C git's repack left a bitmap that broke the last push."""
    from brainvcs.remote.transport import translate_error
    from brainvcs.remote.urls import parse_url
    from tests.conftest import git

    git("init", "-q", "--bare", tmp_path / "rp.git")
    brain = tmp_path / "brain"
    states = []
    for step in range(3):
        states.append(tmp_path / f"s{step}.json")
        states[-1].write_text(json.dumps(sample_state(step)))
    assert run_cli("init", brain).exit_code == 0
    assert run_cli("commit", "-C", brain, "-m", "one", states[0]).exit_code == 0
    assert run_cli("gc", "-C", brain).exit_code == 0
    assert not list((brain / "objects" / "pack").glob("*.bitmap"))
    assert run_cli("commit", "-C", brain, "-m", "two", states[1]).exit_code == 0
    assert run_cli("remote", "-C", brain, "add", "origin", tmp_path / "rp.git").exit_code == 0
    assert run_cli("push", "-C", brain).exit_code == 0
    assert run_cli("commit", "-C", brain, "-m", "three", states[2]).exit_code == 0
    pushed = run_cli("push", "-C", brain)
    assert pushed.exit_code == 0, pushed.output
    # a file missing on this side is named, with exit 9, never "no repository at <remote>"
    missing = FileNotFoundError(2, "No such file or directory", str(brain / "objects" / "pack" / "pack-x.bitmap"))
    error = translate_error(missing, parse_url(str(tmp_path / "rp.git")))
    assert error.exit_code == 9 and "a file of this repository is missing" in error.message
    gone = FileNotFoundError(2, "No such file or directory", str(tmp_path / "rp.git" / "HEAD"))
    assert translate_error(gone, parse_url(str(tmp_path / "rp.git"))).message.startswith("no repository at")


def test_clone_when_the_remotes_head_names_a_missing_branch(tmp_path: Path) -> None:
    """`git init --bare` leaves HEAD on master; a brain pushed as main must still be cloned onto main."""
    from tests.conftest import git

    git("init", "-q", "--bare", "--initial-branch=master", tmp_path / "bare.git")
    with Repository.init(tmp_path / "brain") as repo:
        repo.commit(sample_state(), "one")
        ops.remote_add(repo, "origin", str(tmp_path / "bare.git"))
        ops.push(repo)
        tip = repo.head()
    cloned = run_cli("clone", tmp_path / "bare.git", tmp_path / "copy")
    assert cloned.exit_code == 0 and "empty" not in cloned.output, cloned.output
    assert f"On branch main at {tip[:7]}" in cloned.output  # type: ignore[index]
    with Repository.open(tmp_path / "copy") as copy:
        assert copy.current_branch == "main" and copy.head() == tip
    # two branches and no usable HEAD: nothing is guessed, and the output says what exists and how to pick
    with Repository.open(tmp_path / "brain") as repo:
        repo.create_branch("exp")
        repo.commit(sample_state(1), "exp work", branch="exp")
        ops.push(repo, "origin", ["exp"])
    git("--git-dir", tmp_path / "bare.git", "branch", "-m", "main", "zzz")
    again = run_cli("clone", tmp_path / "bare.git", tmp_path / "copy2")
    assert again.exit_code == 0
    assert "its branches: exp, zzz" in again.output and "brainvcs switch exp" in again.output
    switched = run_cli("switch", "-C", tmp_path / "copy2", "exp")  # DWIM from origin/exp, as git does
    assert switched.exit_code == 0, switched.output
    with Repository.open(tmp_path / "copy2") as copy:
        assert copy.current_branch == "exp" and copy.head() is not None
