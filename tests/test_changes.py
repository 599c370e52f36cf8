"""Change detection with nothing declared (brainvcs.snapshot.changes): exact, or it would lose learning."""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brainvcs import Repository
from brainvcs.brains import SIZES, change_fraction, learning_step, synthetic_state
from brainvcs.snapshot import layout
from brainvcs.snapshot.changes import Baseline, copy_value, same
from brainvcs.snapshot.incremental import ALL
from tests.test_properties import keys, states, values


@pytest.mark.parametrize(("old", "new"), [
    (1, 1.0), (1, True), (0, False), (1.0, True), (0.0, -0.0), (-0.0, 0.0), ([1], (1,)), ({"a": 1}, {"a": 1.0}),
    ([1, 2], [1, 2.0]), (float("nan"), float("nan")), ("1", 1), (None, 0),
    (np.zeros(3), np.zeros(3, dtype=np.float32)), (np.zeros(3), np.zeros((3, 1))), (np.zeros(2), np.array([0.0, -0.0])),
])
def test_equal_under_python_is_not_the_same(old: Any, new: Any) -> None:
    assert not same(copy_value(old), new)


@pytest.mark.parametrize("value", [1, 1.5, -0.0, True, None, "text", [1, "a", [2.0]], {"k": {"j": [None]}},
                                   np.arange(6).reshape(2, 3), ("a", 1)])
def test_a_copy_is_the_same_and_independent(value: Any) -> None:
    kept = copy_value(value)
    assert same(kept, copy.deepcopy(value))
    if isinstance(value, (list, dict)) and value:
        assert kept is not value


def test_a_number_swapped_for_an_equal_one_of_another_type_is_found_deep_in_a_map() -> None:
    state = {"m": {f"w{i}": {"count": i, "seen": True, "tags": ["a", "b"]} for i in range(500)}}
    baseline = Baseline(state)
    assert baseline.changes(state) == {}
    state["m"]["w7"]["count"] = 7.0
    state["m"]["w9"]["seen"] = 1
    state["m"]["w3"]["tags"][1] = "c"
    assert baseline.changes(state) == {"m": {"w7": {"count": ALL}, "w9": {"seen": ALL}, "w3": {"tags": ALL}}}


def test_text_containers_that_gain_a_number_are_found() -> None:
    state = {"labels": {f"k{i}": f"v{i}" for i in range(100)}, "lists": {f"k{i}": ["x", "y"] for i in range(100)}}
    baseline = Baseline(state)
    state["labels"]["k5"] = 5
    state["lists"]["k6"].append(None)
    state["lists"]["k7"][0] = 0
    trie = baseline.changes(state)
    assert trie == {"labels": {"k5": ALL}, "lists": {"k6": ALL, "k7": ALL}}
    baseline.advance(state, trie)
    assert baseline.changes(state) == {}
    state["labels"]["k5"] = 5.0  # the re-copied map holds a number now: 5 -> 5.0 is a change
    assert baseline.changes(state) == {"labels": {"k5": ALL}}


def test_keys_and_modules_that_come_and_go() -> None:
    state: dict[str, Any] = {"a": {"x": 1, "y": 2}, "b": [1]}
    baseline = Baseline(state)
    del state["a"]["x"]
    state["a"]["z"] = 3
    del state["b"]
    state["c"] = {}
    assert baseline.changes(state) == {"a": {"x": ALL, "z": ALL}, "b": ALL, "c": ALL}


def test_dict_order_alone_is_not_a_change_of_a_dict_state() -> None:
    state = {"m": {"a": 1, "b": 2}}
    baseline = Baseline(state)
    assert baseline.changes({"m": {"b": 2, "a": 1}}) == {}
    assert layout.build({"m": {"b": 2, "a": 1}}).fingerprint == layout.build(state).fingerprint


def test_a_retyped_number_is_found_in_records_whose_keys_came_back_in_another_order() -> None:
    # == holds (1 == 1.0) and the record's keys are the same, in another order. Read by position the
    # two sides would hold the very same objects (1, then one float); the strict pass reads the new
    # values by the old keys, so both retyped numbers are found.
    one = 1.0
    state = {"m": {f"w{i}": {"a": 1, "b": one} for i in range(200)}}
    baseline = Baseline(state)
    state["m"]["w4"] = {"b": 1, "a": one}
    assert baseline.changes(state) == {"m": {"w4": {"a": ALL, "b": ALL}}}


