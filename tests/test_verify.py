"""Tests for brainvcs.storage.verify: a clean repository passes; every kind of corruption is reported, and
checking out the damaged commit fails instead of returning a different brain."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
from dulwich.objects import Blob, Commit

from brainvcs import Repository
from brainvcs.snapshot import canonical, layout
from brainvcs.snapshot.canonical import blake3_hex
from brainvcs.errors import BrainVCSError, CorruptObjectError, IntegrityError
from brainvcs.snapshot.layout import DIGESTS, MANIFEST, SnapshotTree
from brainvcs.storage.objects import FINGERPRINT_TRAILER, ObjectId, ObjectWriter
from brainvcs.storage.verify import VerifyReport
from tests.conftest import IDENTITY

MAP_DIR = "language_module/word_frequency"


def brain_state(load: float = 0.5) -> dict[str, Any]:
    """A state with a sharded map (16 shards), a chunked list and a small module."""
    return {
        "language_module": {"word_frequency": {f"w{i:04d}": i for i in range(2000)}, "notes": "small"},
        "history": list(range(5000)),
        "metrics": {"load": load},
    }


def node(tree: SnapshotTree, path: str) -> Any:
    """The entry at ``path`` inside a snapshot tree."""
    current: Any = tree
    for part in path.split("/"):
        current = current.entries[part]
    return current


def put(tree: SnapshotTree, path: str, data: bytes) -> None:
    """Replace the blob at ``path``."""
    parent, _, name = path.rpartition("/")
    directory = node(tree, parent) if parent else tree
    assert name in directory.entries
    directory.entries[name] = data


def _seal_dir(tree: SnapshotTree) -> str:
    """Rewrite ``_b3.json`` of ``tree`` and every directory below; return ``tree``'s digest."""
    digests = {}
    for name, entry in tree.entries.items():
        if name != DIGESTS:
            digests[name] = _seal_dir(entry) if isinstance(entry, SnapshotTree) else blake3_hex(entry)
    data = canonical.encode(digests)
    tree.entries[DIGESTS] = data
    return blake3_hex(data)


def reseal(root: SnapshotTree) -> str:
    """Recompute every ``_b3.json``, the manifest digests and the fingerprint after a hand edit."""
    manifest = canonical.decode(root.entries[MANIFEST])
    for info in manifest["modules"].values():
        entry = root.entries[info["entry"]]
        digest = _seal_dir(entry) if isinstance(entry, SnapshotTree) else blake3_hex(entry)
        info["digest"] = manifest["digests"][info["entry"]] = digest
    manifest["fingerprint"] = blake3_hex(canonical.encode(manifest["digests"]))
    root.entries[MANIFEST] = canonical.encode(manifest)
    return str(manifest["fingerprint"])


def commit_tree(repo: Repository, tree: SnapshotTree, branch: str, *, fingerprint: str | None,
                parents: tuple[str, ...] = ()) -> ObjectId:
    """Write a hand-built snapshot tree and a commit for it (with the trailer given), and point a branch at it."""
    writer = ObjectWriter(repo.objects)
    tree_id = writer.add_tree(tree)
    commit = Commit()
    commit.tree = tree_id.encode()
    commit.parents = [p.encode() for p in parents]
    commit.author = commit.committer = IDENTITY.encode()
    commit.author_time = commit.commit_time = 1_700_000_100
    commit.author_timezone = commit.commit_timezone = 0
    trailer = f"\n\n{FINGERPRINT_TRAILER}: {fingerprint}" if fingerprint else ""
    commit.message = f"hand-made{trailer}\n".encode()
    commit_id = writer.add_commit(commit)
    writer.flush()
    repo.refs.move(f"refs/heads/{branch}", None, commit_id, "test")
    return commit_id


def shard_of(key: str) -> str:
    """The shard path of a key in MAP_DIR (the map has 16 shards: 4 bits)."""
    bits = canonical.decode(node(layout.build(brain_state()).tree, f"{MAP_DIR}/_map.json"))["bits"]
    assert bits == 4
    return f"{MAP_DIR}/{layout.key_hash(key) >> 60:x}.json"


@pytest.fixture
def good(repo: Repository) -> tuple[Repository, str]:
    """A repository whose main holds ``brain_state()``; returns it and the commit id."""
    result = repo.commit(brain_state(), "good", timestamp=1_700_000_000)
    assert result.commit is not None
    return repo, result.commit.id


# --------------------------------------------------------------------------
# Clean repositories


