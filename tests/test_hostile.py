"""Hostile repositories (e.g. fetched from an untrusted remote) are refused before anything is loaded.

Each repository is built by hand with dulwich or raw pack bytes: trees with
names a filesystem would misread, symlinks and submodules, decompression and
delta bombs, absurd declared sizes, JSON nested 100,000 deep, duplicate keys,
markers claiming 10^12 entries. Every case must end in a one-line
``BrainVCSError`` from both the API and the CLI, with no file written outside
the repository (``checkout -o`` writes only its output file, and not even that
on refusal), and without inflating more than a few megabytes.
"""

from __future__ import annotations

import hashlib
import struct
import tracemalloc
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from dulwich.objects import Blob, Commit, Tree
from dulwich.pack import write_pack_index

from brainvcs import Repository
from brainvcs.snapshot import canonical, layout
from brainvcs.storage import packformat
from brainvcs.errors import BrainVCSError, CorruptObjectError
from brainvcs.storage.objects import ObjectWriter, oid
from tests.conftest import IDENTITY, run_cli

# --------------------------------------------------------------------------
# Building hostile repositories


def _commit(tree: bytes, message: str = "hostile") -> Commit:
    commit = Commit()
    commit.tree = tree
    commit.author = commit.committer = IDENTITY.encode()
    commit.author_time = commit.commit_time = 1_700_000_000
    commit.author_timezone = commit.commit_timezone = 0
    commit.message = message.encode() + b"\n"
    return commit


def reseal(tree: layout.SnapshotTree) -> None:
    """Recompute every digest file and the manifest after an edit: only semantic checks can refuse the result."""

    def seal(directory: layout.SnapshotTree) -> str:
        digests = {name: seal(entry) if isinstance(entry, layout.SnapshotTree) else canonical.blake3_hex(entry)
                   for name, entry in directory.entries.items() if name != layout.DIGESTS}
        sealed = canonical.encode(digests)
        directory.entries[layout.DIGESTS] = sealed
        return canonical.blake3_hex(sealed)

    manifest = canonical.decode(blob(tree, layout.MANIFEST))
    digests = {name: seal(entry) if isinstance(entry, layout.SnapshotTree) else canonical.blake3_hex(entry)
               for name, entry in tree.entries.items() if name not in (layout.MANIFEST, layout.TENSOR_DIR)}
    manifest["digests"] = digests
    for info in manifest["modules"].values():
        if info.get("entry") in digests:
            info["digest"] = digests[info["entry"]]
    manifest["fingerprint"] = canonical.blake3_hex(canonical.encode(digests))
    tree.entries[layout.MANIFEST] = canonical.encode(manifest)


def sub(tree: layout.SnapshotTree, *names: str) -> layout.SnapshotTree:
    """The directory at ``names`` below ``tree``."""
    for name in names:
        entry = tree.entries[name]
        assert isinstance(entry, layout.SnapshotTree)
        tree = entry
    return tree


def blob(tree: layout.SnapshotTree, name: str) -> bytes:
    """The blob ``name`` of ``tree``."""
    entry = tree.entries[name]
    assert isinstance(entry, bytes)
    return entry


def fresh(tree: layout.SnapshotTree) -> layout.SnapshotTree:
    """A copy without the store's cached git ids (so every edited directory is written)."""
    return layout.SnapshotTree({name: fresh(e) if isinstance(e, layout.SnapshotTree) else e
                                for name, e in tree.entries.items()})


def hostile_snapshot(path: Path, state: dict[str, Any], edit: Callable[[layout.SnapshotTree], None],
                     *, sealed: bool = True) -> Path:
    """A repository whose main branch holds ``state``'s snapshot after ``edit`` (digests re-sealed to match)."""
    tree = fresh(layout.build(state).tree)
    edit(tree)
    if sealed:
        reseal(tree)
    with Repository.init(path) as repo:
        writer = ObjectWriter(repo.objects)
        tree_id = writer.add_tree(tree)
        commit = _commit(tree_id.encode())
        writer.add_commit(commit)
        writer.flush()
        repo.refs.move("refs/heads/main", None, oid(commit.id), "hostile")
    return path


