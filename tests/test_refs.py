"""Tests for brainvcs.storage.refs: ref-name rules and compare-and-swap ref moves."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from dulwich.objects import Blob, Commit, Tree

from brainvcs import Repository
from brainvcs.errors import InvalidRefNameError, RefConflict, RevisionNotFoundError
from brainvcs.storage.refs import RefStore, check_ref_name
from brainvcs.storage.objects import ObjectId

VALID = ["main", "feature/x", "alice/experiment-2", "v1.0", "a_b", "日本", "x@y", "a-", "UPPER/lower",
         "a.b/c", "release-2024.11", "a+b"]
# name -> the phrase of the refusal message
INVALID = {
    "": "is empty",
    "-x": "starts with '-'",
    "HEAD": "is reserved",
    "@": "is reserved",
    "a b": "contains a space",
    "a\tb": "contains a space",
    "a\x7fb": "contains a space",
    "a\x00b": "contains a space",
    "a~1": "one of ~ ^ : ? * [ \\",
    "a^": "one of ~ ^ : ? * [ \\",
    "a:b": "one of ~ ^ : ? * [ \\",
    "a?": "one of ~ ^ : ? * [ \\",
    "a*": "one of ~ ^ : ? * [ \\",
    "a[": "one of ~ ^ : ? * [ \\",
    "a\\b": "one of ~ ^ : ? * [ \\",
    "a..b": "contains '..', '@{' or '//'",
    "a@{1}": "contains '..', '@{' or '//'",
    "a//b": "contains '..', '@{' or '//'",
    "/a": "starts or ends with '/'",
    "a/": "starts or ends with '/'",
    "a.": "ends with '.'",
    ".hidden": "component starting with '.'",
    "a/.b": "component starting with '.'",
    "x.lock": "ending with '.lock'",
    "a/b.lock": "ending with '.lock'",
    "a.lock/b": "ending with '.lock'",
}


@pytest.mark.parametrize("name", VALID)
def test_check_ref_name_accepts(name: str) -> None:
    assert check_ref_name(name) == name
    assert check_ref_name(name, "tag") == name


@pytest.mark.parametrize("name", sorted(INVALID))
def test_check_ref_name_refuses(name: str) -> None:
    with pytest.raises(InvalidRefNameError) as info:
        check_ref_name(name, "tag")
    assert info.value.message.startswith(f"invalid tag name {name!r}: it ")
    assert INVALID[name] in info.value.message
    assert info.value.exit_code == 2
    assert info.value.hint is not None


# "@" is accepted by `git check-ref-format --branch` but means HEAD in revisions: brainvcs refuses it on purpose.
_CROSS_CHECK = [n for n in VALID] + [n for n in INVALID if n != "@" and "\x00" not in n]


def test_check_ref_name_agrees_with_c_git(tmp_path: Path) -> None:
    disagreements = []
    for name in _CROSS_CHECK:
        proc = subprocess.run(["git", "check-ref-format", "--branch", name], cwd=tmp_path, capture_output=True)
        git_ok = proc.returncode == 0
        try:
            check_ref_name(name)
            ours = True
        except InvalidRefNameError:
            ours = False
        if git_ok != ours:
            disagreements.append((name, git_ok, ours))
    assert disagreements == []


# --------------------------------------------------------------------------
# RefStore


def make_commits(repo: Repository, n: int = 3) -> list[ObjectId]:
    """Store ``n`` distinct commits (not referenced by any ref) and return their ids."""
    blob = Blob.from_string(b"x\n")
    tree = Tree()
    tree.add(b"f", 0o100644, blob.id)
    objects: list[tuple[object, None]] = [(blob, None), (tree, None)]
    ids = []
    for i in range(n):
        commit = Commit()
        commit.tree = tree.id
        commit.author = commit.committer = b"T <t@example.org>"
        commit.author_time = commit.commit_time = 1_700_000_000 + i
        commit.author_timezone = commit.commit_timezone = 0
        commit.message = f"c{i}\n".encode()
        objects.append((commit, None))
        ids.append(ObjectId(commit.id.decode()))
    repo.objects.add_objects(objects)
    return ids


def test_move_with_the_right_expectation_succeeds(repo: Repository) -> None:
    a, b, _ = make_commits(repo)
    refs = repo.refs
    refs.move("refs/heads/main", None, a, "create")
    assert refs.get("refs/heads/main") == a
    assert refs.get("HEAD") == a  # HEAD is symbolic to main
    refs.move("refs/heads/main", a, b, "advance")
    assert refs.get("refs/heads/main") == b
    assert repo.gitdir is not None
    assert (repo.gitdir / "refs" / "heads" / "main").read_text() == b + "\n"


def test_move_with_a_stale_expectation_raises_and_changes_nothing(repo: Repository) -> None:
    a, b, c = make_commits(repo)
    refs = repo.refs
    refs.move("refs/heads/main", None, a, "create")
    refs.move("refs/heads/main", a, b, "advance")
    with pytest.raises(RefConflict) as info:
        refs.move("refs/heads/main", a, c, "stale")
    assert (info.value.ref, info.value.expected, info.value.actual) == ("refs/heads/main", a, b)
    assert info.value.exit_code == 7
    assert info.value.message == (f"refs/heads/main moved while this operation ran (expected {a[:12]}, "
                                  f"found {b[:12]}); nothing was changed")
    assert refs.get("refs/heads/main") == b
    assert repo.gitdir is not None
    assert not (repo.gitdir / "refs" / "heads" / "main.lock").exists()


def test_add_if_new_semantics_with_expected_none(repo: Repository) -> None:
    a, b, _ = make_commits(repo)
    refs = repo.refs
    refs.move("refs/tags/v1", None, a, "tag")
    with pytest.raises(RefConflict) as info:
        refs.move("refs/tags/v1", None, b, "tag again")
    assert (info.value.expected, info.value.actual) == (None, a)
    assert "expected nothing" in info.value.message
    assert refs.get("refs/tags/v1") == a


def test_move_expecting_a_value_on_a_missing_ref(repo: Repository) -> None:
    a, b, _ = make_commits(repo)
    with pytest.raises(RefConflict) as info:
        repo.refs.move("refs/heads/ghost", a, b, "x")
    assert (info.value.expected, info.value.actual) == (a, None)
    assert "found nothing" in info.value.message
    assert repo.refs.get("refs/heads/ghost") is None


def test_delete_with_the_right_and_the_wrong_expectation(repo: Repository) -> None:
    a, b, _ = make_commits(repo)
    refs = repo.refs
    refs.move("refs/heads/topic", None, a, "create")
    with pytest.raises(RefConflict) as info:
        refs.delete("refs/heads/topic", b)
    assert (info.value.ref, info.value.expected, info.value.actual) == ("refs/heads/topic", b, a)
    assert refs.get("refs/heads/topic") == a
    refs.delete("refs/heads/topic", a)
    assert refs.get("refs/heads/topic") is None
    with pytest.raises(RevisionNotFoundError, match="^refs/heads/topic does not exist$"):
        refs.delete("refs/heads/topic", a)


def test_listings_and_head(repo: Repository) -> None:
    a, b, c = make_commits(repo)
    refs = repo.refs
    assert refs.head_branch() == "main"
    assert refs.head_ref() == "refs/heads/main"
    assert refs.get("HEAD") is None  # unborn
    assert (refs.branches(), refs.tags(), refs.remote_branches(), refs.all()) == ({}, {}, {}, {})
    refs.move("refs/heads/main", None, a, "x")
    refs.move("refs/heads/alice/exp", None, b, "x")
    refs.move("refs/tags/v1", None, c, "x")
    refs.move("refs/remotes/origin/main", None, a, "x")
    assert refs.branches() == {"alice/exp": b, "main": a}
    assert refs.tags() == {"v1": c}
    assert refs.remote_branches() == {"origin/main": a}
    assert refs.all() == {"refs/heads/alice/exp": b, "refs/heads/main": a, "refs/remotes/origin/main": a,
                          "refs/tags/v1": c}
    refs.set_head_branch("alice/exp")
    assert refs.head_branch() == "alice/exp"
    assert refs.get("HEAD") == b
    refs.detach_head(c)
    assert refs.head_branch() is None
    assert refs.head_ref() == "HEAD"
    assert refs.get("HEAD") == c
    assert isinstance(refs, RefStore)


def test_refstore_on_a_memory_repository() -> None:
    repo = Repository.memory()
    a, b, _ = make_commits(repo)
    repo.refs.move("refs/heads/main", None, a, "x")
    with pytest.raises(RefConflict):
        repo.refs.move("refs/heads/main", b, a, "x")
    repo.refs.move("refs/heads/main", a, b, "x")
    assert repo.refs.branches() == {"main": b}