def test_a_clean_repository_verifies(good: tuple[Repository, str]) -> None:
    repo, _ = good
    # 1 commit + 28 blobs (every blob but brain.json, checked apart) + the map's _map.json read twice.
    assert repo.verify() == VerifyReport(commits=1, snapshots=1, objects=30, problems=[])
    repo.commit(brain_state(1.5), "second", timestamp=1_700_000_001)
    report = repo.verify()
    # Unchanged subtrees are not verified twice: the second commit costs its commit and metrics.json.
    assert report == VerifyReport(commits=2, snapshots=2, objects=32, problems=[])
    assert report.ok is True
    assert report.to_json() == {"ok": True, "commits": 2, "snapshots": 2, "objects": 32, "problems": []}
    # A commit reached through an annotated tag too is verified (and counted) once.
    repo.create_tag("v1", "HEAD~1", message="annotated")
    tagged = repo.verify()
    assert (tagged.commits, tagged.snapshots, tagged.problems) == (2, 2, [])
    assert repo.verify("HEAD~1") == VerifyReport(commits=1, snapshots=1, objects=30, problems=[])
    assert len({c.tree for c in repo.graph.walk([repo.resolve("HEAD")])}) == 2


def test_an_empty_repository_verifies(repo: Repository) -> None:
    assert repo.verify() == VerifyReport()


def test_a_repository_with_tensors_verifies(repo: Repository) -> None:
    repo.commit({"w": np.arange(300_000, dtype=np.float32)}, "tensor")
    report = repo.verify()
    assert report.ok and report.commits == 1


# --------------------------------------------------------------------------
# Corruption, one case at a time. Each is reported as a problem and makes checkout fail.


def test_a_shard_blob_replaced_while_its_digest_stays(good: tuple[Repository, str]) -> None:
    repo, good_id = good
    snapshot = layout.build(brain_state())
    path = shard_of("w0007")
    old = node(snapshot.tree, path)
    shard = canonical.decode(old)
    shard["w0007"] = 7000
    new = canonical.encode(shard)
    put(snapshot.tree, path, new)  # _b3.json still records the old digest
    bad = commit_tree(repo, snapshot.tree, "bad", fingerprint=snapshot.fingerprint)
    report = repo.verify("bad")
    assert report.problems == [f"commit {bad[:12]}: {path}: BLAKE3 digest mismatch "
                               f"(recorded {blake3_hex(old)[:16]}…, computed {blake3_hex(new)[:16]}…)"]
    with pytest.raises(IntegrityError) as info:
        repo.checkout("bad")
    assert (info.value.what, info.value.expected, info.value.actual) == (path, blake3_hex(old), blake3_hex(new))
    assert info.value.exit_code == 9
    # The whole-repository report holds the same problem; the good commit is untouched.
    assert repo.verify().problems == report.problems
    assert repo.verify(good_id).ok
    assert repo.checkout("main") == brain_state()


def test_a_non_canonical_blob_with_a_correct_digest(good: tuple[Repository, str]) -> None:
    repo, _ = good
    snapshot = layout.build(brain_state())
    path = shard_of("w0007")
    compact = orjson.dumps(canonical.decode(node(snapshot.tree, path)))  # same values, no indentation
    put(snapshot.tree, path, compact)
    fingerprint = reseal(snapshot.tree)
    bad = commit_tree(repo, snapshot.tree, "bad", fingerprint=fingerprint)
    assert fingerprint != snapshot.fingerprint
    assert repo.verify("bad").problems == [f"commit {bad[:12]}: {path} is not in canonical form"]
    # Every digest matches and the bytes encode the same values: checkout may refuse the foreign
    # layout, or return those values, but never a different brain.
    try:
        state = repo.checkout("bad")
    except CorruptObjectError as exc:
        assert exc.message.startswith(f"{path}: not in canonical form")
    else:
        assert state == brain_state()


def test_a_map_shard_holding_a_key_of_another_shard(good: tuple[Repository, str]) -> None:
    repo, _ = good
    snapshot = layout.build(brain_state())
    home = shard_of("w0007")
    other = next(f"{MAP_DIR}/{i:x}.json" for i in range(16) if f"{MAP_DIR}/{i:x}.json" != home)
    home_shard = canonical.decode(node(snapshot.tree, home))
    other_shard = canonical.decode(node(snapshot.tree, other))
    other_shard["w0007"] = home_shard.pop("w0007")
    put(snapshot.tree, home, canonical.encode(home_shard))
    put(snapshot.tree, other, canonical.encode(other_shard))
    bad = commit_tree(repo, snapshot.tree, "bad", fingerprint=reseal(snapshot.tree))
    assert repo.verify("bad").problems == [f"commit {bad[:12]}: {other}: key 'w0007' does not belong in this shard"]


