"""The remote API over the local transport (brainvcs.remote.ops, .config, .push): fast, no servers.

Real HTTP, SSH and git:// servers are exercised in tests/compat/test_remote_*.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from brainvcs import Repository
from brainvcs.errors import (InvalidRefNameError, PushRejectedError, RefExistsError, RemoteError,
                             RepositoryExistsError, RevisionNotFoundError, UsageError)
from brainvcs.remote import ops
from brainvcs.remote.push import parse_refspec

from .conftest import git, sample_state


@pytest.fixture
def server(tmp_path: Path) -> Path:
    """An empty bare repository standing in for a remote."""
    path = tmp_path / "server.git"
    Repository.init(path).close()
    return path


@pytest.fixture
def origin_repo(repo: Repository, server: Path) -> Repository:
    """``repo`` with two commits and ``origin`` pointing at ``server``."""
    repo.commit(sample_state(0), "first")
    repo.commit(sample_state(1), "second")
    ops.remote_add(repo, "origin", str(server))
    return repo


def _fingerprints(repo: Repository, rev: str = "HEAD") -> list[str | None]:
    return [info.fingerprint for info in repo.log(rev)]


# Remote configuration -----------------------------------------------------------------

def test_remote_add_list_and_read_by_c_git(repo: Repository, server: Path) -> None:
    added = ops.remote_add(repo, "origin", str(server))
    assert added == ops.Remote("origin", str(server), ("+refs/heads/*:refs/remotes/origin/*",))
    assert ops.remote_list(repo) == [added]
    assert git("-C", repo.gitdir, "remote", "-v").stdout.splitlines() == [
        f"origin\t{server} (fetch)", f"origin\t{server} (push)"]


def test_remote_added_by_c_git_is_listed(repo: Repository) -> None:
    git("-C", repo.gitdir, "remote", "add", "upstream", "https://bob:pw@example.com/x.git")
    (only,) = ops.remote_list(repo)
    assert only.name == "upstream"
    assert only.shown_url == "https://bob:***@example.com/x.git"
    assert only.to_json() == {"name": "upstream", "url": "https://bob:***@example.com/x.git",
                              "fetch": ["+refs/heads/*:refs/remotes/upstream/*"]}


def test_remote_add_refuses_a_password_and_stores_nothing(repo: Repository) -> None:
    with pytest.raises(UsageError) as caught:
        ops.remote_add(repo, "origin", "https://alice:hunter2@example.com/brain.git")
    assert "hunter2" not in caught.value.message + (caught.value.hint or "")
    assert "BRAINVCS_PASSWORD" in (caught.value.hint or "")
    assert ops.remote_list(repo) == []
    assert "hunter2" not in (Path(str(repo.gitdir)) / "config").read_text()


def test_remote_add_keeps_the_user_name(repo: Repository) -> None:
    assert ops.remote_add(repo, "origin", "https://alice@example.com/b.git").url == "https://alice@example.com/b.git"


def test_remote_add_twice_and_bad_names(repo: Repository, server: Path) -> None:
    ops.remote_add(repo, "origin", str(server))
    with pytest.raises(RefExistsError, match="remote 'origin' already exists"):
        ops.remote_add(repo, "origin", str(server))
    for bad in ("a/b", "-x", "", "x.lock", "a..b"):
        with pytest.raises(UsageError, match="invalid remote name"):
            ops.remote_add(repo, bad, str(server))


def test_remote_rename_moves_config_tracking_refs_and_upstream(origin_repo: Repository) -> None:
    ops.push(origin_repo, "origin", set_upstream_branch=True)
    tip = origin_repo.head()
    renamed = ops.remote_rename(origin_repo, "origin", "team")
    assert renamed.name == "team"
    assert renamed.fetch == ("+refs/heads/*:refs/remotes/team/*",)
    assert [r.name for r in ops.remote_list(origin_repo)] == ["team"]
    assert origin_repo.refs.remote_branches() == {"team/main": tip}
    assert git("-C", origin_repo.gitdir, "config", "branch.main.remote").stdout.strip() == "team"
    with pytest.raises(UsageError, match="no remote named 'origin'"):
        ops.remote_rename(origin_repo, "origin", "x")


def test_remote_remove_drops_tracking_refs(origin_repo: Repository) -> None:
    ops.push(origin_repo, "origin", set_upstream_branch=True)
    removed = ops.remote_remove(origin_repo, "origin")
    assert removed.name == "origin"
    assert ops.remote_list(origin_repo) == []
    assert origin_repo.refs.remote_branches() == {}
    assert git("-C", origin_repo.gitdir, "config", "branch.main.remote", check=False).returncode == 1
    with pytest.raises(UsageError, match="no remote named 'origin'"):
        ops.remote_remove(origin_repo, "origin")


def test_memory_repository_has_no_remotes(mem_repo: Repository) -> None:
    with pytest.raises(UsageError, match="repository on disk"):
        ops.remote_list(mem_repo)


# Push ----------------------------------------------------------------------------------

def test_push_new_branch_then_fast_forward_then_up_to_date(origin_repo: Repository, server: Path) -> None:
    first = ops.push(origin_repo)
    assert [r.line() for r in first.refs] == ["* [new branch]      main -> main"]
    assert first.ok and first.objects_sent > 0
    old = origin_repo.head()
    assert origin_repo.refs.get("refs/remotes/origin/main") == old
    origin_repo.commit(sample_state(2), "third")
    second = ops.push(origin_repo)
    new = origin_repo.head()
    assert [r.line() for r in second.refs] == [f"  {old[:7]}..{new[:7]}  main -> main"]
    assert second.refs[0].kind == "fast-forward"
    third = ops.push(origin_repo)
    assert [r.line() for r in third.refs] == ["= [up to date]      main -> main"]
    assert (third.objects_sent, third.bytes_sent) == (0, 0)
    with Repository.open(server) as remote:
        assert remote.refs.get("refs/heads/main") == new


def test_bytes_sent_equal_the_pack_on_the_wire(origin_repo: Repository, server: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    captured: list[bytes] = []
    from dulwich.object_store import DiskObjectStore

    original = DiskObjectStore.add_pack_data

    def spy(self: Any, count: int, records: Any, progress: Any = None) -> Any:
        records = list(records)
        from dulwich.object_format import DEFAULT_OBJECT_FORMAT
        from dulwich.pack import PackChunkGenerator
        captured.append(b"".join(PackChunkGenerator(num_records=count, records=iter(records),
                                                    object_format=DEFAULT_OBJECT_FORMAT)))
        return original(self, count, iter(records), progress)

    monkeypatch.setattr(DiskObjectStore, "add_pack_data", spy)
    result = ops.push(origin_repo)
    (pack,) = captured
    assert result.bytes_sent == len(pack)
    assert pack[:4] == b"PACK"
    assert int.from_bytes(pack[8:12], "big") == result.objects_sent


def test_incremental_push_sends_only_new_objects(origin_repo: Repository) -> None:
    ops.push(origin_repo)
    # State 3 shares nothing with older commits except what the pushed tip has.
    result = origin_repo.commit(sample_state(3), "third")
    pushed = ops.push(origin_repo)
    assert pushed.objects_sent == result.written.objects


def test_stale_push_is_rejected_and_tracking_ref_stays(origin_repo: Repository, server: Path,
                                                       tmp_path: Path) -> None:
    ops.push(origin_repo)
    with ops.clone(str(server), tmp_path / "other") as other:
        other.commit(sample_state(5), "other learned")
        ops.push(other)
        pushed_by_other = other.head()
    origin_repo.commit(sample_state(6), "we learned")
    before = origin_repo.refs.get("refs/remotes/origin/main")
    with pytest.raises(PushRejectedError) as caught:
        ops.push(origin_repo)
    error = caught.value
    assert error.exit_code == 12
    assert error.rejected == {"refs/heads/main": "fetch first"}
    assert "fetch and merge (brainvcs pull / sync) first" in (error.hint or "")
    assert [r.line() for r in error.result.refs] == ["! [rejected]        main -> main (fetch first)"]
    assert origin_repo.refs.get("refs/remotes/origin/main") == before
    ops.fetch(origin_repo)
    with pytest.raises(PushRejectedError) as again:
        ops.push(origin_repo)
    assert again.value.rejected == {"refs/heads/main": "non-fast-forward"}
    assert origin_repo.refs.get("refs/remotes/origin/main") == pushed_by_other
    with Repository.open(server) as remote:
        assert remote.refs.get("refs/heads/main") == pushed_by_other


def test_force_push_overwrites_and_says_so(origin_repo: Repository, server: Path, tmp_path: Path) -> None:
    ops.push(origin_repo)
    with ops.clone(str(server), tmp_path / "other") as other:
        other.commit(sample_state(5), "other learned")
        ops.push(other)
    origin_repo.commit(sample_state(6), "we learned")
    ops.fetch(origin_repo)
    old = origin_repo.refs.get("refs/remotes/origin/main")
    result = ops.push(origin_repo, force=True)
    new = origin_repo.head()
    assert [r.line() for r in result.refs] == [f"+ {old[:7]}...{new[:7]} main -> main (forced)"]
    assert origin_repo.refs.get("refs/remotes/origin/main") == new


def test_refspecs_rename_delete_tags_and_plus(origin_repo: Repository, server: Path) -> None:
    origin_repo.create_tag("v1", message="first release")
    result = ops.push(origin_repo, "origin", ["main:backup", "v1", "+main"])
    assert [(r.dst, r.kind) for r in result.refs] == [
        ("refs/heads/backup", "new"), ("refs/tags/v1", "new"), ("refs/heads/main", "new")]
    assert origin_repo.refs.remote_branches() == {"origin/backup": origin_repo.head(),
                                                  "origin/main": origin_repo.head()}
    deleted = ops.push(origin_repo, "origin", [":backup"])
    assert [r.line() for r in deleted.refs] == ["- [deleted]         backup"]
    assert origin_repo.refs.remote_branches() == {"origin/main": origin_repo.head()}
    with Repository.open(server) as remote:
        assert set(remote.refs.all()) == {"refs/heads/main", "refs/tags/v1"}


def test_pushing_a_moved_tag_needs_force(origin_repo: Repository) -> None:
    origin_repo.create_tag("v1", "HEAD~1")
    ops.push(origin_repo, "origin", ["v1"])
    origin_repo.create_tag("v1", "HEAD", force=True)
    with pytest.raises(PushRejectedError) as caught:
        ops.push(origin_repo, "origin", ["v1"])
    assert caught.value.rejected == {"refs/tags/v1": "already exists"}
    assert ops.push(origin_repo, "origin", ["+v1"]).refs[0].kind == "forced"


def test_refspec_parsing(origin_repo: Repository) -> None:
    head = origin_repo.head()
    assert parse_refspec(origin_repo, "main") == parse_refspec(origin_repo, "refs/heads/main:refs/heads/main")
    spec = parse_refspec(origin_repo, "+HEAD~1:old")
    assert (spec.src, spec.dst, spec.new, spec.force) == ("HEAD~1", "refs/heads/old", origin_repo.resolve("HEAD~1"),
                                                          True)
    assert parse_refspec(origin_repo, "HEAD").new == head
    with pytest.raises(UsageError, match="destination must be named"):
        parse_refspec(origin_repo, "HEAD~1")
    with pytest.raises(RevisionNotFoundError):
        parse_refspec(origin_repo, "nosuchbranch")
    with pytest.raises(InvalidRefNameError):
        parse_refspec(origin_repo, "main:bad..name")


def test_push_to_a_missing_repository_is_one_clear_error(repo: Repository, tmp_path: Path) -> None:
    repo.commit(sample_state(0), "first")
    ops.remote_add(repo, "gone", str(tmp_path / "nowhere.git"))
    with pytest.raises(RemoteError, match="does not exist") as caught:
        ops.push(repo, "gone")
    assert caught.value.exit_code == 10
    assert repo.refs.remote_branches() == {}


def test_push_from_detached_head_needs_a_refspec(origin_repo: Repository) -> None:
    origin_repo.refs.detach_head(origin_repo.head())
    with pytest.raises(UsageError, match="HEAD is detached"):
        ops.push(origin_repo)


# Clone, fetch, pull, ls-remote -------------------------------------------------------

def test_clone_gets_identical_history_and_tracking_refs(origin_repo: Repository, server: Path,
                                                        tmp_path: Path) -> None:
    ops.push(origin_repo)
    with ops.clone(str(server), tmp_path / "copy") as copy:
        assert copy.current_branch == "main"
        assert copy.head() == origin_repo.head()
        assert _fingerprints(copy) == _fingerprints(origin_repo)
        assert copy.checkout() == sample_state(1)
        assert copy.refs.remote_branches() == {"origin/HEAD": copy.head(), "origin/main": copy.head()}
        assert ops.remote_list(copy) == [ops.Remote("origin", str(server), ("+refs/heads/*:refs/remotes/origin/*",))]
        assert git("-C", copy.gitdir, "config", "branch.main.merge").stdout.strip() == "refs/heads/main"
        assert copy.verify().ok
    with Repository.open(tmp_path / "copy") as reopened:
        assert reopened.head() == origin_repo.head()


def test_clone_a_named_branch_and_into_the_default_directory(origin_repo: Repository, server: Path,
                                                             tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    origin_repo.create_branch("experiment", "HEAD~1")
    ops.push(origin_repo, "origin", ["main", "experiment"])
    monkeypatch.chdir(tmp_path)
    with ops.clone(str(server), branch="experiment") as copy:
        assert Path(str(copy.gitdir)) == tmp_path / "server"
        assert copy.current_branch == "experiment"
        assert copy.head() == origin_repo.resolve("experiment")
        assert [b.name for b in copy.branches()] == ["experiment"]


def test_clone_failures_leave_nothing_behind(origin_repo: Repository, server: Path, tmp_path: Path) -> None:
    ops.push(origin_repo)
    with pytest.raises(RevisionNotFoundError, match="remote branch 'nope' not found"):
        ops.clone(str(server), tmp_path / "c1", branch="nope")
    assert not (tmp_path / "c1").exists()
    (tmp_path / "empty").mkdir()
    with pytest.raises(RemoteError):
        ops.clone(str(tmp_path / "missing.git"), tmp_path / "empty")
    assert list((tmp_path / "empty").iterdir()) == []
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(RepositoryExistsError, match="not empty"):
        ops.clone(str(server), tmp_path / "full")


def test_clone_of_an_empty_remote(server: Path, tmp_path: Path) -> None:
    with ops.clone(str(server), tmp_path / "copy") as copy:
        assert copy.head() is None
        assert copy.current_branch == "main"
        assert [r.name for r in ops.remote_list(copy)] == ["origin"]


def test_fetch_moves_only_tracking_refs_and_reports_updates(origin_repo: Repository, server: Path,
                                                            tmp_path: Path) -> None:
    ops.push(origin_repo)
    with ops.clone(str(server), tmp_path / "copy") as copy:
        before = copy.head()
        origin_repo.commit(sample_state(2), "third")
        origin_repo.create_tag("v2")
        ops.push(origin_repo, "origin", ["main", "v2"])
        result = ops.fetch(copy)
        assert [(u.ref, u.status) for u in result.updates] == [
            ("refs/remotes/origin/main", "fast-forward"), ("refs/tags/v2", "new")]
        assert result.head == "main"
        assert result.objects > 0 and result.bytes_received > 0
        assert copy.head() == before
        assert copy.refs.get("refs/remotes/origin/main") == origin_repo.head()
        again = ops.fetch(copy)
        assert [u.status for u in again.updates] == ["up-to-date"]
        assert again.changed == []


def test_a_push_landing_while_a_local_remote_makes_the_pack_leaves_no_dangling_tracking_ref(
        origin_repo: Repository, server: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """dulwich's local client reads the remote's refs again after writing the pack: a push landing in between
    named a tip the pack did not hold, and origin/main pointed at a commit this repository never got."""
    from dulwich.repo import Repo

    ops.push(origin_repo)
    copy = ops.clone(str(server), tmp_path / "copy")
    origin_repo.commit(sample_state(2), "third")
    ops.push(origin_repo)
    pushed: list[str] = []
    find_missing = Repo.find_missing_objects

    def push_meanwhile(self: Any, *args: Any, **kwargs: Any) -> Any:
        missing = find_missing(self, *args, **kwargs)
        if not pushed:  # the other machine's push lands once, after the pack's objects were chosen
            origin_repo.commit(sample_state(3), "fourth")
            ops.push(origin_repo)
            pushed.append(str(origin_repo.head()))
        return missing

    monkeypatch.setattr(Repo, "find_missing_objects", push_meanwhile)
    try:
        ops.fetch(copy)
        tracking = copy.refs.get("refs/remotes/origin/main")
        assert pushed and tracking == pushed[0]  # caught up with the push, not one behind, and not dangling
        assert git("--git-dir", copy.gitdir, "cat-file", "-t", tracking).stdout.strip() == "commit"
        git("--git-dir", copy.gitdir, "fsck", "--strict")  # (check=True: a dangling ref fails it)
    finally:
        copy.close()


def test_fetch_prune_and_forced_updates(origin_repo: Repository, server: Path, tmp_path: Path) -> None:
    origin_repo.create_branch("tmp")
    ops.push(origin_repo, "origin", ["main", "tmp"])
    with ops.clone(str(server), tmp_path / "copy") as copy:
        ops.push(origin_repo, "origin", [":tmp", "+HEAD~1:main"])
        kept = ops.fetch(copy)
        assert [(u.ref, u.status) for u in kept.updates] == [("refs/remotes/origin/main", "forced")]
        assert "origin/tmp" in copy.refs.remote_branches()
        pruned = ops.fetch(copy, prune=True)
        assert [(u.ref, u.status) for u in pruned.updates] == [
            ("refs/remotes/origin/main", "up-to-date"), ("refs/remotes/origin/tmp", "deleted")]
        assert "origin/tmp" not in copy.refs.remote_branches()


def test_pull_fast_forwards_and_reports_up_to_date(origin_repo: Repository, server: Path, tmp_path: Path) -> None:
    ops.push(origin_repo)
    with ops.clone(str(server), tmp_path / "copy") as copy:
        old = copy.head()
        origin_repo.commit(sample_state(2), "third")
        ops.push(origin_repo)
        result = ops.pull(copy)
        assert (result.status, result.old, result.new) == ("fast-forward", old, origin_repo.head())
        assert copy.head() == origin_repo.head()
        assert copy.checkout() == sample_state(2)
        assert ops.pull(copy).status == "up-to-date"
        copy.commit(sample_state(3), "ahead")
        assert ops.pull(copy).status == "up-to-date"


def test_pull_creates_a_missing_local_branch(origin_repo: Repository, server: Path, tmp_path: Path) -> None:
    origin_repo.create_branch("side")
    ops.push(origin_repo, "origin", ["main", "side"])
    with ops.clone(str(server), tmp_path / "copy") as copy:
        result = ops.pull(copy, "origin", "side")
        assert (result.status, result.new) == ("created", origin_repo.resolve("side"))


def test_pull_of_a_branch_the_remote_lacks(origin_repo: Repository) -> None:
    with pytest.raises(RevisionNotFoundError, match="remote 'origin' has no branch 'main'"):
        ops.pull(origin_repo)


def test_pull_of_diverged_history_merges(origin_repo: Repository, server: Path, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    ops.push(origin_repo)
    with ops.clone(str(server), tmp_path / "copy") as copy:
        copy.commit(sample_state(7), "copy learned")
        ops.push(copy)
    origin_repo.commit(sample_state(8), "we learned")
    calls: list[tuple[str, str]] = []

    def fake_merge(repo: Repository, branch: str, theirs: str, ours: str, strategy: str | None = None,
                   on_conflict: str | None = None) -> str:
        calls.append((branch, theirs))
        result = repo.commit(sample_state(9), "merged", parents=[ours, theirs])
        assert result.commit is not None
        return result.commit.id

    monkeypatch.setattr(ops, "merge_diverged", fake_merge)
    result = ops.pull(origin_repo)
    assert result.status == "merged"
    assert calls == [("main", "origin/main")]
    assert origin_repo.commit_info().parents == (result.old, origin_repo.refs.get("refs/remotes/origin/main"))


def test_ls_remote_by_name_and_by_url(origin_repo: Repository, server: Path) -> None:
    ops.push(origin_repo)
    by_name = ops.ls_remote("origin", repo=origin_repo)
    by_url = ops.ls_remote(str(server))
    assert by_name == by_url
    assert by_url.refs == {"HEAD": origin_repo.head(), "refs/heads/main": origin_repo.head()}
    assert by_url.head == "main"
    assert by_url.to_json() == {"url": str(server), "head": "main", "refs": by_url.refs}


# Sync -----------------------------------------------------------------------------------

def test_sync_pushes_a_new_branch_then_is_up_to_date(origin_repo: Repository) -> None:
    first = ops.sync(origin_repo)
    assert (first.status, first.attempts, first.pulls) == ("pushed", 1, [])
    assert first.head == origin_repo.head()
    second = ops.sync(origin_repo)
    assert (second.status, second.attempts, second.push) == ("up-to-date", 1, None)
    assert [p.status for p in second.pulls] == ["up-to-date"]


def test_sync_fast_forwards_behind_clone(origin_repo: Repository, server: Path, tmp_path: Path) -> None:
    ops.push(origin_repo)
    with ops.clone(str(server), tmp_path / "copy") as copy:
        origin_repo.commit(sample_state(2), "third")
        ops.sync(origin_repo)
        result = ops.sync(copy)
        assert result.status == "up-to-date"
        assert [p.status for p in result.pulls] == ["fast-forward"]
        assert copy.head() == origin_repo.head()


def test_sync_retries_when_the_remote_moves_and_gives_up_after_attempts(
        origin_repo: Repository, server: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ops.push(origin_repo)
    other = ops.clone(str(server), tmp_path / "other")
    origin_repo.commit(sample_state(2), "we learned")
    real_fetch = ops.fetch
    step = [10]

    def racing_fetch(repo: Repository, remote: str = "origin", **kwargs: Any) -> ops.FetchResult:
        result = real_fetch(repo, remote, **kwargs)
        # Another machine pushes after our fetch: our push must be refused, then retried.
        step[0] += 1
        real_fetch(other)
        ops.integrate(other, "main", "origin", "main")
        other.commit(sample_state(step[0]), f"other learned {step[0]}")
        ops.push(other)
        return result

    def merge(repo: Repository, branch: str, theirs: str, ours: str, strategy: str | None = None,
              on_conflict: str | None = None) -> str:
        result = repo.commit(sample_state(100 + step[0]), "merged", parents=[ours, theirs])
        assert result.commit is not None
        return result.commit.id

    monkeypatch.setattr(ops, "fetch", racing_fetch)
    monkeypatch.setattr(ops, "merge_diverged", merge)
    with pytest.raises(PushRejectedError):
        ops.sync(origin_repo, attempts=2)
    moves = [0]

    def racing_once(repo: Repository, remote: str = "origin", **kwargs: Any) -> ops.FetchResult:
        moves[0] += 1
        return racing_fetch(repo, remote, **kwargs) if moves[0] == 1 else real_fetch(repo, remote, **kwargs)

    monkeypatch.setattr(ops, "fetch", racing_once)
    result = ops.sync(origin_repo, attempts=3)
    assert (result.status, result.attempts) == ("pushed", 2)
    assert origin_repo.head() == origin_repo.refs.get("refs/remotes/origin/main")
    assert origin_repo.is_ancestor(other.head(), origin_repo.head())
    other.close()


def test_sync_needs_commits_and_sane_attempts(repo: Repository, server: Path) -> None:
    ops.remote_add(repo, "origin", str(server))
    with pytest.raises(RevisionNotFoundError, match="no commits to sync"):
        ops.sync(repo)
    with pytest.raises(UsageError, match="attempts must be at least 1"):
        ops.sync(repo, attempts=0)