def test_the_baseline_takes_the_states_key_order_so_the_next_comparison_stays_fast(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from brainvcs.snapshot import changes

    state = {"m": {f"w{i}": i for i in range(100)}}
    baseline = Baseline(state)
    state["m"] = {"new": -1, **state["m"]}  # a key added in front (an order table rebuilt in walk order)
    state["m"]["w3"] = 30
    trie = baseline.changes(state)
    assert trie == {"m": {"new": ALL, "w3": ALL}}
    baseline.advance(state, trie)
    assert list(baseline.state["m"]) == list(state["m"])
    slow: list[object] = []
    monkeypatch.setattr(changes, "_diff_strict", lambda *args: slow.append(args))
    assert baseline.changes(state) == {}
    assert slow == []


@st.composite
def edits(draw: st.DrawFn, state: dict[str, Any]) -> None:
    """Edit ``state`` in place the way learning does: set, delete, append, and retype numbers."""
    for _ in range(draw(st.integers(1, 6))):
        containers: list[Any] = []

        def collect(value: Any) -> None:
            if isinstance(value, (dict, list)):
                containers.append(value)
                for item in (value.values() if isinstance(value, dict) else value):
                    collect(item)
        for module in state.values():
            collect(module)
        op = draw(st.sampled_from(["set", "delete", "append", "retype", "module"]))
        if op == "module" or not containers:
            state[draw(keys.filter(bool))] = draw(values)
            continue
        target = draw(st.sampled_from(containers))
        if isinstance(target, dict):
            names = list(target)
            if op == "delete" and names:
                del target[draw(st.sampled_from(names))]
            elif op == "retype" and names:
                key = draw(st.sampled_from(names))
                target[key] = _retyped(target[key])
            else:
                target[draw(keys)] = draw(values)
        elif op == "append" or not target:
            target.append(draw(values))
        elif op == "delete":
            del target[draw(st.integers(0, len(target) - 1))]
        else:
            index = draw(st.integers(0, len(target) - 1))
            target[index] = _retyped(target[index]) if op == "retype" else draw(values)


def _retyped(value: Any) -> Any:
    """An equal value of another type (1 -> 1.0 -> True ...), or the other zero."""
    if type(value) is bool:
        return int(value)
    if type(value) is int:
        return float(value) if abs(value) < 2**53 else value // 2
    if type(value) is float:
        if value == 0.0:
            return math.copysign(0.0, -math.copysign(1.0, value))
        return int(value) if value.is_integer() and abs(value) < 2**63 else -value
    return [value]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(states, st.data())
def test_detected_changes_rebuild_exactly_what_a_full_build_gives(state: dict[str, Any], data: st.DataObject) -> None:
    baseline = Baseline(state)
    previous = layout.build(state)
    for _ in range(3):
        data.draw(edits(state))
        trie = baseline.changes(state)
        rebuilt = layout.build(state, base=previous, changed=trie)
        full = layout.build(state)
        assert rebuilt.fingerprint == full.fingerprint
        assert dict(rebuilt.tree.walk()) == dict(full.tree.walk())
        baseline.advance(state, trie)
        assert baseline.changes(state) == {}
        previous = rebuilt


def test_commits_with_nothing_declared_record_every_change(tmp_path: Any) -> None:
    state = synthetic_state(**SIZES["S"])
    repo = Repository.init(tmp_path / "r")
    repo.commit(state, "first")
    assert not repo.commit(state, "nothing").changed
    for step in range(1, 6):
        if step % 2:
            learning_step(state, step=step, touched_words=20, new_words=2, touched_neurons=3,
                          max_memories=len(state["memory_module"]["episodic_memory"]))
        else:
            change_fraction(state, 0.03, step=step)
        word = next(iter(state["language_module"]["word_frequency"]))
        state["language_module"]["word_frequency"][word] = float(state["language_module"]["word_frequency"][word])
        result = repo.commit(state, f"step {step}")
        assert result.changed
        assert result.fingerprint == layout.build(state).fingerprint
        assert layout.build(repo.checkout(result.commit.id)).fingerprint == result.fingerprint


def test_without_tracking_every_commit_is_a_full_build(tmp_path: Any) -> None:
    state = {"m": {"a": [1, 2]}}
    repo = Repository.init(tmp_path / "r")
    repo.track_changes = False
    repo.commit(state, "first")
    state["m"]["a"].append(3)
    assert repo.commit(state, "second").fingerprint == layout.build(state).fingerprint


def test_concurrent_commits_through_one_repository_object_each_record_their_state(tmp_path: Any) -> None:
    import threading

    repo = Repository.init(tmp_path / "r")
    states = [{"m": {f"k{i}": i * j for i in range(300)}} for j in range(8)]
    repo.commit(states[0], "first")
    errors: list[BaseException] = []

    def commit(state: dict[str, Any]) -> None:
        try:
            for _ in range(3):
                result = repo.commit(state, "c")
                assert result.fingerprint == layout.build(state).fingerprint
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=commit, args=(state,)) for state in states[1:]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    final = states[3]
    assert repo.commit(final, "last").fingerprint == layout.build(final).fingerprint
    assert layout.build(repo.checkout()).fingerprint == layout.build(final).fingerprint