def test_a_key_in_two_shards_is_refused_on_checkout(good: tuple[Repository, str]) -> None:
    repo, _ = good
    snapshot = layout.build(brain_state())
    home = shard_of("w0007")
    other = next(f"{MAP_DIR}/{i:x}.json" for i in range(16) if f"{MAP_DIR}/{i:x}.json" != home)
    other_shard = canonical.decode(node(snapshot.tree, other))
    other_shard["w0007"] = -1  # a second, different value for the same key; the count stays 2000
    put(snapshot.tree, other, canonical.encode(other_shard))
    bad = commit_tree(repo, snapshot.tree, "bad", fingerprint=reseal(snapshot.tree))
    assert repo.verify("bad").problems == [f"commit {bad[:12]}: {other}: key 'w0007' does not belong in this shard"]
    with pytest.raises(CorruptObjectError, match="more than one shard"):
        repo.checkout("bad")


def test_a_wrong_fingerprint_trailer(good: tuple[Repository, str]) -> None:
    repo, _ = good
    snapshot = layout.build(brain_state())
    wrong = "0" * 64
    bad = commit_tree(repo, snapshot.tree, "bad", fingerprint=wrong)
    assert repo.verify("bad").problems == [
        f"commit {bad[:12]}: Brain-Fingerprint trailer {wrong[:16]}… does not match the snapshot's "
        f"{snapshot.fingerprint[:16]}…"]
    with pytest.raises(IntegrityError, match="Brain-Fingerprint"):
        repo.checkout("bad")
    # A commit without a trailer (e.g. made by C git on the same tree) is fine.
    commit_tree(repo, snapshot.tree, "no-trailer", fingerprint=None)
    assert repo.verify("no-trailer").ok
    assert repo.checkout("no-trailer") == brain_state()


def test_a_manifest_whose_fingerprint_does_not_match_its_digests(good: tuple[Repository, str]) -> None:
    repo, _ = good
    snapshot = layout.build(brain_state())
    manifest = dict(snapshot.manifest)
    manifest["fingerprint"] = "f" * 64
    snapshot.tree.entries[MANIFEST] = canonical.encode(manifest)
    bad = commit_tree(repo, snapshot.tree, "bad", fingerprint=None)
    problems = repo.verify("bad").problems
    assert len(problems) == 1 and problems[0].startswith(f"commit {bad[:12]}: brain.json fingerprint: BLAKE3 digest")
    with pytest.raises(IntegrityError):
        repo.checkout("bad")


def test_an_entry_missing_from_a_directory(good: tuple[Repository, str]) -> None:
    repo, _ = good
    snapshot = layout.build(brain_state())
    del node(snapshot.tree, MAP_DIR).entries["3.json"]
    bad = commit_tree(repo, snapshot.tree, "bad", fingerprint=snapshot.fingerprint)
    assert repo.verify("bad").problems == [
        f"commit {bad[:12]}: {MAP_DIR}/_b3.json does not list exactly the entries of {MAP_DIR}"]
    with pytest.raises(CorruptObjectError, match="entries do not match _b3.json"):
        repo.checkout("bad")


def test_a_missing_blob_in_a_memory_repository() -> None:
    repo = Repository.memory()
    result = repo.commit(brain_state(), "good")
    assert result.commit is not None
    path = shard_of("w0007")
    sha = repo.reader().entry_id(path)
    del repo.objects._data[sha.encode()]
    report = repo.verify()
    assert report.problems == [f"commit {result.commit.id[:12]}: {path}: object {sha[:12]} is missing from the repository"]
    with pytest.raises(CorruptObjectError, match=rf"^{path}: object {sha[:12]} is missing from the repository$"):
        repo.checkout()
    # Modules that do not need the missing object still check out.
    assert repo.checkout(modules=["metrics"]) == {"metrics": {"load": 0.5}}


