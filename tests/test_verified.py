"""Snapshots are verified once in a repository (brainvcs.storage.verified); verify still checks everything."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from brainvcs import Repository
from brainvcs.errors import BrainVCSError
from brainvcs.snapshot import canonical, read
from brainvcs.storage.verified import FILE_NAME, VerifiedTrees
from tests.test_hostile import hostile_snapshot, small_state


def _count_hashing(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the reader's BLAKE3 digests and canonical re-encodes (the manifest's own check is one)."""
    calls: list[int] = []
    real_hash, real_encode = read.blake3_hex, canonical._plain_encode

    def hashing(data: Any) -> Any:
        calls.append(1)
        return real_hash(data)

    def encoding(value: Any) -> Any:
        calls.append(1)
        return real_encode(value)

    monkeypatch.setattr(read, "blake3_hex", hashing)
    monkeypatch.setattr(canonical, "_plain_encode", encoding)
    return calls


def test_a_commit_is_trusted_by_every_later_checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state = small_state()
    with Repository.init(tmp_path / "r") as repo:
        tree = repo.commit(state, "first").commit.tree
    assert tree in (tmp_path / "r" / FILE_NAME).read_text().split()
    calls = _count_hashing(monkeypatch)
    with Repository.open(tmp_path / "r") as repo:
        blobs = sum(1 for _ in repo.reader()._store.iter_tree_contents(repo.commit_info().tree.encode()))
        assert repo.checkout() == state
    assert blobs > 20 and len(calls) <= 2  # the manifest's digest map, read twice: nothing else


def test_a_snapshot_from_elsewhere_is_verified_on_its_first_checkout_only(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    state = small_state()
    with Repository.init(tmp_path / "a") as origin:
        origin.commit(state, "first")
    subprocess.run(["git", "clone", "-q", "--bare", str(tmp_path / "a"), str(tmp_path / "b")], check=True)
    with Repository.open(tmp_path / "b") as clone:
        tree = clone.commit_info("main").tree
        assert tree not in clone.verified
        hashed = _count_hashing(monkeypatch)
        assert clone.checkout("main", modules=["memory_module"]) == {"memory_module": state["memory_module"]}
        assert len(hashed) > 2 and tree not in clone.verified  # part of it read: not recorded
        hashed.clear()
        assert clone.checkout("main") == state
        assert len(hashed) > 20 and tree in clone.verified
        hashed.clear()
        assert clone.checkout("main") == state
        assert len(hashed) <= 2


def test_a_hostile_snapshot_is_refused_and_never_recorded(tmp_path: Path) -> None:
    def edit(tree: Any) -> None:
        tree.entries["m.json"] = b'{"a": 1, "a": 2}\n'
    path = hostile_snapshot(tmp_path / "repo", {"m": {"a": 1}}, edit)
    for _ in range(2):
        with Repository.open(path) as repo:
            with pytest.raises(BrainVCSError, match="not in canonical form"):
                repo.checkout("main")
            assert repo.commit_info("main").tree not in repo.verified
    assert not (path / FILE_NAME).exists()


def test_verify_still_checks_a_trusted_snapshot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Repository.init(tmp_path / "r") as repo:
        tree = repo.commit(small_state(), "first").commit.tree
        assert tree in repo.verified
        hashed: list[int] = []
        real = canonical.blake3_hex
        monkeypatch.setattr(canonical, "blake3_hex", lambda data: hashed.append(1) or real(data))
        assert repo.verify().ok
    assert len(hashed) > 20  # every blob of the trusted snapshot hashed again


def test_the_record_ignores_junk_and_survives_a_read_only_repository(tmp_path: Path) -> None:
    gitdir = tmp_path / "g"
    gitdir.mkdir()
    record = VerifiedTrees(gitdir)
    record.add("a" * 40)
    with (gitdir / FILE_NAME).open("a") as extra:
        extra.write("not-an-id\n" + "b" * 40 + "\n" + "c" * 40 + " " + "0" * 32 + "\n../../etc\n")
    again = VerifiedTrees(gitdir)
    assert "a" * 40 in again
    assert "b" * 40 not in again and "c" * 40 not in again  # untagged, or tagged under another key
    again.add("nonsense")
    assert VerifiedTrees(gitdir)._load() == {"a" * 40}
    gitdir.chmod(0o500)
    (gitdir / FILE_NAME).chmod(0o400)
    try:
        VerifiedTrees(gitdir).add("d" * 40)  # cannot write: nothing recorded, nothing raised
    finally:
        gitdir.chmod(0o700)
        (gitdir / FILE_NAME).chmod(0o600)
    memory = VerifiedTrees(None)
    memory.add("e" * 40)
    assert "e" * 40 in memory


def test_a_record_copied_from_another_user_is_not_trusted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    import brainvcs.storage.verified as verified

    monkeypatch.setattr(verified, "_process_key", None)
    with Repository.init(tmp_path / "r") as repo:
        tree = repo.commit(small_state(), "first").commit.tree
    key = Path(os.environ["XDG_CONFIG_HOME"]) / "brainvcs" / "trust-key"
    assert key.is_file() and key.stat().st_mode & 0o777 == 0o600 and len(key.read_bytes()) == 32
    with Repository.open(tmp_path / "r") as repo:
        assert tree in repo.verified
    monkeypatch.setattr(verified, "_process_key", None)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "someone-else"))
    with Repository.open(tmp_path / "r") as repo:
        assert tree not in repo.verified  # their tags do not match this user's key: verify again
        assert repo.checkout() == small_state()
        assert tree in repo.verified


def test_without_a_place_for_the_key_trust_lasts_for_the_process_and_nothing_is_written(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import brainvcs.storage.verified as verified

    real_open = verified.os.open

    def no_key_file(path: Any, *args: Any) -> int:
        if str(path).endswith("trust-key"):
            raise PermissionError(13, "read-only home", str(path))
        return real_open(path, *args)

    monkeypatch.setattr(verified, "_process_key", None)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setattr(verified.os, "open", no_key_file)
    with Repository.init(tmp_path / "r") as repo:
        tree = repo.commit(small_state(), "first").commit.tree
        assert tree in repo.verified  # trusted in this process
    assert not (tmp_path / "r" / FILE_NAME).exists()


def test_a_snapshot_checked_as_it_comes_in_is_recorded(tmp_path: Path) -> None:
    with Repository.init(tmp_path / "a") as origin:
        origin.commit(small_state(), "first")
    subprocess.run(["git", "clone", "-q", "--bare", str(tmp_path / "a"), str(tmp_path / "b")], check=True)
    with Repository.open(tmp_path / "b") as clone:
        commit = clone.resolve("main")
        assert clone.commit_info(commit).tree not in clone.verified
        clone.check_snapshot(commit)  # what merge, pull and sync run before a fast-forward
        assert clone.commit_info(commit).tree in clone.verified