def raw_tree(entries: list[tuple[int, bytes, bytes]]) -> bytes:
    """Tree bytes written by hand: dulwich's Tree would sort and check what a hostile writer does not."""
    return b"".join(b"%o %s\0%s" % (mode, name, bytes.fromhex(sha.decode())) for mode, name, sha in entries)


def write_raw_pack(pack_dir: Path, entries: list[dict[str, Any]]) -> list[bytes]:
    """Write a pack byte by byte; returns each entry's object id (hex).

    An entry is ``{"type": n, "data": raw}`` (a whole object), optionally with
    ``"declared"`` (the size its header claims), ``"payload"`` (the zlib stream
    stored) and ``"sha"`` (the id the index files it under); or
    ``{"ofs": index, "delta": bytes, "sha": id}``, a delta against an earlier entry.
    """
    body = bytearray(b"PACK" + struct.pack(">II", 2, len(entries)))
    index: list[tuple[bytes, int, int]] = []
    offsets: list[int] = []
    for entry in entries:
        offset = len(body)
        offsets.append(offset)
        if "ofs" in entry:
            delta = entry["delta"]
            record = packformat.object_header(6, entry.get("declared", len(delta)))
            back = offset - offsets[entry["ofs"]]
            encoded = [back & 0x7F]
            back >>= 7
            while back:
                back -= 1
                encoded.insert(0, 0x80 | (back & 0x7F))
                back >>= 7
            record += bytes(encoded) + zlib.compress(delta)
            sha = entry["sha"]
        else:
            data = entry.get("data", b"")
            record = packformat.object_header(entry["type"], entry.get("declared", len(data)))
            record += entry.get("payload", zlib.compress(data))
            type_name = {1: b"commit", 2: b"tree", 3: b"blob", 4: b"tag"}[entry["type"]]
            sha = entry.get("sha") or hashlib.sha1(b"%s %d\0" % (type_name, len(data)) + data).hexdigest().encode()
        body += record
        index.append((bytes.fromhex(sha.decode()), offset, zlib.crc32(record)))
    trailer = hashlib.sha1(body).digest()
    body += trailer
    name = pack_dir / f"pack-{trailer.hex()}"
    name.with_suffix(".pack").write_bytes(bytes(body))
    with open(name.with_suffix(".idx"), "wb") as idx:
        write_pack_index(idx, sorted(index), trailer, version=2)
    return [sha for sha, _, _ in [(e[0].hex().encode(), e[1], e[2]) for e in index]]


def delta(source_size: int, target_size: int, ops: bytes) -> bytes:
    """A git delta: the two sizes as varints, then copy/insert operations."""
    def varint(n: int) -> bytes:
        out = bytearray()
        while True:
            byte = n & 0x7F
            n >>= 7
            out.append(byte | (0x80 if n else 0))
            if not n:
                return bytes(out)
    return varint(source_size) + varint(target_size) + ops


def copy_op(offset: int, size: int) -> bytes:
    """A delta op copying ``size`` bytes at ``offset`` of the source."""
    cmd, args = 0x80, bytearray()
    for i in range(4):
        if (offset >> (8 * i)) & 0xFF:
            cmd |= 1 << i
            args.append((offset >> (8 * i)) & 0xFF)
    for i in range(3):
        if (size >> (8 * i)) & 0xFF:
            cmd |= 1 << (4 + i)
            args.append((size >> (8 * i)) & 0xFF)
    return bytes([cmd]) + bytes(args)