def test_a_window_that_slides_keeps_its_copies_and_stays_exact() -> None:
    window = [{"id": i, "w": [float(i)]} for i in range(50)]
    state = {"memory": {"episodes": window}}
    baseline = Baseline(state)
    kept = baseline.state["memory"]["episodes"][10]
    del window[:10]
    window.append({"id": 50, "w": [50.0]})
    trie = baseline.changes(state)
    baseline.advance(state, trie)
    assert baseline.state["memory"]["episodes"][0] is kept  # slid, not copied again
    assert baseline.changes(state) == {}
    window[5]["w"][0] = 15  # int for the float: found, though 15 == 15.0
    assert baseline.changes(state) == {"memory": {"episodes": ALL}}
    baseline.advance(state, baseline.changes(state))
    assert baseline.changes(state) == {}
    window.insert(0, window[-1])  # a shape no slide explains: copied afresh, still exact
    baseline.advance(state, baseline.changes(state))
    assert baseline.changes(state) == {} and baseline.state["memory"]["episodes"][0] is not window[0]


def test_an_adopted_state_is_kept_uncopied_and_never_changed() -> None:
    from brainvcs.autosave import copy_state

    live = synthetic_state(**SIZES["S"])
    capture = first = copy_state(live)
    frozen = copy.deepcopy(capture)
    baseline = Baseline(capture, adopt=True)
    assert baseline.state["language_module"] is capture["language_module"]
    previous = layout.build(capture)
    for step in range(1, 6):
        learning_step(live, step=step, touched_words=20, new_words=2, touched_neurons=3,
                      max_memories=len(live["memory_module"]["episodic_memory"]))
        capture = copy_state(live)
        trie = baseline.changes(capture)
        rebuilt = layout.build(capture, base=previous, changed=trie)
        assert rebuilt.fingerprint == layout.build(capture).fingerprint
        baseline.advance(capture, trie, adopt=True)
        previous = rebuilt
    # The first capture, held by the baseline at the start, was never changed by its advances.
    assert layout.build(first).fingerprint == layout.build(frozen).fingerprint


def test_a_broken_promise_of_declared_paths_does_not_break_the_next_commit() -> None:
    # changed= is a promise; when the caller's list misses a key added and one removed, the
    # commit records what it was told, and the kept state (another key set) is not reordered.
    repo = Repository.memory()
    state = {"m": {"a": 1, "z": 2, "x": 0}}
    repo.commit(state, "first")
    state["m"] = {"a": 1, "x": 5, "y": 3}
    repo.commit(state, "declared x only", changed=[("m", "x")])
    state["m"]["x"] = 6
    repo.commit(state, "nothing declared")
    assert repo.checkout("HEAD")["m"]["x"] == 6
