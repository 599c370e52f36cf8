"""The semantic diff engine (brainvcs.diff) and its API (brainvcs.diff.api).

Brains are built with known differences — words learned and forgotten,
counters moved, weights changed, memories appended and rolled off, tensors
changed — and the exact diff is asserted, as records, text and JSON. Reads are
counted to show that unchanged shards and chunks are skipped.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from brainvcs import Repository
from brainvcs.snapshot import canonical, layout
from brainvcs.diff import api as diffapi
from brainvcs.brains import change_fraction, synthetic_state
from brainvcs.brains.synthetic import synthetic_word
from brainvcs.diff import (BrainDiff, CounterRecord, FloatRecord, KeysRecord, ListRecord, TensorRecord,
                           diff_snapshots, render_text, summarize_snapshots, to_json)
from brainvcs.diff.summary import brain_summary
from brainvcs.errors import IntegrityError, NotABrainCommitError, UsageError
from brainvcs.storage.treereader import GitTreeReader
from tests.conftest import IDENTITY


def old_state() -> dict[str, Any]:
    """A small brain before a learning step."""
    return {
        "language_module": {
            "vocabulary": {"hello": {"n1": True}, "world": {"n2": False}},
            "word_frequency": {"hello": 12, "sea": 5, "world": 3},
            "neurons": {
                "n1": {"threshold": 0.5, "connections": {"n2": 0.5, "n3": 0.25}, "spike_history": [1, 5, 9]},
                "n2": {"threshold": 0.75, "connections": {"n1": 0.5}, "spike_history": [2]},
            },
        },
        "memory_module": {"episodic_memory": [{"step": 1}, {"step": 2}, {"step": 3}], "active": True},
        "cognitive_metrics": {"step": 10, "mood": "calm"},
    }


def new_state() -> dict[str, Any]:
    """The same brain after it: learned "tide", forgot "world", moved counters and weights, rolled memories."""
    return {
        "language_module": {
            "vocabulary": {"hello": {"n1": True}, "tide": {"n3": True}},
            "word_frequency": {"hello": 19, "sea": 4, "tide": 1},
            "neurons": {
                "n1": {"threshold": 0.5, "connections": {"n2": 0.75, "n3": 0.25, "n4": 0.125},
                       "spike_history": [5, 9, 11]},
                "n2": {"threshold": 0.625, "connections": {"n1": 0.5}, "spike_history": [2]},
            },
        },
        "memory_module": {"episodic_memory": [{"step": 2}, {"step": 3}, {"step": 4}, {"step": 5}], "active": False},
        "cognitive_metrics": {"step": 11, "mood": "curious"},
    }


def memory_reader(state: dict[str, Any]) -> layout.MemoryTreeReader:
    """A reader over the (uncommitted) snapshot of ``state``."""
    return layout.MemoryTreeReader(layout.build(state).tree)


def diff_states(old: dict[str, Any] | None, new: dict[str, Any], **options: Any) -> BrainDiff:
    """Diff two states through in-memory snapshots."""
    return diff_snapshots(memory_reader(old) if old is not None else None, memory_reader(new), **options)


def commit_pair(repo: Repository, old: dict[str, Any], new: dict[str, Any]) -> tuple[GitTreeReader, GitTreeReader]:
    """Commit ``old`` then ``new``; fresh readers of both commits."""
    repo.commit(old, "before", author=IDENTITY)
    repo.commit(new, "after", author=IDENTITY)
    return repo.reader("HEAD~1"), repo.reader("HEAD")


EXPECTED_TEXT = """\
summary: +1 word, -1 word, +1 connection, episodic memory +2, 1 rolled off, word frequency +6 (2 changed), \
spike history +1, 1 rolled off, n1.connections.n2 0.5 → 0.75, and 4 more

cognitive_metrics: step 10 → 11, mood "calm" → "curious"
  mood: 1 value changed
    mood: "calm" → "curious"
  step: 1 counter changed, total +1 (1 up, 0 down)
    step: 10 → 11 (+1)