def snapshot_with_raw_module(path: Path, module_blob_entries: Callable[[], list[dict[str, Any]]],
                             module_bytes: bytes, module_sha: bytes) -> Path:
    """A repository whose module ``m`` is stored by hand-written pack entries (the rest is ordinary).

    The manifest records ``module_bytes``' digest, as if the module held them.
    """
    snapshot = layout.build({"m": 0, "n": 1})
    manifest = snapshot.manifest
    digest = canonical.blake3_hex(module_bytes)
    manifest["digests"]["m.json"] = digest
    manifest["modules"]["m"]["digest"] = digest
    manifest["fingerprint"] = canonical.blake3_hex(canonical.encode(manifest["digests"]))
    manifest_blob = Blob.from_string(canonical.encode(manifest))
    n_blob = Blob.from_string(blob(snapshot.tree, "n.json"))
    tree_bytes = raw_tree([(0o100644, b"brain.json", manifest_blob.id), (0o100644, b"m.json", module_sha),
                           (0o100644, b"n.json", n_blob.id)])
    tree = Tree.from_string(tree_bytes)
    commit = _commit(tree.id)
    with Repository.init(path) as repo:
        entries = module_blob_entries() + [
            {"type": 3, "data": manifest_blob.as_raw_string()}, {"type": 3, "data": n_blob.as_raw_string()},
            {"type": 2, "data": tree_bytes}, {"type": 1, "data": commit.as_raw_string()}]
        write_raw_pack(path / "objects" / "pack", entries)
        repo.refs.move("refs/heads/main", None, oid(commit.id), "hostile")
    return path


# --------------------------------------------------------------------------
# The checks every case ends with


