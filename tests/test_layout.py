"""Snapshot layout: names, sharding, chunking, tensors, round trips, golden snapshots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from dulwich.object_store import MemoryObjectStore
from hypothesis import given, settings
from hypothesis import strategies as st

from brainvcs.snapshot import canonical, layout
from brainvcs.errors import CorruptObjectError, IntegrityError, InvalidStateError, UsageError
from brainvcs.storage.objects import ObjectWriter

GOLDEN = Path(__file__).parent.parent / "fixtures/golden/snapshot-vectors.json"


def golden_states() -> dict[str, Any]:
    """Small states that exercise every node kind; their ids are pinned in fixtures/golden."""
    return {
        "tiny": {"cognitive_metrics": {"cognitive_load": 0.55, "step": 3}},
        "map": {"language": {"word_frequency": {f"word{i}": i for i in range(3000)}, "active": True}},
        "list": {"memory": {"episodic": [{"content": f"memory {i}", "step": i, "w": i / 8} for i in range(1500)]}},
        "dict_dir": {"lang": {"big": {f"k{i}": "x" * 400 for i in range(60)}, "small": [1, 2.5, None], "flag": False}},
        "odd_names": {"m": {"": {"_hidden": 1}, "x" * 300: list(range(400))}, "a/b": [1], "ünï": "ok", "_meta": {"x": 1}},
    }


def tree_id(state: dict[str, Any]) -> str:
    writer = ObjectWriter(MemoryObjectStore())
    return writer.add_tree(layout.build(state).tree)


def roundtrip(state: dict[str, Any]) -> dict[str, Any]:
    return layout.load(layout.MemoryTreeReader(layout.build(state).tree))


def test_golden_snapshots_are_pinned() -> None:
    expected = json.loads(GOLDEN.read_text("utf-8"))
    actual = {name: {"fingerprint": layout.build(state).fingerprint, "tree": tree_id(state)}
              for name, state in golden_states().items()}
    assert actual == expected


@pytest.mark.parametrize("name", sorted(golden_states()))
def test_golden_states_round_trip(name: str) -> None:
    state = golden_states()[name]
    assert roundtrip(state) == state


def test_node_kinds() -> None:
    manifest = layout.build({**golden_states()["map"], **golden_states()["list"],
                             **golden_states()["dict_dir"], "x": 1}).manifest
    kinds = {name: info["kind"] for name, info in manifest["modules"].items()}
    assert kinds == {"language": "dict", "memory": "dict", "lang": "dict", "x": "value"}
    tree = layout.build(golden_states()["map"]).tree
    language = tree.entries["language"]
    assert isinstance(language, layout.SnapshotTree)
    word_frequency = language.entries["word_frequency"]
    assert isinstance(word_frequency, layout.SnapshotTree)
    assert layout.MAP_MARKER in word_frequency.entries


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=20))
def test_escape_name_round_trips_and_is_safe(key: str) -> None:
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        return
    name = layout.escape_name(key)
    assert layout.unescape_name(name) == key
    assert "/" not in name and name not in (".", "..") and not name.startswith(("_", "."))
    assert name.isascii()


def test_unescape_refuses_non_canonical_names() -> None:
    for bad in ("%zz", "a%2", "%61", "_x"):
        with pytest.raises(CorruptObjectError):
            layout.unescape_name(bad)


def test_shard_membership_and_names() -> None:
    state = {"m": {f"key-{i}": i for i in range(20000)}}
    snapshot = layout.build(state)
    paths = [p for p, _ in snapshot.tree.walk() if p.startswith("m/") and p.endswith(".json")
             and not p.endswith((layout.MAP_MARKER, layout.DIGESTS))]
    marker = json.loads(dict(snapshot.tree.walk())["m/_map.json"])
    bits = marker["bits"]
    assert marker["count"] == 20000 and bits >= 4
    data = dict(snapshot.tree.walk())
    for path in paths:
        shard = json.loads(data[path])
        for key in shard:
            assert layout.shard_name(layout.key_hash(key) >> (64 - bits), bits) == path[2:]
    sizes = [len(data[p]) for p in paths]
    assert max(sizes) < 4 * layout.SHARD_TARGET


def test_shard_name_levels() -> None:
    assert layout.shard_name(0x5, 4) == "5.json"
    assert layout.shard_name(0xAB, 8) == "ab.json"
    assert layout.shard_name(0xABC, 12) == "ab/c.json"
    assert layout.shard_name(0x1, 10) == "00/4.json"
    assert layout.shard_name(0xABCDE, 20) == "ab/cd/e.json"


def _changed(old: layout.Snapshot, new: layout.Snapshot, prefix: str) -> set[str]:
    before = dict(old.tree.walk())
    return {p for p, b in new.tree.walk() if p.startswith(prefix) and not p.endswith(layout.DIGESTS)
            and not p.endswith(layout.LIST_MARKER) and before.get(p) != b}


def test_rolling_window_rewrites_few_chunks() -> None:
    items = [{"content": f"memory number {i}", "step": i} for i in range(5000)]
    old = layout.build({"memory": {"episodic": items}})
    rolled = items[1:] + [{"content": "a new memory", "step": 5000}]
    new = layout.build({"memory": {"episodic": rolled}})
    changed = {p.rsplit("/", 1)[-1] for p in _changed(old, new, "memory/episodic/")}
    old_chunks = {p for p, _ in old.tree.walk() if p.startswith("memory/episodic/0")}
    assert len(old_chunks) > 50
    # the first chunk lost an item, the last gained one; names may shift only if chunk 0 vanished
    new_blobs = {b for p, b in new.tree.walk() if p.startswith("memory/episodic/0")}
    old_blobs = {b for p, b in old.tree.walk() if p.startswith("memory/episodic/0")}
    assert len(new_blobs - old_blobs) <= 3, changed


def test_map_update_rewrites_one_shard() -> None:
    words = {f"w{i}": i for i in range(50000)}
    old = layout.build({"lang": {"freq": words}})
    words = dict(words)
    words["w123"] += 1
    new = layout.build({"lang": {"freq": words}})
    assert len(_changed(old, new, "lang/freq/")) == 1


def test_tensors_round_trip_and_chunk() -> None:
    big = np.arange(400_000, dtype=np.float32).reshape(400, 1000)
    state = {
        "weights": {"w1": big, "bias": np.array([1, -2, 3], dtype=">i4"), "flag": np.array(True),
                    "empty": np.zeros((0, 3), dtype=np.float64), "c": np.array([1 + 2j], dtype=np.complex64)},
        "plain": 1,
    }
    snapshot = layout.build(state)
    chunks = [p for p, _ in snapshot.tree.walk() if p.startswith(layout.TENSOR_DIR + "/")]
    assert len(chunks) == 2 + 3  # 1.6 MB in two 1 MiB chunks + three small tensors (the empty one has none)
    back = layout.load(layout.MemoryTreeReader(snapshot.tree))
    for key, array in state["weights"].items():
        restored = back["weights"][key]
        assert restored.shape == array.shape
        assert restored.dtype == array.dtype.newbyteorder("<") if array.dtype.byteorder == ">" else array.dtype
        assert np.array_equal(restored, array)
    assert back["weights"]["bias"].dtype.str == "<i4"
    changed = big.copy()
    changed[0, 0] = -1
    new = layout.build({**state, "weights": {**state["weights"], "w1": changed}})
    new_chunks = {p for p, _ in new.tree.walk() if p.startswith(layout.TENSOR_DIR + "/")}
    assert len(new_chunks - set(chunks)) == 1


def test_unstorable_dtype_is_refused() -> None:
    with pytest.raises(InvalidStateError, match=r"^m\.x: .*object"):
        layout.build({"m": {"x": np.array([object()], dtype=object)}})


def test_invalid_states() -> None:
    with pytest.raises(InvalidStateError, match="mapping"):
        layout.build([1, 2])  # type: ignore[arg-type]
    with pytest.raises(InvalidStateError, match="module names"):
        layout.build({1: 2})  # type: ignore[dict-item]
    with pytest.raises(InvalidStateError, match=r"^m\.big\.k3: NaN"):
        layout.build({"m": {"big": {f"k{i}": float("nan") if i == 3 else "x" * 500 for i in range(40)}}})


def test_partial_load() -> None:
    state = {"a": 1, "b": {"c": [1, 2]}}
    reader = layout.MemoryTreeReader(layout.build(state).tree)
    assert layout.load(reader, modules=["b"]) == {"b": {"c": [1, 2]}}
    with pytest.raises(UsageError, match="no module named 'z'"):
        layout.load(reader, modules=["z"])


def _tampered(state: dict[str, Any], path: str, data: bytes | None) -> layout.MemoryTreeReader:
    tree = layout.build(state).tree
    node = tree
    parts = path.split("/")
    for part in parts[:-1]:
        child = node.entries[part]
        assert isinstance(child, layout.SnapshotTree)
        node = child
    if data is None:
        del node.entries[parts[-1]]
    else:
        node.entries[parts[-1]] = data
    return layout.MemoryTreeReader(tree)


def test_tampered_blob_is_an_integrity_error() -> None:
    state = golden_states()["map"]
    path = next(p for p, _ in layout.build(state).tree.walk() if p.startswith("language/word_frequency/") and
                p.endswith(".json") and "_" not in p.rsplit("/", 1)[-1])
    original = dict(layout.build(state).tree.walk())[path]
    forged = original.replace(b": 1", b": 9", 1) if b": 1" in original else original + b" "
    with pytest.raises(IntegrityError, match="BLAKE3 digest mismatch"):
        layout.load(_tampered(state, path, forged))


def test_missing_or_extra_entries_are_refused() -> None:
    state = golden_states()["map"]
    path = next(p for p, _ in layout.build(state).tree.walk() if p.startswith("language/word_frequency/") and
                not p.endswith((layout.DIGESTS, layout.MAP_MARKER)))
    with pytest.raises(CorruptObjectError):
        layout.load(_tampered(state, path, None))
    with pytest.raises(CorruptObjectError, match="do not match"):
        layout.load(_tampered(state, "language/word_frequency/extra.json", b"{}\n"))


def test_manifest_checks() -> None:
    with pytest.raises(CorruptObjectError, match="not a brainvcs snapshot"):
        layout.read_manifest(layout.MemoryTreeReader(layout.SnapshotTree({"x.json": b"1\n"})))
    bad = layout.build({"a": 1})
    manifest = dict(bad.manifest)
    manifest["format"] = "brainvcs-snapshot/99"
    bad.tree.entries[layout.MANIFEST] = canonical.encode(manifest)
    from brainvcs.errors import UnsupportedFormatError

    with pytest.raises(UnsupportedFormatError):
        layout.read_manifest(layout.MemoryTreeReader(bad.tree))


# --------------------------------------------------------------------------
# Snapshots whose digests all match but which brainvcs never writes (tests/test_hostile.py has more)


def _resealed(state: dict[str, Any], edit: Any) -> layout.MemoryTreeReader:
    from tests.test_hostile import fresh, reseal

    tree = fresh(layout.build(state).tree)
    edit(tree)
    reseal(tree)
    return layout.MemoryTreeReader(tree)


def test_a_digest_that_is_not_a_digest() -> None:
    def edit(tree: layout.SnapshotTree) -> None:
        directory = tree.entries["lang"]
        assert isinstance(directory, layout.SnapshotTree)
        directory.entries["extra.json"] = b"1\n"

    reader = _resealed(golden_states()["dict_dir"], edit)
    digests_blob = reader.read_file("lang/_b3.json")
    forged = canonical.decode(digests_blob)
    forged["extra.json"] = 12345
    tree = reader._tree
    tree.entries["lang"].entries[layout.DIGESTS] = canonical.encode(forged)  # type: ignore[union-attr]
    manifest = canonical.decode(tree.entries[layout.MANIFEST])  # type: ignore[arg-type]
    digest = canonical.blake3_hex(tree.entries["lang"].entries[layout.DIGESTS])  # type: ignore[union-attr]
    manifest["digests"]["lang"] = manifest["modules"]["lang"]["digest"] = digest
    manifest["fingerprint"] = canonical.blake3_hex(canonical.encode(manifest["digests"]))
    tree.entries[layout.MANIFEST] = canonical.encode(manifest)
    with pytest.raises(CorruptObjectError, match="the digest of 'extra.json' is malformed"):
        layout.load(reader)


def test_a_member_stored_both_inline_and_as_an_entry() -> None:
    def edit(tree: layout.SnapshotTree) -> None:
        directory = tree.entries["lang"]
        assert isinstance(directory, layout.SnapshotTree)
        inline = canonical.decode(directory.entries[layout.INLINE])  # type: ignore[arg-type]
        inline["big"] = "shadowed"
        directory.entries[layout.INLINE] = canonical.encode(inline)

    with pytest.raises(CorruptObjectError, match="member 'big' is stored twice"):
        layout.load(_resealed(golden_states()["dict_dir"], edit))


def test_a_list_chunk_that_is_a_directory() -> None:
    def edit(tree: layout.SnapshotTree) -> None:
        chunks = tree.entries["memory"].entries["episodic"]  # type: ignore[union-attr]
        chunks.entries["000000.json"] = layout.SnapshotTree({layout.INLINE: b"{}\n"})

    with pytest.raises(CorruptObjectError, match="a list chunk is a directory"):
        layout.load(_resealed(golden_states()["list"], edit))


@pytest.mark.parametrize("chunks", [[7], [None], ["zz" * 32], [["a"]]])
def test_a_tensor_chunk_digest_that_is_not_a_digest(chunks: list[Any]) -> None:
    def edit(tree: layout.SnapshotTree) -> None:
        descriptor = {"bytes": 8, "chunks": chunks, "dtype": "<f8", "shape": [1]}
        tree.entries["m.json"] = canonical.encode({"TENSOR": descriptor}).replace(b'"TENSOR"', b'"$tensor"')

    with pytest.raises(CorruptObjectError, match="tensor chunk list is malformed"):
        layout.load(_resealed({"m": 0}, edit))


def test_loading_accepts_exactly_the_nesting_building_accepts() -> None:
    deep: Any = 1
    for _ in range(canonical.MAX_DEPTH - 1):  # a module sits at depth 1: this is as deep as it may go
        deep = [deep]
    assert roundtrip({"m": deep}) == {"m": deep}
    with pytest.raises(InvalidStateError, match="nested deeper"):
        layout.build({"m": [deep]})