language_module: +1 word, -1 word, +1 connection, word frequency +6 (2 changed), spike history +1, 1 rolled off, \
n1.connections.n2 0.5 → 0.75, n2.threshold 0.75 → 0.625
  neurons.*.connections: 1 key added
    + n1.connections.n4: 0.125
  neurons.*.connections.*: 1 float changed (1 up, 0 down), mean +0.25, mean |Δ| 0.25, max |Δ| 0.25
    n1.connections.n2: 0.5 → 0.75 (+0.25)
  neurons.*.spike_history: 3 → 3 items: +1 appended, 1 dropped from head
    - n1.spike_history: 1
    + n1.spike_history: 11
  neurons.*.threshold: 1 float changed (0 up, 1 down), mean -0.125, mean |Δ| 0.125, max |Δ| 0.125
    n2.threshold: 0.75 → 0.625 (-0.125)
  vocabulary: 1 key added, 1 key removed
    + tide: {"n3":true}
    - world: {"n2":false}
  word_frequency: 1 key added, 1 key removed
    + tide: 1
    - world: 3
  word_frequency.*: 2 counters changed, total +6 (1 up, 1 down)
    hello: 12 → 19 (+7)
    sea: 5 → 4 (-1)

memory_module: episodic memory +2, 1 rolled off, active true → false
  active: 1 value changed
    active: true → false
  episodic_memory: 3 → 4 items: +2 appended, 1 dropped from head
    - {"step":1}
    + {"step":4}
    + {"step":5}
