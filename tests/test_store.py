"""Tests for brainvcs.storage.objects: one conformance suite run on a disk store and on dulwich's memory store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dulwich.object_store import DiskObjectStore, MemoryObjectStore
from dulwich.objects import Blob, Commit, Tree
from dulwich.repo import Repo

from brainvcs.snapshot import layout
from brainvcs.storage import objects as store
from brainvcs.storage.graph import CommitGraph
from brainvcs.errors import CorruptObjectError
from brainvcs.snapshot.layout import SnapshotTree
from brainvcs.storage.objects import (ObjectWriter, WriteStats, oid, pack_count, parse_trailers,
                                      read_commit, read_object)
from brainvcs.storage import treereader
from brainvcs.storage.treereader import GitTreeReader


def big_state(version: int = 0) -> dict[str, Any]:
    """A state whose layout has nested directories (a sharded map, a chunked list) and small files."""
    return {
        "language_module": {
            "word_frequency": {f"w{i:04d}": i + (version if i == 7 else 0) for i in range(2000)},
            "notes": "small",
        },
        "history": list(range(5000)),
        "metrics": {"load": 0.5 + version},
    }


def git_objects(tree: SnapshotTree) -> tuple[set[bytes], set[bytes], int]:
    """Independently computed ids of the distinct blobs and trees of a snapshot, and their total raw size."""
    blobs: dict[bytes, int] = {}
    trees: dict[bytes, int] = {}

    def walk(node: SnapshotTree) -> bytes:
        git_tree = Tree()
        for name, entry in node.entries.items():
            if isinstance(entry, SnapshotTree):
                git_tree.add(name.encode(), 0o040000, walk(entry))
            else:
                blob = Blob.from_string(entry)
                blobs[blob.id] = blob.raw_length()
                git_tree.add(name.encode(), 0o100644, blob.id)
        trees[git_tree.id] = git_tree.raw_length()
        return git_tree.id

    walk(tree)
    return set(blobs), set(trees), sum(blobs.values()) + sum(trees.values())


def loose_objects(objects: Any) -> list[bytes]:
    """Loose (unpacked) object ids of a disk store; none for a memory store."""
    if isinstance(objects, DiskObjectStore):
        return list(objects._iter_loose_objects())
    return []


def a_commit(tree_id: bytes, message: bytes = b"m\n") -> Commit:
    """A minimal commit pointing at ``tree_id``."""
    commit = Commit()
    commit.tree = tree_id
    commit.author = commit.committer = b"T <t@example.org>"
    commit.author_time = commit.commit_time = 1_700_000_000
    commit.author_timezone = commit.commit_timezone = 0
    commit.message = message
    return commit


@pytest.fixture(params=["disk", "memory"])
def objects(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """The object store under test: a bare repository's on disk, or dulwich's MemoryObjectStore."""
    if request.param == "memory":
        yield MemoryObjectStore()
        return
    repo = Repo.init_bare(str(tmp_path / "bare"), mkdir=True)
    try:
        yield repo.object_store
    finally:
        repo.close()


class TestObjectStorageConformance:
    """What brainvcs needs from any object store, checked on every implementation."""

    def test_writer_writes_every_object_of_a_new_snapshot_once(self, objects: Any) -> None:
        snapshot = layout.build(big_state())
        blobs, trees, size = git_objects(snapshot.tree)
        writer = ObjectWriter(objects)
        root = writer.add_tree(snapshot.tree)
        assert root.encode() in trees
        assert writer.stats == WriteStats(len(blobs) + len(trees), size, len(blobs), len(trees))
        assert root.encode() not in objects  # nothing is visible before flush
        stats = writer.flush()
        assert stats == WriteStats(len(blobs) + len(trees), size, len(blobs), len(trees))
        assert writer.stats == WriteStats(0, 0, 0, 0)  # nothing pending any more
        assert all(sha in objects for sha in blobs | trees)
        assert isinstance(objects[root.encode()], Tree)
        assert loose_objects(objects) == []
        assert pack_count(objects) == (1 if isinstance(objects, DiskObjectStore) else 0)

    def test_writer_writes_nothing_when_every_object_exists(self, objects: Any) -> None:
        snapshot = layout.build(big_state())
        first = ObjectWriter(objects)
        root = first.add_tree(snapshot.tree)
        first.flush()
        before = set(iter(objects))
        packs = pack_count(objects)
        again = ObjectWriter(objects)
        assert again.add_tree(layout.build(big_state()).tree) == root
        assert again.stats == WriteStats(0, 0, 0, 0)
        assert again.flush() == WriteStats(0, 0, 0, 0)
        assert set(iter(objects)) == before
        assert pack_count(objects) == packs

    def test_writer_writes_only_missing_objects(self, objects: Any) -> None:
        old = layout.build(big_state(0))
        first = ObjectWriter(objects)
        first.add_tree(old.tree)
        first.flush()
        new = layout.build(big_state(1))
        old_blobs, old_trees, _ = git_objects(old.tree)
        new_blobs, new_trees, _ = git_objects(new.tree)
        writer = ObjectWriter(objects)
        writer.add_tree(new.tree)
        stats = writer.stats
        assert (stats.blobs, stats.trees) == (len(new_blobs - old_blobs), len(new_trees - old_trees))
        # One shard of the map, its digests and the metrics module changed: a handful, not thousands.
        assert 0 < stats.objects < 15
        writer.flush()
        assert all(sha in objects for sha in new_blobs | new_trees)
        assert pack_count(objects) == (2 if isinstance(objects, DiskObjectStore) else 0)

    def test_commit_goes_into_the_same_pack_as_its_tree(self, objects: Any) -> None:
        writer = ObjectWriter(objects)
        root = writer.add_tree(layout.build({"m": 1}).tree)
        commit_id = writer.add_commit(a_commit(root.encode()))
        blob_id = writer.add_object(Blob.from_string(b"extra\n"))
        assert writer.add_object(Blob.from_string(b"extra\n")) == blob_id  # the same object once
        assert writer.stats.objects == writer.stats.blobs + writer.stats.trees + 1
        writer.flush()
        assert read_commit(objects, commit_id).tree == root.encode()
        assert pack_count(objects) == (1 if isinstance(objects, DiskObjectStore) else 0)

    def test_tree_reader_lists_reads_and_walks(self, objects: Any) -> None:
        snapshot = layout.build(big_state())
        writer = ObjectWriter(objects)
        root = writer.add_tree(snapshot.tree)
        writer.flush()
        reader = GitTreeReader(objects, root)
        assert reader.list_dir("") == {name: isinstance(entry, SnapshotTree)
                                       for name, entry in snapshot.tree.entries.items()}
        expected_files = dict(snapshot.tree.walk())
        assert list(reader.walk_files()) == list(expected_files)
        assert reader.blobs_read == 0
        for path, data in expected_files.items():
            assert reader.read_file(path) == data
            assert reader.entry_id(path) == Blob.from_string(data).id.decode()
        assert reader.blobs_read == len(expected_files)
        assert reader.bytes_read == sum(len(d) for d in expected_files.values())
        assert reader.entry_id("") == root
        sub = snapshot.tree.entries["language_module"]
        assert isinstance(sub, SnapshotTree)
        assert reader.list_dir("language_module") == {n: isinstance(e, SnapshotTree) for n, e in sub.entries.items()}
        assert isinstance(objects[reader.entry_id("language_module").encode()], Tree)
        assert list(reader.walk_files("history")) == [p for p in expected_files if p.startswith("history/")]
        # The reader satisfies layout.TreeReader: the state loads back.
        assert layout.load(reader) == big_state()

    @pytest.mark.parametrize("call, path", [
        ("read_file", "nope.json"), ("read_file", "language_module"), ("read_file", "language_module/nope.json"),
        ("read_file", "nope/x.json"), ("list_dir", "brain.json"), ("list_dir", "nope"),
        ("list_dir", "language_module/nope"), ("entry_id", "nope"), ("entry_id", "language_module/nope.json"),
    ])
    def test_tree_reader_raises_key_error_for_missing_paths(self, objects: Any, call: str, path: str) -> None:
        writer = ObjectWriter(objects)
        root = writer.add_tree(layout.build(big_state()).tree)
        writer.flush()
        with pytest.raises(KeyError):
            getattr(GitTreeReader(objects, root), call)(path)

    @pytest.mark.parametrize("name, mode", [
        (b"link", 0o120000),
        (b"module", 0o160000),
        (b"..", 0o100644),
        (b".", 0o040000),
        (b".git", 0o040000),
        (b"a\\b", 0o100644),
        (b"\xff\xfe", 0o100644),
    ])
    def test_hostile_entries_are_refused(self, objects: Any, name: bytes, mode: int) -> None:
        blob = Blob.from_string(b"payload\n")
        inner = Tree()
        inner.add(b"x.json", 0o100644, blob.id)
        hostile = Tree()
        target = inner.id if mode == 0o040000 else (b"1" * 40 if mode == 0o160000 else blob.id)
        hostile.add(name, mode, target)
        root = Tree()
        root.add(b"brain.json", 0o100644, blob.id)
        root.add(b"sub", 0o040000, hostile.id)
        objects.add_objects([(blob, None), (inner, None), (hostile, None), (root, None)])
        reader = GitTreeReader(objects, root.id)
        assert reader.list_dir("") == {"brain.json": False, "sub": True}
        with pytest.raises(CorruptObjectError) as info:
            reader.list_dir("sub")
        assert "sub" in info.value.message
        hostile_root = GitTreeReader(objects, hostile.id)
        with pytest.raises(CorruptObjectError):
            hostile_root.list_dir("")

    def test_symlink_message_says_why(self, objects: Any) -> None:
        blob = Blob.from_string(b"/etc/passwd")
        tree = Tree()
        tree.add(b"brain.json", 0o120000, blob.id)
        objects.add_objects([(blob, None), (tree, None)])
        with pytest.raises(CorruptObjectError, match=r"^/brain.json: entry mode 120000 \(symlink or submodule\) "
                                                    r"never appears in a brainvcs snapshot; refusing it$"):
            GitTreeReader(objects, tree.id).read_file("brain.json")

    def test_a_blob_where_a_tree_should_be_is_refused(self, objects: Any) -> None:
        blob = Blob.from_string(b"{}\n")
        objects.add_objects([(blob, None)])
        with pytest.raises(CorruptObjectError, match="snapshot root: expected a tree"):
            GitTreeReader(objects, blob.id).list_dir("")

    def test_oversized_blobs_are_refused(self, objects: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        writer = ObjectWriter(objects)
        root = writer.add_tree(layout.build({"m": "x" * 100}).tree)
        writer.flush()
        monkeypatch.setattr(store, "MAX_JSON_BLOB_BYTES", 50)
        monkeypatch.setattr(treereader, "MAX_JSON_BLOB_BYTES", 50)
        with pytest.raises(CorruptObjectError, match=r"^m.json: (blob of 103 bytes exceeds the 50-byte limit|"
                                                     r"an object declares 103 bytes, over the 50-byte limit)"):
            GitTreeReader(objects, root).read_file("m.json")

    def test_read_object_of_a_missing_id(self, objects: Any) -> None:
        missing = "0123456789abcdef0123456789abcdef01234567"
        with pytest.raises(CorruptObjectError) as info:
            read_object(objects, missing, "modules/x.json")
        assert info.value.message == "modules/x.json: object 0123456789ab is missing from the repository"
        assert info.value.hint == "fetch it again from a clone, or run `brainvcs verify`"
        with pytest.raises(CorruptObjectError, match="commit: object 0123456789ab is missing"):
            read_commit(objects, missing.encode())
        with pytest.raises(CorruptObjectError, match="snapshot root: object 0123456789ab is missing"):
            GitTreeReader(objects, missing).list_dir("")

    def test_read_commit_refuses_other_object_types(self, objects: Any) -> None:
        blob = Blob.from_string(b"not a commit")
        objects.add_objects([(blob, None)])
        with pytest.raises(CorruptObjectError, match=rf"^object {blob.id.decode()[:12]} is a blob, not a commit$"):
            read_commit(objects, blob.id)

    def test_reachable_objects(self, objects: Any) -> None:
        writer = ObjectWriter(objects)
        snapshot = layout.build(big_state())
        root = writer.add_tree(snapshot.tree)
        parent = a_commit(root.encode(), b"first\n")
        writer.add_commit(parent)
        child = a_commit(root.encode(), b"second\n")
        child.parents = [parent.id]
        writer.add_commit(child)
        writer.add_object(Blob.from_string(b"unreachable\n"))
        writer.flush()
        blobs, trees, _ = git_objects(snapshot.tree)
        graph = CommitGraph(objects)
        assert set(graph.reachable_objects([oid(child.id)])) == blobs | trees | {parent.id, child.id}
        assert set(graph.reachable_objects([oid(parent.id)])) == blobs | trees | {parent.id}
        # the path each blob was found at is a packing hint; the root tree sits at ""
        assert graph.reachable_objects([oid(parent.id)])[root.encode()] == b""


def test_flush_on_disk_writes_exactly_one_pack_and_no_loose_objects(tmp_path: Path) -> None:
    repo = Repo.init_bare(str(tmp_path / "bare"), mkdir=True)
    try:
        objects = repo.object_store
        writer = ObjectWriter(objects)
        writer.add_tree(layout.build(big_state()).tree)
        assert pack_count(objects) == 0
        writer.flush()
        pack_dir = Path(objects.pack_dir)
        assert sorted(p.suffix for p in pack_dir.iterdir()) == [".idx", ".pack"]
        assert loose_objects(objects) == []
        # A second flush with nothing pending adds nothing.
        assert writer.flush() == WriteStats(0, 0, 0, 0)
        assert pack_count(objects) == 1
    finally:
        repo.close()


@pytest.mark.parametrize("message, expected", [
    ("subject\n\nBrain-Fingerprint: abc\nBrain-Step: 3\n", {"Brain-Fingerprint": "abc", "Brain-Step": "3"}),
    ("subject only\n", {}),
    ("subject\n\nbody paragraph\n", {}),
    ("subject\n\nKey: v\nnot a trailer line\n", {}),
    ("subject\n\nbody\n\nSigned-off-by: A <a@b>\n", {"Signed-off-by": "A <a@b>"}),
    ("subject\n\n1bad: x\n", {}),
])
def test_parse_trailers(message: str, expected: dict[str, str]) -> None:
    assert parse_trailers(message) == expected


def test_oid_normalises_bytes_and_str() -> None:
    assert store.oid(b"ab" * 20) == "ab" * 20
    assert store.oid("cd" * 20) == "cd" * 20


# --------------------------------------------------------------------------
# Pack indexes read by slicing


def test_pack_index_search_agrees_with_dulwich_on_a_real_index(tmp_path: Path) -> None:
    from dulwich.object_format import SHA1
    from dulwich.pack import load_pack_index

    from brainvcs import Repository
    from brainvcs.storage.packs import _Pack

    with Repository.init(tmp_path / "b") as repo:
        repo.commit({"m": {"words": {f"w{i}": i for i in range(2000)}}}, "words", author="a <a@b.c>")
        assert repo.gitdir is not None
        (idx,) = (repo.gitdir / "objects" / "pack").glob("*.idx")
    index = load_pack_index(str(idx), SHA1)
    try:
        expected = [(sha, offset) for sha, offset, _ in index.iterentries()]
    finally:
        index.close()
    pack = _Pack(str(idx)[:-4] + ".pack")
    try:
        assert len(expected) > 10 and pack.count == len(expected)
        assert [(sha, pack.find(sha)) for sha, _ in expected] == expected
        assert pack.find(b"\0" * 20) is None and pack.find(b"\xff" * 20) is None
    finally:
        pack.close()


def test_pack_index_search_follows_large_offsets_and_refuses_truncation(tmp_path: Path) -> None:
    from dulwich.pack import write_pack_index

    from brainvcs.storage.packs import _Pack

    entries = [(bytes([i]) * 20, offset, 0) for i, offset in ((1, 12), (2, 3 << 31), (3, 5000), (4, (1 << 40) + 7))]
    (tmp_path / "big.pack").write_bytes(b"PACK" + bytes(40))  # only the index is searched here
    with (tmp_path / "big.idx").open("wb") as handle:
        write_pack_index(handle, entries, b"\0" * 20, version=2)
    pack = _Pack(str(tmp_path / "big.pack"))
    try:
        assert [(sha, pack.find(sha)) for sha, _, _ in entries] == [(sha, offset) for sha, offset, _ in entries]
    finally:
        pack.close()
    (tmp_path / "short.pack").write_bytes(b"PACK" + bytes(40))
    (tmp_path / "short.idx").write_bytes((tmp_path / "big.idx").read_bytes()[:1000])
    with pytest.raises(ValueError, match="truncated"):
        _Pack(str(tmp_path / "short.pack"))
    (tmp_path / "short.idx").write_bytes((tmp_path / "big.idx").read_bytes()[:1150])
    with pytest.raises(ValueError, match="holds fewer"):
        _Pack(str(tmp_path / "short.pack"))


def _one_pack_repo(path: Path) -> tuple[Any, Path]:
    from brainvcs import Repository

    repo = Repository.init(path)
    repo.commit({"m": {"words": {f"w{i}": i for i in range(2000)}}}, "words", author="a <a@b.c>")
    assert repo.gitdir is not None
    (idx,) = (repo.gitdir / "objects" / "pack").glob("*.idx")
    return repo, idx


def _rewrite_index(idx: Path, version: int, shift_first: int = 0) -> list[tuple[bytes, int, int | None]]:
    """Rewrite a pack index in ``version`` (optionally moving the first object's offset); return its entries."""
    from dulwich.object_format import SHA1
    from dulwich.pack import load_pack_index, write_pack_index

    index = load_pack_index(str(idx), SHA1)
    try:
        entries = [(sha, offset + (shift_first if n == 0 else 0), crc)
                   for n, (sha, offset, crc) in enumerate(index.iterentries())]
        checksum = index.get_pack_checksum()
    finally:
        index.close()
    idx.unlink()
    with idx.open("wb") as handle:
        write_pack_index(handle, entries, checksum, version=version)
    return entries


def test_pack_reader_reads_through_a_version_1_index(tmp_path: Path) -> None:
    from brainvcs import Repository
    from brainvcs.storage.packs import PackReader

    repo, idx = _one_pack_repo(tmp_path / "b")
    expected = repo.checkout()
    repo.close()
    entries = _rewrite_index(idx, version=1)
    reader = PackReader(str(idx.parent))
    try:
        for sha, _, _ in entries:
            assert sha in reader
            assert reader.read(sha) is not None
        assert b"\0" * 20 not in reader
    finally:
        reader.close()
    with Repository.open(tmp_path / "b") as again:
        assert again.checkout() == expected


def test_pack_reader_refuses_an_index_pointing_outside_its_pack(tmp_path: Path) -> None:
    from brainvcs.storage.packs import PackReader

    repo, idx = _one_pack_repo(tmp_path / "b")
    repo.close()
    entries = _rewrite_index(idx, version=2, shift_first=1 << 30)
    reader = PackReader(str(idx.parent))
    try:
        with pytest.raises(CorruptObjectError, match="outside"):
            reader.read(entries[0][0])
        assert reader.read(entries[1][0]) is not None
    finally:
        reader.close()


def test_incompressible_large_objects_are_stored_at_level_0_and_read_back(tmp_path: Path) -> None:
    import os
    import subprocess
    import zlib

    from brainvcs.storage.packs import SAMPLE_ABOVE, PackReader, compression_level

    noise = os.urandom(SAMPLE_ABOVE * 2)
    text = b'{"a": 1}\n' * (SAMPLE_ABOVE // 4)
    assert compression_level(noise, 1) == 0
    assert compression_level(text, 1) == 1
    assert compression_level(noise[:100], 1) == 1  # small objects are not sampled
    repo = Repo.init(str(tmp_path / "r"), mkdir=True)
    writer = ObjectWriter(repo.object_store)
    tree = SnapshotTree({"noise.bin": noise, "text.json": text})
    tree_id = writer.add_tree(tree)
    writer.flush()
    pack = next((tmp_path / "r" / ".git" / "objects" / "pack").glob("*.pack")).read_bytes()
    assert zlib.compress(noise, 0)[2:20] in pack  # stored, not deflated
    reader = GitTreeReader(repo.object_store, tree_id, PackReader(str(tmp_path / "r" / ".git" / "objects" / "pack")))
    assert reader.read_file("noise.bin") == noise
    assert reader.read_file("text.json") == text
    assert subprocess.run(["git", "-C", str(tmp_path / "r"), "cat-file", "-p", f"{tree_id}:noise.bin"],
                          capture_output=True, check=True).stdout == noise
    subprocess.run(["git", "-C", str(tmp_path / "r"), "fsck", "--strict"], check=True, capture_output=True)


def test_loose_objects_written_by_c_git_count_as_existing(tmp_path: Path) -> None:
    """The writer lists each loose-object directory once instead of a stat per object: git's loose objects are found."""
    import subprocess

    from brainvcs import Repository

    repo = Repository.init(tmp_path / "brain")
    repo.commit(big_state(), "packed")
    gitdir = Path(repo.gitdir)
    packs = sorted((gitdir / "objects" / "pack").glob("*.pack"))
    for pack in packs:  # every object loose, no pack: as a repository C git wrote would be
        data = pack.read_bytes()
        pack.unlink()
        pack.with_suffix(".idx").unlink()
        subprocess.run(["git", "--git-dir", str(gitdir), "unpack-objects", "-q"], input=data, check=True)
    reopened = Repository.open(tmp_path / "brain")
    loose_count = sum(1 for d in (gitdir / "objects").iterdir() if len(d.name) == 2 for _ in d.iterdir())
    assert loose_count > 10
    again = reopened.commit(big_state(1), "one change")
    assert 0 < again.written.blobs < loose_count // 4  # only what changed is new; the loose rest was found
    assert subprocess.run(["git", "--git-dir", str(gitdir), "fsck", "--strict"], capture_output=True).returncode == 0