def files_under(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def assert_refused(repo_path: Path, tmp_path: Path, match: str, *, verify: bool = True) -> None:
    """API and CLI both refuse with one line; nothing is written anywhere, not even the output file."""
    with Repository.open(repo_path) as repo:
        with pytest.raises(BrainVCSError, match=match) as info:
            repo.checkout("main")
        assert "\n" not in info.value.message and info.value.hint and "\n" not in info.value.hint
        if verify:
            assert not repo.verify().ok
    before = files_under(tmp_path)
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    for args in (["checkout", "main", "-o", str(out / "state.json")],
                 ["checkout", "main", "--split", "-o", str(out / "split")]):
        result = run_cli(*args, "--repo", repo_path)
        assert result.exit_code in (CorruptObjectError.exit_code, 6), result.output
        lines = result.stderr.splitlines()
        assert len(lines) == 2 and lines[0].startswith("error: ") and lines[1].startswith("hint: "), result.stderr
    assert list(out.iterdir()) == []
    assert files_under(tmp_path) == before


def small_state() -> dict[str, Any]:
    return {"language_module": {"word_frequency": {f"w{i}": i for i in range(3000)}, "active": True},
            "memory_module": {"episodic_memory": [{"step": i, "text": f"memory {i}"} for i in range(1500)]},
            "cognitive_metrics": {"step": 3}}


# --------------------------------------------------------------------------
# Tree entries


@pytest.mark.parametrize("name", [b"..", b".", b".git", b".gitmodules", b"a/b", b"/etc", b"..\\x", b"",
                                  b"\xff\xfe"])
def test_tree_entry_names_a_filesystem_would_misread(tmp_path: Path, name: bytes) -> None:
    snapshot = layout.build({"m": {"x": 1}})
    extra = Blob.from_string(b"{}\n")
    manifest = Blob.from_string(blob(snapshot.tree, "brain.json"))
    module = Blob.from_string(blob(snapshot.tree, "m.json"))
    tree_bytes = raw_tree([(0o100644, b"brain.json", manifest.id), (0o100644, b"m.json", module.id),
                           (0o100644, name, extra.id)])
    commit = _commit(hashlib.sha1(b"tree %d\0" % len(tree_bytes) + tree_bytes).hexdigest().encode())
    path = tmp_path / "repo"
    with Repository.init(path) as repo:
        write_raw_pack(path / "objects" / "pack", [
            {"type": 3, "data": b"{}\n"}, {"type": 3, "data": manifest.as_raw_string()},
            {"type": 3, "data": module.as_raw_string()}, {"type": 2, "data": tree_bytes},
            {"type": 1, "data": commit.as_raw_string()}])
        repo.refs.move("refs/heads/main", None, oid(commit.id), "hostile")
    assert_refused(path, tmp_path, "entry name|refusing")


@pytest.mark.parametrize(("mode", "what"), [(0o120000, "symlink"), (0o160000, "submodule"), (0o100755, None),
                                            (0o040000, None)])
def test_symlinks_submodules_and_odd_modes(tmp_path: Path, mode: int, what: str | None) -> None:
    snapshot = layout.build({"m": {"x": 1}})
    manifest = Blob.from_string(blob(snapshot.tree, "brain.json"))
    target = Blob.from_string(b"/etc/passwd")
    # The module entry itself is the link: following it would read outside the repository.
    tree_bytes = raw_tree([(0o100644, b"brain.json", manifest.id), (mode, b"m.json", target.id)])
    commit = _commit(hashlib.sha1(b"tree %d\0" % len(tree_bytes) + tree_bytes).hexdigest().encode())
    path = tmp_path / "repo"
    with Repository.init(path) as repo:
        write_raw_pack(path / "objects" / "pack", [
            {"type": 3, "data": b"/etc/passwd"}, {"type": 3, "data": manifest.as_raw_string()},
            {"type": 2, "data": tree_bytes}, {"type": 1, "data": commit.as_raw_string()}])
        repo.refs.move("refs/heads/main", None, oid(commit.id), "hostile")
    assert_refused(path, tmp_path, what or "mode|not where that module is stored|digest mismatch")


# --------------------------------------------------------------------------
# Sizes and bombs


def test_a_decompression_bomb_is_refused_before_it_is_inflated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    content = b'"' + b"0" * (64 << 20) + b'"\n'  # 64 MiB that compress to ~64 KiB
    sha = hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest().encode()
    payload = zlib.compress(content, 9)
    path = snapshot_with_raw_module(tmp_path / "repo", lambda: [{"type": 3, "data": content, "payload": payload}],
                                    content, sha)
    del content
    monkeypatch.setattr(packformat, "MAX_OBJECT_BYTES", 1 << 20)  # what is "absurd" scales down for the test
    tracemalloc.start()
    try:
        assert_refused(path, tmp_path, "declares 67108867 bytes, over the 1048576-byte limit")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20, f"{peak} bytes allocated: the bomb was inflated"


@pytest.mark.parametrize("declared", [10**15, 2**62])
def test_absurd_declared_sizes_are_refused_with_the_default_limit(tmp_path: Path, declared: int) -> None:
    payload = zlib.compress(b"\0" * (1 << 20), 9)  # what a bomb would start with
    path = snapshot_with_raw_module(
        tmp_path / "repo", lambda: [{"type": 3, "declared": declared, "payload": payload, "sha": b"ab" * 20}],
        b"0\n", b"ab" * 20)
    tracemalloc.start()
    try:
        assert_refused(path, tmp_path, f"declares {declared} bytes")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20


def test_a_delta_bomb_is_refused_before_it_is_applied(tmp_path: Path) -> None:
    base = b'"' + b"0" * 4094 + b'"\n'
    # Each copy op re-reads the whole 4 KiB base: 2**40 bytes from a delta of a few hundred KB.
    bomb = delta(len(base), 1 << 40, copy_op(0, len(base)) * 1000)
    path = snapshot_with_raw_module(
        tmp_path / "repo", lambda: [{"type": 3, "data": base}, {"ofs": 0, "delta": bomb, "sha": b"cd" * 20}],
        b"0\n", b"cd" * 20)
    tracemalloc.start()
    try:
        assert_refused(path, tmp_path, "declares 1099511627776 bytes")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20


def test_a_long_delta_chain_is_read_without_recursion(tmp_path: Path) -> None:
    """dulwich's gc bounds delta chains by nothing but the history: 3,000 links must still load."""
    content = b'"' + b"x" * 100 + b'"\n'
    entries: list[dict[str, Any]] = [{"type": 3, "data": content}]
    for i in range(3000):
        grown = content[:-2] + b"y" + content[-2:]
        ops = copy_op(0, len(content) - 2) + bytes([3]) + b'y"\n'
        sha = hashlib.sha1(b"blob %d\0" % len(grown) + grown).hexdigest().encode()
        entries.append({"ofs": i, "delta": delta(len(content), len(grown), ops), "sha": sha})
        content = grown
    path = snapshot_with_raw_module(tmp_path / "repo", lambda: entries, content, entries[-1]["sha"])
    with Repository.open(path) as repo:
        assert repo.checkout("main") == {"m": "x" * 100 + "y" * 3000, "n": 1}
        assert repo.verify().ok


def test_a_tensor_descriptor_declaring_a_petabyte(tmp_path: Path) -> None:
    def edit(tree: layout.SnapshotTree) -> None:
        descriptor = {"bytes": 10**15, "chunks": [], "dtype": "<f8", "shape": [125 * 10**12]}
        tree.entries["m.json"] = canonical.encode({"w": {"TENSOR": descriptor}}).replace(b'"TENSOR"', b'"$tensor"')
    path = hostile_snapshot(tmp_path / "repo", {"m": {"w": 0}}, edit)
    # verify checks each descriptor as checkout does, so it reports what checkout refuses
    assert_refused(path, tmp_path, "declares 1000000000000000 bytes")


# --------------------------------------------------------------------------
# JSON


def test_json_nested_100000_deep(tmp_path: Path) -> None:
    def edit(tree: layout.SnapshotTree) -> None:
        tree.entries["m.json"] = b"[" * 100_000 + b"]" * 100_000 + b"\n"
    path = hostile_snapshot(tmp_path / "repo", {"m": 0}, edit)
    assert_refused(path, tmp_path, "m.json: not valid JSON")


def test_json_nested_deeper_than_brainvcs_writes(tmp_path: Path) -> None:
    def edit(tree: layout.SnapshotTree) -> None:
        deep: Any = 0
        for _ in range(200):
            deep = [deep]
        tree.entries["m.json"] = canonical.encode(deep, depth_budget=500)
    path = hostile_snapshot(tmp_path / "repo", {"m": 0}, edit)
    assert_refused(path, tmp_path, "nested deeper")


def test_duplicate_keys_in_a_shard(tmp_path: Path) -> None:
    def edit(tree: layout.SnapshotTree) -> None:
        words = sub(tree, "language_module", "word_frequency")
        name = sorted(n for n in words.entries if n.endswith(".json") and not n.startswith("_"))[0]
        shard = blob(words, name)
        first_line = shard.split(b"\n")[1]  # e.g. '  "w123": 123,'
        words.entries[name] = shard.replace(first_line, first_line + b"\n" + first_line, 1)
    path = hostile_snapshot(tmp_path / "repo", small_state(), edit)
    assert_refused(path, tmp_path, "not in canonical form")


def test_a_map_marker_claiming_a_trillion_entries(tmp_path: Path) -> None:
    def edit(tree: layout.SnapshotTree) -> None:
        words = sub(tree, "language_module", "word_frequency")
        words.entries[layout.MAP_MARKER] = canonical.encode({"bits": 4, "count": 10**12})
    path = hostile_snapshot(tmp_path / "repo", small_state(), edit)
    assert_refused(path, tmp_path, "map holds 3000 entries", verify=False)


def test_a_list_marker_claiming_absurd_chunks(tmp_path: Path) -> None:
    def edit(tree: layout.SnapshotTree) -> None:
        memory = sub(tree, "memory_module", "episodic_memory")
        memory.entries[layout.LIST_MARKER] = canonical.encode({"chunks": 10**12, "count": -1})
    path = hostile_snapshot(tmp_path / "repo", small_state(), edit)
    assert_refused(path, tmp_path, "list holds 1500 items", verify=False)


def test_a_reserved_key_beside_a_tensor(tmp_path: Path) -> None:
    def edit(tree: layout.SnapshotTree) -> None:
        tree.entries["m.json"] = b'{\n  "$tensor": 1,\n  "x": 2\n}\n'
    path = hostile_snapshot(tmp_path / "repo", {"m": 0}, edit)
    assert_refused(path, tmp_path, "reserved key", verify=False)


@pytest.mark.parametrize("levels", [200, 3000])
def test_directories_nested_past_the_depth_limit(tmp_path: Path, levels: int) -> None:
    """Dict directories nested thousands deep, each with digests that match: no reader may recurse that far."""
    inline = Blob.from_string(b"{}\n")
    entries: list[dict[str, Any]] = [{"type": 3, "data": inline.as_raw_string()}]
    digest: str | None = None
    tree_id: bytes | None = None
    for _ in range(levels):  # bottom-up, iteratively: the test itself must not recurse either
        listing: dict[str, str] = {layout.INLINE: canonical.blake3_hex(b"{}\n")}
        items: list[tuple[int, bytes, bytes]] = [(0o100644, layout.INLINE.encode(), inline.id)]
        if tree_id is not None and digest is not None:
            listing["d"] = digest
            items.append((0o040000, b"d", tree_id))
        digests_blob = Blob.from_string(canonical.encode(listing))
        items.append((0o100644, layout.DIGESTS.encode(), digests_blob.id))
        tree_bytes = raw_tree(sorted(items, key=lambda item: item[1] + (b"/" if item[0] == 0o040000 else b"")))
        entries += [{"type": 3, "data": digests_blob.as_raw_string()}, {"type": 2, "data": tree_bytes}]
        digest = canonical.blake3_hex(digests_blob.as_raw_string())
        tree_id = Tree.from_string(tree_bytes).id
    assert digest is not None and tree_id is not None
    manifest = {"digests": {"m": digest}, "fingerprint": canonical.blake3_hex(canonical.encode({"m": digest})),
                "format": layout.FORMAT, "modules": {"m": {"digest": digest, "entry": "m", "kind": "dict"}},
                "stats": {}}
    manifest_blob = Blob.from_string(canonical.encode(manifest))
    root = raw_tree([(0o100644, b"brain.json", manifest_blob.id), (0o040000, b"m", tree_id)])
    commit = _commit(Tree.from_string(root).id)
    path = tmp_path / "repo"
    with Repository.init(path) as repo:
        write_raw_pack(path / "objects" / "pack", entries + [
            {"type": 3, "data": manifest_blob.as_raw_string()}, {"type": 2, "data": root},
            {"type": 1, "data": commit.as_raw_string()}])
        repo.refs.move("refs/heads/main", None, oid(commit.id), "hostile")
        with pytest.raises(CorruptObjectError, match="nest deeper than 128 levels"):
            repo.checkout("main")
        report = repo.verify()  # verify walks trees too: it must not overflow the stack either
        assert report.commits == 1 and not report.ok, report.problems[:3]


@pytest.mark.parametrize("how", ["swap", "alias", "drop"])
def test_a_manifest_that_rebinds_modules(tmp_path: Path, how: str) -> None:
    """The fingerprint covers entries, not the module table: rebinding must still be refused."""
    def edit(tree: layout.SnapshotTree) -> None:
        manifest = canonical.decode(blob(tree, layout.MANIFEST))
        modules = manifest["modules"]
        if how == "swap":
            modules["a"], modules["b"] = modules["b"], modules["a"]
        elif how == "alias":
            modules["a"] = dict(modules["b"])
        else:
            del modules["a"]
        tree.entries[layout.MANIFEST] = canonical.encode(manifest)
    path = hostile_snapshot(tmp_path / "repo", {"a": 1, "b": 2}, edit, sealed=False)
    assert_refused(path, tmp_path, "brain.json: (the entry of module|entries)")


def test_a_module_named_like_a_path_stays_inside_the_output_directory(tmp_path: Path) -> None:
    state = {"../../outside": 1, "/etc/passwd": 2, "..": 3, "a/../../b": [1]}
    with Repository.init(tmp_path / "repo") as repo:
        repo.commit(state, "odd module names")
    out = tmp_path / "out" / "split"
    result = run_cli("checkout", "--split", "-o", out, "--repo", tmp_path / "repo")
    assert result.exit_code == 0, result.output
    written = sorted(p for p in tmp_path.rglob("*.json"))
    assert written and all(p.parent == out for p in written)
    from brainvcs.snapshot import statefile

    assert statefile.read_state(out) == state