"""


# --------------------------------------------------------------------------
# What a learning step looks like


def test_learning_step_text_is_exact() -> None:
    assert render_text(diff_states(old_state(), new_state()), limit=None) == EXPECTED_TEXT


def test_learning_step_records_are_exact() -> None:
    result = diff_states(old_state(), new_state())
    assert [m.module for m in result.modules] == ["cognitive_metrics", "language_module", "memory_module"]
    language = result.module("language_module")
    assert language is not None
    assert [(r.type, r.path) for r in language.records] == [
        ("keys", "language_module.neurons.*.connections"),
        ("float", "language_module.neurons.*.connections.*"),
        ("list", "language_module.neurons.*.spike_history"),
        ("float", "language_module.neurons.*.threshold"),
        ("keys", "language_module.vocabulary"),
        ("keys", "language_module.word_frequency"),
        ("counter", "language_module.word_frequency.*"),
    ]
    words = language.records[5]
    assert isinstance(words, KeysRecord)
    assert [(i.path, i.key, i.value) for i in words.added] == [("language_module.word_frequency.tide", "tide", 1)]
    assert [(i.key, i.value) for i in words.removed] == [("world", 3)]
    counters = language.records[6]
    assert isinstance(counters, CounterRecord)
    assert [(c.path, c.old, c.new, c.delta) for c in counters.movers()] == [
        ("language_module.word_frequency.hello", 12, 19, 7), ("language_module.word_frequency.sea", 5, 4, -1)]
    assert (counters.total_delta, counters.increased, counters.decreased) == (6, 1, 1)
    spikes = language.records[2]
    assert isinstance(spikes, ListRecord)
    assert [(i.op, i.value) for i in spikes.items] == [("drop", 1), ("append", 11)]


def test_learning_step_json_is_exact() -> None:
    document = to_json(diff_states(old_state(), new_state()), limit=1)
    assert document["type"] == "brain_diff"
    assert document["limit"] == 1
    memory = document["modules"][2]
    assert memory == {
        "type": "module", "module": "memory_module", "status": "modified",
        "summary": "episodic memory +2, 1 rolled off, active true → false",
        "records": [
            {"type": "value", "path": "memory_module.active", "changed": 1,
             "items": [{"path": "memory_module.active", "old": True, "new": False}]},
            {"type": "list", "path": "memory_module.episodic_memory", "lists": 1, "old_count": 3, "new_count": 4,
             "appended": 2, "dropped": 1, "inserted": 0, "removed": 0, "changed": 0,
             "items": [{"path": "memory_module.episodic_memory", "op": "drop", "value": {"step": 1}}]},
        ],
    }
    weights = document["modules"][1]["records"][1]
    assert weights == {
        "type": "float", "path": "language_module.neurons.*.connections.*", "changed": 1, "increased": 1,
        "decreased": 0, "ignored": 0, "mean_delta": 0.25, "mean_abs_delta": 0.25, "max_abs_delta": 0.25,
        "items": [{"path": "language_module.neurons.n1.connections.n2", "old": 0.5, "new": 0.75, "delta": 0.25}],
    }


def test_summary_says_words_once_and_first() -> None:
    result = diff_states(old_state(), new_state())
    assert brain_summary(result, limit=3) == "+1 word, -1 word, +1 connection, episodic memory +2, 1 rolled off, and 7 more"


def test_weights_strengthened_and_counter_totals_in_summary() -> None:
    old: dict[str, Any] = {"net": {"neurons": {f"n{i}": {"connections": {"a": 0.5, "b": 0.25}} for i in range(4)}},
                           "language": {"word_frequency": {"hello": 1, "sea": 1}}}
    new = copy.deepcopy(old)
    for i in range(4):
        new["net"]["neurons"][f"n{i}"]["connections"]["a"] = 0.625
    new["language"]["word_frequency"] = {"hello": 5, "sea": 3}
    assert brain_summary(diff_states(old, new)) == "4 connections strengthened (mean +0.125), word frequency +6 (2 changed)"


def test_identical_snapshots_have_no_diff() -> None:
    result = diff_states(old_state(), old_state())
    assert result.modules == []
    assert brain_summary(result) == "no changes"


def test_first_snapshot_is_a_new_brain() -> None:
    result = diff_states(None, old_state())
    assert result.initial
    assert [(m.module, m.status, m.records) for m in result.modules] == [
        ("cognitive_metrics", "added", []), ("language_module", "added", []), ("memory_module", "added", [])]
    assert brain_summary(result) == "new brain: 3 modules (cognitive_metrics, language_module, memory_module)"


def test_module_added_and_removed() -> None:
    old = {"a": 1, "b": 2}
    new = {"b": 2, "c": 3}
    result = diff_states(old, new)
    assert [(m.module, m.status) for m in result.modules] == [("a", "removed"), ("c", "added")]
    assert brain_summary(result) == "removed module a, new module c"


# --------------------------------------------------------------------------
# Floats and tolerance


def test_tolerance_counts_small_float_changes_without_listing_them() -> None:
    old = {"m": {"weights": {"a": 0.5, "b": 0.5, "c": 0.5}}}
    new = {"m": {"weights": {"a": 0.5009765625, "b": 0.75, "c": 0.25}}}
    plain = diff_states(old, new).records()
    assert len(plain) == 1 and isinstance(plain[0], FloatRecord)
    assert (len(plain[0].items), plain[0].ignored) == (3, 0)
    tolerant = diff_states(old, new, tolerance=0.01).records()[0]
    assert isinstance(tolerant, FloatRecord)
    assert [(i.path, i.delta) for i in tolerant.movers()] == [("m.weights.b", 0.25), ("m.weights.c", -0.25)]
    assert (tolerant.ignored, tolerant.mean_delta, tolerant.mean_abs_delta, tolerant.max_abs_delta) == (1, 0.0, 0.25, 0.25)


def test_only_changes_below_tolerance() -> None:
    result = diff_states({"m": {"x": 0.5, "y": "a"}}, {"m": {"x": 0.5009765625, "y": "a"}}, tolerance=0.5)
    module = result.modules[0]
    assert render_text(result) == ("summary: m: only changes below tolerance\n\n"
                                   "m: only changes below tolerance\n  x: 1 change below tolerance\n")
    assert isinstance(module.records[0], FloatRecord) and module.records[0].ignored == 1


def test_negative_tolerance_is_refused() -> None:
    with pytest.raises(UsageError):
        diff_states(old_state(), new_state(), tolerance=-1.0)


def test_int_to_float_is_a_float_change_and_type_changes_are_values() -> None:
    result = diff_states({"m": {"a": 1, "b": [1], "c": None}}, {"m": {"a": 1.5, "b": {"x": 1}, "c": 0}})
    assert [(r.type, r.path) for r in result.records()] == [("float", "m.a"), ("value", "m.b"), ("value", "m.c")]


def test_float_vectors_compare_element_wise() -> None:
    result = diff_states({"m": {"v": [0.5, 0.25, 1.0]}}, {"m": {"v": [0.5, 0.375, 1.0]}})
    record = result.records()[0]
    assert isinstance(record, FloatRecord) and record.path == "m.v[*]"
    assert [(i.path, i.old, i.new) for i in record.items] == [("m.v[1]", 0.25, 0.375)]


# --------------------------------------------------------------------------
# Lists: rolling windows read as appended/dropped


def test_rolling_window_in_the_middle_of_a_list_value() -> None:
    old = {"m": {"h": ["a", "b", "c", "d", "e"]}}
    cases = {
        ("a", "b", "x", "d", "e"): [("change", "x", "c")],
        ("a", "b", "d", "e"): [("remove", "c", None)],
        ("a", "b", "c", "x", "d", "e"): [("insert", "x", None)],
        ("c", "d", "e", "f"): [("drop", "a", None), ("drop", "b", None), ("append", "f", None)],
        ("b", "c", "d", "e", "f", "g"): [("drop", "a", None), ("append", "f", None), ("append", "g", None)],
    }
    for items, expected in cases.items():
        record = diff_states(old, {"m": {"h": list(items)}}).records()[0]
        assert isinstance(record, ListRecord)
        assert [(i.op, i.value, i.old) for i in record.items] == expected, items


def test_chunked_list_head_drop_and_tail_append_reads_only_edge_chunks(repo: Repository) -> None:
    memories = [{"step": i, "content": f"memory number {i} " + "x" * (i % 37)} for i in range(4000)]
    old = {"memory": {"episodic": memories, "active": True}}
    new = {"memory": {"episodic": memories[3:] + [{"step": 4000, "content": "new"}, {"step": 4001, "content": "newer"}],
                      "active": True}}
    before, after = commit_pair(repo, old, new)
    assert repo.manifest("HEAD")["modules"]["memory"]["kind"] == "dict"
    result = diff_snapshots(before, after)
    record = result.records()[0]
    assert isinstance(record, ListRecord)
    assert (record.path, record.lists, record.old_count, record.new_count) == ("memory.episodic", 1, 4000, 3999)
    assert [(i.op, i.value["step"]) for i in record.items] == [
        ("drop", 0), ("drop", 1), ("drop", 2), ("append", 4000), ("append", 4001)]
    chunks = sum(1 for name in after.list_dir("memory/episodic") if name[0].isdigit())
    assert chunks > 50
    # brain.json, _list.json, and the first and last chunk: nothing in between.
    assert (before.blobs_read, after.blobs_read) == (4, 4)
    assert brain_summary(result) == "episodic +2, 3 rolled off"


def test_chunks_inserted_away_from_the_head_are_inserts(repo: Repository) -> None:
    # Whole chunks that exist only in the new snapshot, with unchanged chunks on both
    # sides: the old side of that region is empty (a learning-step summary crashed on it).
    def boundary(item: dict[str, Any]) -> bool:
        return layout.is_chunk_boundary(canonical.encode(item))

    memories = [{"step": i, "content": f"memory number {i} " + "x" * (i % 37)} for i in range(4000)]
    cut = next(i for i in range(2000, 4000) if boundary(memories[i])) + 1  # a chunk ends before `cut`
    extra: list[dict[str, Any]] = []
    while not extra or not boundary(extra[-1]):  # and the inserted run ends a chunk of its own
        extra.append({"step": 10_000 + len(extra), "content": f"inserted {len(extra)}"})
    old = {"memory": {"episodic": memories, "active": True}}
    new = {"memory": {"episodic": memories[:cut] + extra + memories[cut:], "active": True}}
    before, after = commit_pair(repo, old, new)
    record = diff_snapshots(before, after).records()[0]
    assert isinstance(record, ListRecord)
    assert (record.old_count, record.new_count) == (4000, 4000 + len(extra))
    assert [(i.op, i.value["step"]) for i in record.items] == [("insert", item["step"]) for item in extra]


# --------------------------------------------------------------------------
# Tensors


def test_tensor_elements_changed_l2_and_max() -> None:
    old = {"net": {"w": np.zeros((2, 3), dtype=np.float32), "b": np.ones(3, dtype=np.float64)}}
    new = {"net": {"w": np.array([[3, 0, 0], [0, 0, -4]], dtype=np.float32), "b": np.ones(3, dtype=np.float64)}}
    records = diff_states(old, new).records()
    assert len(records) == 1
    record = records[0]
    assert isinstance(record, TensorRecord)
    assert (record.path, record.old, record.new) == ("net.w", {"dtype": "<f4", "shape": [2, 3]},
                                                    {"dtype": "<f4", "shape": [2, 3]})
    assert (record.elements, record.changed, record.l2, record.max_abs, record.ignored) == (6, 2, 5.0, 4.0, 0)
    assert to_json(diff_states(old, new))["modules"][0]["records"][0] == {
        "type": "tensor", "path": "net.w", "old": {"dtype": "<f4", "shape": [2, 3]},
        "new": {"dtype": "<f4", "shape": [2, 3]}, "elements": 6, "changed": 2, "ignored": 0, "l2": 5.0,
        "max_abs": 4.0}


def test_tensor_shape_and_dtype_changes() -> None:
    old = {"w": np.zeros((2, 2), dtype=np.float32)}
    reshaped = diff_states(old, {"w": np.zeros((3, 2), dtype=np.float32)}).records()[0]
    assert isinstance(reshaped, TensorRecord)
    assert (reshaped.new, reshaped.elements, reshaped.changed, reshaped.l2) == (
        {"dtype": "<f4", "shape": [3, 2]}, 6, None, None)
    retyped = diff_states(old, {"w": np.zeros((2, 2), dtype=np.float64)})
    assert brain_summary(retyped) == "w dtype <f4 → <f8"
    assert brain_summary(diff_states(old, {"w": np.zeros((3, 2), dtype=np.float32)})) == "w reshaped (2, 2) → (3, 2)"


def test_tensor_tolerance() -> None:
    old = {"w": np.zeros(4, dtype=np.float64)}
    new = {"w": np.array([0.001, 1.0, 0.0, 0.0])}
    record = diff_states(old, new, tolerance=0.01).records()[0]
    assert isinstance(record, TensorRecord)
    assert (record.changed, record.ignored, record.l2, record.max_abs) == (1, 1, 1.0, 1.0)


def test_large_tensor_reads_only_changed_chunks(repo: Repository) -> None:
    weights = np.arange(600_000, dtype=np.float32)  # 2.4 MB: three 1 MiB chunks
    changed = weights.copy()
    changed[400_000] += 2.0
    before, after = commit_pair(repo, {"w": weights}, {"w": changed})
    record = diff_snapshots(before, after).records()[0]
    assert isinstance(record, TensorRecord)
    assert (record.changed, record.l2, record.max_abs) == (1, 2.0, 2.0)
    # brain.json, w.json (the descriptor), and the one chunk that differs
    assert (before.blobs_read, after.blobs_read) == (3, 3)


# --------------------------------------------------------------------------
# Cost follows the change


def _files(reader: GitTreeReader, path: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for name, is_dir in reader.list_dir(path).items():
        full = f"{path}/{name}" if path else name
        out.update(_files(reader, full) if is_dir else {full: reader.entry_id(full)})
    return out


def test_diff_reads_only_changed_shards_of_a_large_brain(repo: Repository) -> None:
    repo.delta_maps = False  # maps written whole (version 1); a chain's diff reads its new delta alone (test_deltas)
    state = synthetic_state(words=5000, neurons=400, connections=20, memories=500)
    repo.commit(state, "base", author=IDENTITY)
    change_fraction(state, 0.002, step=1)  # 10 words, 1 neuron
    repo.commit(state, "step", author=IDENTITY)
    before, after = repo.reader("HEAD~1"), repo.reader("HEAD")
    result = diff_snapshots(before, after)

    old_files, new_files = _files(repo.reader("HEAD~1")), _files(repo.reader("HEAD"))
    changed = {p for p in new_files if old_files.get(p) != new_files[p] and not p.endswith(layout.DIGESTS)}
    maps = {p.rsplit("/", 1)[0] for p in new_files if p.endswith(layout.MAP_MARKER)}
    changed_maps = {m for m in maps if any(p.startswith(m + "/") for p in changed)}
    expected = changed | {f"{m}/{layout.MAP_MARKER}" for m in changed_maps}
    assert len(new_files) > 20 * len(expected)
    assert before.blobs_read == after.blobs_read == len(expected)

    language = result.module("language_module")
    assert language is not None
    counters = next(r for r in language.records if r.path == "language_module.word_frequency.*")
    assert isinstance(counters, CounterRecord)
    assert (len(counters.items), counters.total_delta) == (10, 10)
    assert [m.module for m in result.modules] == ["cognitive_metrics", "language_module"]


def test_git_and_memory_readers_agree(repo: Repository) -> None:
    state = synthetic_state(words=3000, neurons=100, connections=10, memories=300)
    changed = copy.deepcopy(state)
    change_fraction(changed, 0.01, step=7)
    changed["language_module"]["word_frequency"]["zzzz"] = 1
    before, after = commit_pair(repo, state, changed)
    assert to_json(diff_snapshots(before, after)) == to_json(diff_states(state, changed))


@pytest.mark.parametrize("delta_maps", [False, True])
def test_path_filter_reads_one_shard(repo: Repository, delta_maps: bool) -> None:
    repo.delta_maps = delta_maps
    state = synthetic_state(words=5000, neurons=50, connections=5, memories=100)
    word = synthetic_word(42)
    changed = copy.deepcopy(state)
    changed["language_module"]["word_frequency"][word] += 5
    changed["language_module"]["word_frequency"][synthetic_word(43)] += 1
    before, after = commit_pair(repo, state, changed)
    result = diff_snapshots(before, after, path=f"language_module.word_frequency.{word}")
    assert result.path == f"language_module.word_frequency.{word}"
    [record] = result.records()
    assert isinstance(record, CounterRecord)
    assert [(c.path, c.delta) for c in record.items] == [(f"language_module.word_frequency.{word}", 5)]
    # Version 1: brain.json, _map.json, the word's shard. Version 2: brain.json; the map's new delta says the rest.
    assert after.blobs_read == (1 if delta_maps else 3)
    assert bool(after.delta_chain("language_module/word_frequency")[1]) == delta_maps


def test_module_filter_and_unknown_module() -> None:
    result = diff_states(old_state(), new_state(), modules=["memory_module"])
    assert [m.module for m in result.modules] == ["memory_module"]
    with pytest.raises(UsageError, match="no module named 'nope'"):
        diff_states(old_state(), new_state(), modules=["nope"])


def test_value_growing_into_a_sharded_map() -> None:
    old = {"lang": {"freq": {"hello": 1}}}
    new = {"lang": {"freq": {"hello": 2, **{f"w{i:04d}": i for i in range(2000)}}}}
    assert layout.build(new).manifest["modules"]["lang"]["kind"] == "dict"
    result = diff_states(old, new)
    keys, counter = result.records()
    assert isinstance(keys, KeysRecord) and isinstance(counter, CounterRecord)
    assert (keys.path, len(keys.added), keys.added[0].key) == ("lang.freq", 2000, "w0000")
    assert [(c.path, c.old, c.new) for c in counter.items] == [("lang.freq.hello", 1, 2)]


def test_a_corrupt_blob_is_an_error() -> None:
    snapshot = layout.build(new_state())
    reader = layout.MemoryTreeReader(snapshot.tree)
    snapshot.tree.entries["memory_module.json"] = b'{"active": true}\n'
    with pytest.raises(IntegrityError):
        diff_snapshots(memory_reader(old_state()), reader)


# --------------------------------------------------------------------------
# API and commit messages


def test_api_diff_defaults_to_head_against_its_parent(repo: Repository) -> None:
    repo.commit(old_state(), "first", author=IDENTITY)
    repo.commit(new_state(), "second", author=IDENTITY)
    result = diffapi.diff(repo)
    assert (result.old and result.old.rev, result.new and result.new.rev) == ("HEAD^", "HEAD")
    assert result.old is not None and result.old.commit == repo.resolve("HEAD~1")
    assert to_json(result)["modules"] == to_json(diff_states(old_state(), new_state()))["modules"]
    root = diffapi.diff(repo, None, "HEAD~1")
    assert root.old is None and root.initial
    assert diffapi.summarize(repo, "HEAD~1") == "new brain: 3 modules (cognitive_metrics, language_module, memory_module)"
    assert diffapi.split_range("HEAD~1..HEAD", None) == ("HEAD~1", "HEAD")
    assert diffapi.split_range("v1", None) == ("v1", "HEAD")
    with pytest.raises(UsageError):
        diffapi.split_range("a..b", "c")


def test_commit_message_carries_the_learning_summary(repo: Repository) -> None:
    first = repo.commit(old_state(), "first words", author=IDENTITY).commit
    second = repo.commit(new_state(), "learn: tide", author=IDENTITY).commit
    assert first is not None and second is not None
    assert first.message == ("first words\n\nnew brain: 3 modules (cognitive_metrics, language_module, memory_module)"
                             f"\n\nBrain-Fingerprint: {first.fingerprint}")
    assert second.message == (f"learn: tide\n\n{brain_summary(diff_states(old_state(), new_state()))}"
                              f"\n\nBrain-Fingerprint: {second.fingerprint}")
    assert second.summary == "learn: tide"
    assert diffapi.summarize(repo) == brain_summary(diff_states(old_state(), new_state()))


def test_summarize_snapshots_survives_an_unreadable_parent() -> None:
    class Broken:
        def list_dir(self, path: str) -> dict[str, bool]:
            return {}

        def read_file(self, path: str) -> bytes:
            raise KeyError(path)

    summary = summarize_snapshots(Broken(), memory_reader(old_state()))
    assert summary.startswith("no learning summary: the parent snapshot cannot be compared (snapshot has no brain.json")


def test_diff_of_a_plain_git_commit_is_refused(repo: Repository, tmp_path: Path) -> None:
    from dulwich.objects import Blob, Commit, Tree

    repo.commit(old_state(), "brain", author=IDENTITY)
    blob = Blob.from_string(b"hello\n")
    tree = Tree()
    tree.add(b"README", 0o100644, blob.id)
    commit = Commit()
    commit.tree = tree.id
    commit.parents = [repo.resolve("HEAD").encode()]  # type: ignore[list-item]
    commit.author = commit.committer = IDENTITY.encode()
    commit.author_time = commit.commit_time = 0
    commit.author_timezone = commit.commit_timezone = 0
    commit.message = b"not a brain\n"
    for obj in (blob, tree, commit):
        repo.objects.add_object(obj)
    with pytest.raises(NotABrainCommitError):
        diffapi.diff(repo, "HEAD", commit.id.decode())
