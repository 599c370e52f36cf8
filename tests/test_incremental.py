"""Incremental layout: re-encoding only declared paths gives the same bytes as a full build."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from dulwich.object_store import MemoryObjectStore

from brainvcs import Repository
from brainvcs.snapshot import layout
from brainvcs.brains import SIZES, change_fraction, learning_step, synthetic_state
from brainvcs.snapshot.incremental import ALL, parse_changed
from brainvcs.storage.objects import ObjectWriter


def _same(incremental: layout.Snapshot, state: dict[str, Any]) -> None:
    full = layout.build(state)
    assert incremental.fingerprint == full.fingerprint
    assert dict(incremental.tree.walk()) == dict(full.tree.walk())
    assert ObjectWriter(MemoryObjectStore()).add_tree(incremental.tree) == \
        ObjectWriter(MemoryObjectStore()).add_tree(full.tree)


def test_parse_changed() -> None:
    trie = parse_changed(["a.b.c", ("a", "b", "d"), ("x",), "a.b"])
    assert trie == {"a": {"b": ALL}, "x": ALL}
    assert parse_changed([("k", "with.dot")]) == {"k": {"with.dot": ALL}}


def test_learning_steps_with_declared_paths_match_full_builds() -> None:
    state = synthetic_state(**SIZES["S"])
    base = layout.build(state)
    for step in range(1, 8):
        if step % 3 == 0:
            changed = change_fraction(state, 0.05, step=step)
        else:
            changed = learning_step(state, step=step, touched_words=30, new_words=2, touched_neurons=4,
                                    max_memories=len(state["memory_module"]["episodic_memory"]))
        snapshot = layout.build(state, base=base, changed=changed)
        _same(snapshot, state)
        base = snapshot


def test_removed_and_undeclared_keys_fall_back_to_exact_results() -> None:
    rng = random.Random(3)
    state = {"lang": {"freq": {f"w{i}": i for i in range(5000)}, "meta": {"n": 1}}, "other": [1, 2]}
    base = layout.build(state)
    # removed keys, declared
    for key in rng.sample(sorted(state["lang"]["freq"]), 10):
        del state["lang"]["freq"][key]
        changed = [("lang", "freq", key)]
        base = layout.build(state, base=base, changed=changed)
        _same(base, state)
    # an added key the caller forgot to declare: the key count gives it away
    state["lang"]["freq"]["surprise"] = 1
    snapshot = layout.build(state, base=base, changed=[("lang", "freq", "w1")])
    _same(snapshot, state)
    # a member added to a small dict without declaring it
    state["lang"]["new_member"] = {"x": 1}
    _same(layout.build(state, base=snapshot, changed=[("lang", "meta")]), state)


def test_crossing_a_shard_threshold_rebuilds_the_map() -> None:
    state = {"m": {f"k{i}": "v" * 20 for i in range(2000)}}
    base = layout.build(state)
    changed = []
    for i in range(2000, 6000):  # enough growth to need more shard bits
        state["m"][f"k{i}"] = "v" * 20
        changed.append(("m", f"k{i}"))
    snapshot = layout.build(state, base=base, changed=changed)
    _same(snapshot, state)
    marker_before = dict(base.tree.walk())["m/_map.json"]
    marker_after = dict(snapshot.tree.walk())["m/_map.json"]
    assert marker_before != marker_after


def test_repository_commit_uses_the_previous_snapshot(tmp_path: Path) -> None:
    state = synthetic_state(**SIZES["S"])
    with Repository.init(tmp_path / "r") as repo:
        repo.commit(state, "first")
        noop = repo.commit(state, "nothing", changed=[])
        assert not noop.changed
        changed = learning_step(state, step=1, max_memories=len(state["memory_module"]["episodic_memory"]))
        result = repo.commit(state, "step", changed=changed)
        assert result.changed
        assert result.fingerprint == layout.build(state).fingerprint
        assert repo.checkout() == state
        assert repo.verify().ok
    # a new Repository object has no previous snapshot: `changed` is ignored, the build is full
    with Repository.open(tmp_path / "r") as repo:
        changed = learning_step(state, step=2, max_memories=len(state["memory_module"]["episodic_memory"]))
        state["language_module"]["word_frequency"]["undeclared"] = 5
        result = repo.commit(state, "step 2", changed=changed)
        assert repo.checkout()["language_module"]["word_frequency"]["undeclared"] == 5


def test_states_with_tensors_rebuild_incrementally_and_exactly() -> None:
    import numpy as np

    weights = np.arange(300_000, dtype=np.float64).reshape(600, 500)  # several chunks
    state: dict[str, Any] = {
        "net": {"weights": weights, "bias": np.zeros(10), "names": [f"n{i}" for i in range(2000)]},
        "other": {"same": weights, "count": 1},
        "words": {f"w{i}": i for i in range(3000)},
    }
    previous = layout.build(state)
    assert previous.has_tensors
    edits = [
        (lambda: state["words"].__setitem__("w1", 10), [("words", "w1")]),
        (lambda: state["net"]["names"].append("n"), [("net", "names")]),  # a reused member keeps its chunks
        (lambda: state["net"].__setitem__("bias", np.ones(10)), [("net", "bias")]),  # the old chunk goes
        (lambda: state["other"].__setitem__("same", weights[:10].copy()), [("other", "same")]),
        (lambda: state.pop("other"), [("other",)]),
        (lambda: state["net"].__setitem__("weights", weights + 1), [("net", "weights")]),
    ]
    for edit, changed in edits:
        edit()
        rebuilt = layout.build(state, base=previous, changed=changed)
        _same(rebuilt, state)
        previous = rebuilt