def test_a_missing_tree_and_a_missing_parent_commit() -> None:
    repo = Repository.memory()
    first = repo.commit(brain_state(), "first").commit
    second = repo.commit(brain_state(2.5), "second").commit
    assert first is not None and second is not None
    tree_sha = repo.reader().entry_id(MAP_DIR)
    del repo.objects._data[first.id.encode()]
    report = repo.verify()
    assert f"commit {first.id[:12]}: object {first.id[:12]} is missing from the repository" in report.problems
    del repo.objects._data[tree_sha.encode()]
    report = repo.verify()
    assert report.commits == 1
    assert f"commit {second.id[:12]}: {MAP_DIR}: object {tree_sha[:12]} is missing from the repository" \
        in report.problems
    with pytest.raises(CorruptObjectError, match="is missing from the repository"):
        repo.checkout()
    with pytest.raises(CorruptObjectError, match="is missing from the repository"):
        repo.log()


def test_a_missing_loose_object_on_disk(good: tuple[Repository, str]) -> None:
    repo, good_id = good
    snapshot = layout.build(brain_state(9.5))
    lost = Blob.from_string(node(snapshot.tree, "metrics.json"))
    repo.objects.add_object(lost)  # loose; the commit's pack then holds every other new object
    bad = commit_tree(repo, snapshot.tree, "bad", fingerprint=snapshot.fingerprint)
    Path(repo.objects._get_shafile_path(lost.id)).unlink()
    assert lost.id not in repo.objects
    assert repo.verify("bad").problems == [
        f"commit {bad[:12]}: metrics.json: object {lost.id.decode()[:12]} is missing from the repository"]
    with pytest.raises(CorruptObjectError, match="metrics.json: object .* is missing from the repository"):
        repo.checkout("bad")
    assert repo.checkout("bad", modules=["history"]) == {"history": brain_state()["history"]}
    assert repo.checkout(good_id) == brain_state()
    assert repo.verify(good_id).ok


@pytest.fixture(scope="module")
def packed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A repository holding ``brain_state()`` in one gc'd (deltified) pack; built once for the flips."""
    path = tmp_path_factory.mktemp("packed") / "brain"
    with Repository.init(path) as repo:
        result = repo.commit(brain_state(), "good", author=IDENTITY, timestamp=1_700_000_000)
        repo.gc()
        assert result.commit is not None
        return path, result.commit.id


@pytest.mark.parametrize("fraction", [0.1, 0.25, 0.5, 0.75, 0.9, 0.99])
def test_a_bit_flip_inside_a_pack(packed: tuple[Path, str], tmp_path: Path, fraction: float) -> None:
    source, good_id = packed
    copy = tmp_path / "copy"
    shutil.copytree(source, copy)
    (pack,) = (copy / "objects" / "pack").glob("*.pack")
    data = bytearray(pack.read_bytes())
    data[int(len(data) * fraction)] ^= 0x10
    pack.write_bytes(bytes(data))
    with Repository.open(copy) as damaged:
        try:
            report = damaged.verify()
        except BrainVCSError:
            pass
        else:
            assert report.ok is False
            assert all(p.startswith((f"commit {good_id[:12]}: ", "pack pack-")) for p in report.problems)
            assert any(p.startswith("pack pack-") and ": damaged (ChecksumMismatch: " in p for p in report.problems)
        try:
            state = damaged.checkout(good_id)
        except BrainVCSError as exc:
            assert isinstance(exc, CorruptObjectError)
        else:
            assert state == brain_state()  # never a different brain


def test_verify_checks_each_commit_of_a_blob_under_the_digest_that_commit_records(tmp_path: Path) -> None:
    """A hand-edited commit (a module changed, digests not) below a resealed one: 'verified N' covers both.

    The blob of the edited module is the same object in both commits; verify used to trust it in the
    older commit once it had checked it in the newer one, under the newer one's (correct) digest.
    """
    from brainvcs.snapshot import canonical
    from tests.test_hostile import hostile_snapshot

    edited = {"m": {"w": 2}, "n": 1}
    path = hostile_snapshot(tmp_path / "repo", {"m": {"w": 1}, "n": 1},
                            lambda tree: tree.entries.__setitem__("m.json", canonical.encode(edited["m"])),
                            sealed=False)
    with Repository.open(path) as repo:
        hand_edited = repo.head()
        repo.commit({**edited, "n": 2}, "resealed, then learned more")  # holds the same m.json blob, sealed
        report = repo.verify()
        assert report.commits == 2 and not report.ok
        assert any(f"commit {hand_edited[:12]}" in p and "m.json: BLAKE3 digest mismatch" in p
                   for p in report.problems), report.problems
        assert not repo.verify("main~1").ok
