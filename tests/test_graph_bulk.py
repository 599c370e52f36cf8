"""The bulk walks (brainvcs.adapters.graph_bulk): exactly the general walk's output, bytes and all.

Every graph here is encoded twice, with the bulk paths on and with them
switched off (the general walk, child by child), and the canonical bytes of
the two states must be identical: a brain's fingerprint cannot depend on which
path the encoder took. Shapes that must fall back (a child met twice, a class
with slots, attributes in another order...) are covered, as are references
into a bulk map from before and after it, which the memo resolves through a
:class:`~brainvcs.adapters.graph_bulk.Group`.
"""

from __future__ import annotations

import collections
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brainvcs import Repository
from brainvcs.adapters import graph_bulk, graph_encode
from brainvcs.adapters.graph import GraphAdapter
from brainvcs.adapters.graph_orders import OrderMemo
from brainvcs.snapshot import layout

sys.path.insert(0, str(Path(__file__).parent))
from graph_equal import assert_graph_equal  # noqa: E402
from test_graph_properties import graphs  # noqa: E402


class Neuron:
    def __init__(self, threshold: float, connections: dict[str, float], history: Any) -> None:
        self.threshold = threshold
        self.connections = connections
        self.spike_history = history
        self.label = "n"


class SlotNeuron:
    __slots__ = ("threshold",)

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold


class Brain:
    pass


def _encode_both(root: Any) -> tuple[str, dict[str, int]]:
    """The state's fingerprint from the bulk walk (checked equal to the general walk's) and how often bulk paths served.

    Bulk paths are tried on maps of any size here (the encoder skips maps under BULK_MIN).
    """
    used = {"children": 0, "objects": 0, "rows": 0}

    def counting(name: str, fn: Any) -> Any:
        def wrapper(*args: Any) -> Any:
            result = fn(*args)
            used[name] += result is not None
            return result
        return wrapper

    saved = graph_encode.plain_children, graph_encode.plain_objects, graph_encode.plain_rows, graph_encode.BULK_MIN
    try:
        graph_encode.BULK_MIN = 1  # small maps too: the hypothesis graphs are small
        graph_encode.plain_children = counting("children", saved[0])
        graph_encode.plain_objects = counting("objects", saved[1])
        graph_encode.plain_rows = counting("rows", saved[2])
        fast = layout.build(graph_encode.encode_graph(root)).fingerprint  # (every byte of every blob counts)
        graph_encode.plain_children = graph_encode.plain_objects = graph_encode.plain_rows = lambda *args: None
        general = layout.build(graph_encode.encode_graph(root)).fingerprint
    finally:
        (graph_encode.plain_children, graph_encode.plain_objects, graph_encode.plain_rows,
         graph_encode.BULK_MIN) = saved
    assert fast == general
    return fast, used


def _back(brain: Brain, message: str) -> Any:
    """``brain`` committed and checked out again: graph-equal to it (returned for the aliasing checks)."""
    repo = Repository.memory()
    repo.commit(brain, message)
    back = repo.checkout(factory=Brain)
    assert_graph_equal(brain, back)
    return back


def _neurons(n: int, history: Any = list) -> dict[str, Neuron]:
    return {f"n{i}": Neuron(i / 7, {f"n{(i * 7 + j) % n}": j / 3 for j in range(i % 4 + 1)}, history([i, i / 2]))
            for i in range(n)}


def test_a_map_of_objects_takes_the_bulk_path_and_gives_the_general_walks_bytes() -> None:
    brain = Brain()
    brain.neurons = _neurons(50)  # type: ignore[attr-defined]
    brain.windows = _neurons(20, lambda xs: collections.deque(xs, maxlen=5))  # type: ignore[attr-defined]
    brain.open = _neurons(5, collections.deque)  # type: ignore[attr-defined]  # deque without maxlen
    _, used = _encode_both(brain)
    assert used["objects"] == 3


def test_references_into_a_bulk_map_resolve_to_the_first_place_met() -> None:
    brain = Brain()
    neurons = _neurons(30)
    records = {f"w{i}": {"b": i, "a": str(i)} for i in range(30)}
    brain.before = records["w3"]  # type: ignore[attr-defined]  # met before the map: the map falls back
    brain.records = records  # type: ignore[attr-defined]
    brain.neurons = neurons  # type: ignore[attr-defined]
    brain.after = [records["w7"], neurons["n4"], neurons["n5"].connections, neurons["n6"].spike_history]  # type: ignore[attr-defined]
    _, used = _encode_both(brain)
    assert used["objects"] == 1
    back = _back(brain, "refs")
    assert back.after[1] is back.neurons["n4"] and back.after[2] is back.neurons["n5"].connections
    assert back.after[0] is back.records["w7"]


@pytest.mark.parametrize("damage", ["shared", "order", "slots", "nan", "nested", "earlier-class", "odd-names",
                                    "empty-objects", "mixed-classes"])
def test_shapes_the_bulk_path_does_not_take_still_encode_exactly(damage: str) -> None:
    brain = Brain()
    neurons: dict[str, Any] = _neurons(12)
    if damage == "shared":
        neurons["n2"].connections = neurons["n1"].connections
    elif damage == "order":
        del neurons["n3"].threshold
        neurons["n3"].threshold = 0.5  # the same attributes, another order
    elif damage == "slots":
        neurons = {f"s{i}": SlotNeuron(i) for i in range(12)}
    elif damage == "nan":
        neurons["n4"].threshold = float("nan")
    elif damage == "nested":
        neurons["n5"].connections = {"deep": {"er": 1}}
    elif damage == "earlier-class":
        first = Neuron(1.0, {}, [])
        del first.threshold
        first.threshold = 2.0
        brain.aaa = first  # type: ignore[attr-defined]  # (attribute order puts it first)
    elif damage == "odd-names":
        neurons = {"a.b": neurons["n1"], "": neurons["n2"], "ü": neurons["n3"]}
        setattr(neurons["a.b"], "odd name", 1)
        for neuron in neurons.values():
            setattr(neuron, "odd name", 2)
    elif damage == "empty-objects":
        neurons = {f"e{i}": Brain() for i in range(5)}
    elif damage == "mixed-classes":
        neurons["n6"] = SlotNeuron(1.0)
    brain.neurons = neurons  # type: ignore[attr-defined]
    _encode_both(brain)
    _back(brain, damage)


scalars = st.one_of(st.integers(-3, 3), st.floats(allow_nan=False, allow_infinity=False, width=16), st.text(max_size=3),
                    st.none(), st.booleans())
names = st.sampled_from(["a", "b", "c", "zeta", "odd key", "x.y", ""])


def _with_refs(draw: Any, brain: Brain, pool: list[Any]) -> Brain:
    """``brain`` with a few references to containers of ``pool`` (met again after the bulk maps or lists)."""
    if pool:
        brain.refs = [draw(st.sampled_from(pool)) for _ in range(draw(st.integers(0, 3)))]  # type: ignore[attr-defined]
    return brain


@st.composite
def bulk_brains(draw: Any) -> Brain:
    """Maps of records, lists and objects, with random sharing between and into them."""
    pool: list[Any] = []

    def container() -> Any:
        if pool and draw(st.integers(0, 9)) == 0:
            return draw(st.sampled_from(pool))  # shared with an earlier place
        kind = draw(st.sampled_from(["dict", "list", "deque"]))
        if kind == "dict":
            made: Any = {draw(names): draw(scalars) for _ in range(draw(st.integers(0, 4)))}
        elif kind == "list":
            made = draw(st.lists(scalars, max_size=3))
        else:
            made = collections.deque(draw(st.lists(scalars, max_size=3)), maxlen=draw(st.sampled_from([None, 4])))
        pool.append(made)
        return made

    def obj() -> Neuron:
        neuron = Neuron.__new__(Neuron)
        attrs = draw(st.permutations(["threshold", "connections", "spike_history", "label"]))
        order = attrs if draw(st.integers(0, 7)) == 0 else ["threshold", "connections", "spike_history", "label"]
        for attr in order:
            setattr(neuron, attr, draw(scalars) if attr in ("threshold", "label") else container())
        pool.append(neuron)
        return neuron

    brain = Brain()
    for i in range(draw(st.integers(1, 4))):
        size = draw(st.integers(0, 20))
        kind = draw(st.sampled_from(["records", "lists", "objects"]))
        keys = draw(st.lists(names, min_size=size, max_size=size, unique=True)) if size <= 7 else \
            [f"k{j}" for j in draw(st.permutations(range(size)))]
        if kind == "records":
            value: Any = {k: {draw(names): draw(scalars) for _ in range(draw(st.integers(0, 4)))} for k in keys}
            pool.extend(value.values())
        elif kind == "lists":
            value = {k: draw(st.lists(scalars, max_size=3)) for k in keys}
            pool.extend(value.values())
        else:
            value = {k: obj() for k in keys}
        setattr(brain, f"m{i}", value)
    return _with_refs(draw, brain, pool)


def test_small_maps_are_walked_child_by_child_and_large_ones_in_bulk() -> None:
    brain = Brain()
    brain.few = _neurons(graph_encode.BULK_MIN - 1)  # type: ignore[attr-defined]
    brain.many = _neurons(graph_encode.BULK_MIN)  # type: ignore[attr-defined]
    seen: list[int] = []
    saved = graph_encode.plain_objects
    graph_encode.plain_objects = lambda enc, v, *rest: seen.append(len(v)) or saved(enc, v, *rest)
    try:
        state = graph_encode.encode_graph(brain)
    finally:
        graph_encode.plain_objects = saved
    assert graph_encode.BULK_MIN in seen and graph_encode.BULK_MIN - 1 not in seen
    assert layout.build(state).fingerprint == _encode_both(brain)[0]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graphs())
def test_general_random_graphs_encode_the_same_with_and_without_bulk_walks(root: Any) -> None:
    _encode_both(root)  # (cycles, numpy values, sets, odd keys: whatever the bulk walks take must match)


def test_the_encoder_reuses_order_records_only_for_unchanged_key_lists() -> None:
    brain = Brain()
    brain.records = {f"w{i}": {"b": 1, "a": 2} for i in range(40)}  # type: ignore[attr-defined]
    brain.neurons = _neurons(30)  # type: ignore[attr-defined]
    first, _ = _encode_both(brain)
    assert _encode_both(brain)[0] == first
    brain.records["w5"] = {"a": 2, "b": 1}  # type: ignore[attr-defined]  # now sorted: its order entry must go
    brain.records["w9"]["c"] = 3  # type: ignore[attr-defined]  # a key more
    del brain.neurons["n3"].connections[next(iter(brain.neurons["n3"].connections))]  # type: ignore[attr-defined]
    brain.neurons["n8"].connections = dict(reversed(list(brain.neurons["n8"].connections.items())))  # type: ignore[attr-defined]
    changed, _ = _encode_both(brain)  # (_encode_both compares the remembered walk with a fresh general one)
    assert changed != first


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 9), st.sampled_from(["add", "drop", "reverse", "replace", "same",
                                                              "new key", "remove key", "move key"])),
                max_size=12))
def test_order_memo_always_equals_a_fresh_computation(edits: list[tuple[int, str]]) -> None:
    # Edits inside records, and edits of the map's own keys (a word learned, one forgotten, one re-inserted last).
    records = {f"r{i}": {f"k{(i * 3 + j) % 7}": j for j in range(i % 5)} for i in range(10)}
    memo = OrderMemo()
    for index, edit in edits:
        keys = list(records)
        key = keys[index % len(keys)] if keys else None
        record = records[key] if key is not None else {}
        if edit == "add":
            record[f"x{len(record)}"] = 0
        elif edit == "drop" and record:
            del record[next(iter(record))]
        elif edit == "reverse" and key is not None:
            records[key] = dict(reversed(list(record.items())))
        elif edit == "replace" and key is not None:
            records[key] = {"b": 1, "a": 0}
        elif edit == "new key":
            records[f"n{index}{len(records)}"] = {"z": 0, "y": 1} if index % 2 else {}
        elif edit == "remove key" and key is not None:
            del records[key]
        elif edit == "move key" and key is not None:
            records[key] = records.pop(key)
        keys, kids = list(records), list(records.values())
        flat = [k for record in kids for k in record]
        remembered = dict(memo.child_orders("m", "map", keys, kids, flat))
        fresh = OrderMemo().child_orders("m", "map", keys, kids, list(flat))
        assert remembered == fresh


def test_a_brains_order_memo_lives_as_long_as_the_brain() -> None:
    from brainvcs.adapters.graph_orders import _MEMOS, memo_for

    brain = Brain()
    assert memo_for(brain) is memo_for(brain)
    key = id(brain)
    assert key in _MEMOS
    del brain
    assert key not in _MEMOS
    slotted = SlotNeuron(1.0)  # no __weakref__: a memo for this walk only
    assert memo_for(slotted) is not memo_for(slotted)
    assert graph_bulk.Group("m", None, [1, 2], ["a", "b"], "attr").locate(2) == ("m", ((None, "b"), "attr"))


def test_commits_after_reorders_check_out_in_the_new_orders() -> None:
    """Through a Repository: the remembered order records never outlive a changed key order."""
    repo = Repository.memory()
    brain = Brain()
    brain.records = {f"w{i}": {"b": i, "a": -i, "c": 0} for i in range(40)}  # type: ignore[attr-defined]
    brain.neurons = _neurons(40)  # type: ignore[attr-defined]
    repo.commit(brain, "first")
    brain.records["w1"] = dict(reversed(list(brain.records["w1"].items())))  # type: ignore[attr-defined]
    brain.records["w2"] = dict(sorted(brain.records["w2"].items()))  # type: ignore[attr-defined]
    connections = brain.neurons["n7"].connections  # type: ignore[attr-defined]
    brain.neurons["n7"].connections = dict(reversed(list(connections.items())))  # type: ignore[attr-defined]
    repo.commit(brain, "reordered")
    back = repo.checkout(factory=Brain)
    assert_graph_equal(brain, back)
    assert list(back.records["w1"]) == ["c", "a", "b"] and list(back.records["w2"]) == ["a", "b", "c"]
    assert list(back.neurons["n7"].connections) == list(brain.neurons["n7"].connections)  # type: ignore[attr-defined]
    again = Repository.memory().commit(back, "the restored brain")
    assert again.fingerprint == repo.commit_info().fingerprint


def test_the_order_memo_forgets_maps_the_brain_no_longer_has() -> None:
    from brainvcs.adapters.graph_orders import memo_for

    brain = Brain()
    brain.sessions = {f"s{i}": {f"w{j}": {"b": 1, "a": 2} for j in range(20)} for i in range(3)}  # type: ignore[attr-defined]
    graph_encode.encode_graph(brain)
    assert len(memo_for(brain)) == 3
    brain.sessions = {"s9": brain.sessions["s0"]}  # type: ignore[attr-defined]
    graph_encode.encode_graph(brain)
    assert len(memo_for(brain)) == 1


def _memories(n: int) -> list[dict[str, Any]]:
    """An episodic memory as brains keep one: records of one shape, a record and a list inside each."""
    return [{"content": f"words {i}", "step": i, "pattern": {"active": [f"n{i}", f"n{i + 1}"], "intensity": i / 9,
                                                            "novel": i % 2 == 0}} for i in range(n)]


def test_a_list_of_records_takes_the_rows_path_and_gives_the_general_walks_bytes() -> None:
    brain = Brain()
    brain.episodic = _memories(40)  # type: ignore[attr-defined]
    brain.history = [{"step": i, "load": i / 3} for i in range(20)]  # type: ignore[attr-defined]  # plain records
    brain.empty = [{} for _ in range(3)]  # type: ignore[attr-defined]
    _, used = _encode_both(brain)
    assert used["rows"] == 3
    _back(brain, "rows")


def test_references_into_rows_resolve_to_the_first_place_met() -> None:
    brain = Brain()
    memories = _memories(20)
    brain.episodic = memories  # type: ignore[attr-defined]
    brain.last = memories[-1]  # type: ignore[attr-defined]
    brain.pattern = memories[3]["pattern"]  # type: ignore[attr-defined]
    brain.active = memories[4]["pattern"]["active"]  # type: ignore[attr-defined]
    _, used = _encode_both(brain)
    assert used["rows"] == 1
    back = _back(brain, "refs")
    assert back.last is back.episodic[-1] and back.pattern is back.episodic[3]["pattern"]
    assert back.active is back.episodic[4]["pattern"]["active"]


@pytest.mark.parametrize("damage", ["met-before", "shared-inside", "key-order", "extra-key", "tuple", "nan",
                                    "nested-shape", "deep", "wide", "subclass", "deque", "int-keys", "big-int"])
def test_lists_the_rows_path_does_not_take_still_encode_exactly(damage: str) -> None:
    brain = Brain()
    rows: list[Any] = _memories(18)
    if damage == "met-before":
        brain.aaa = rows[5]["pattern"]  # type: ignore[attr-defined]  # (attribute order puts it first)
    elif damage == "shared-inside":
        rows[6]["pattern"] = rows[2]["pattern"]
    elif damage == "key-order":
        rows[7] = {"step": 7, "content": "late", "pattern": rows[7]["pattern"]}
    elif damage == "extra-key":
        rows[8]["mood"] = "calm"
    elif damage == "tuple":
        rows[9]["pattern"]["active"] = ("n1", "n2")
    elif damage == "nan":
        rows[10]["pattern"]["intensity"] = float("nan")
    elif damage == "nested-shape":
        rows[11]["pattern"] = {"other": 1}
    elif damage == "deep":
        rows[12]["pattern"]["active"] = [{"neuron": "n1"}]
    elif damage == "wide":
        rows = [{f"f{j}": j for j in range(20)} | {"nested": [i]} for i in range(18)]
    elif damage == "subclass":
        rows[13] = collections.OrderedDict(rows[13])
    elif damage == "deque":
        for row in rows:
            row["pattern"]["active"] = collections.deque(row["pattern"]["active"], maxlen=3)
    elif damage == "int-keys":
        rows[14]["pattern"] = {1: "a", 2: "b", 3: "c"}
    elif damage == "big-int":
        rows[15]["step"] = 2 ** 80
    brain.episodic = rows  # type: ignore[attr-defined]
    _encode_both(brain)
    _back(brain, damage)


@st.composite
def row_brains(draw: Any) -> Brain:
    """Lists of records of one shape, now and then broken, with random sharing into them."""
    pool: list[Any] = []
    brain = Brain()
    for m in range(draw(st.integers(1, 3))):
        fields = draw(st.lists(names, max_size=4, unique=True))
        inner = draw(st.lists(names, max_size=3, unique=True))
        kinds = {name: draw(st.sampled_from(["scalar", "list", "record"])) for name in fields}
        rows = []
        for _ in range(draw(st.integers(0, 20))):
            row: dict[str, Any] = {}
            for name in fields:
                if kinds[name] == "scalar":
                    row[name] = draw(scalars)
                elif kinds[name] == "list":
                    row[name] = draw(st.lists(scalars, max_size=3))
                    pool.append(row[name])
                else:
                    row[name] = {key: draw(st.one_of(scalars, st.lists(scalars, max_size=2))) for key in inner}
                    pool.append(row[name])
            if pool and draw(st.integers(0, 12)) == 0:
                row[draw(st.sampled_from(fields or ["x"]))] = draw(st.sampled_from(pool))  # shared
            if draw(st.integers(0, 15)) == 0:
                row = dict(reversed(list(row.items())))  # another key order
            rows.append(row)
            pool.append(row)
        setattr(brain, f"m{m}", rows)
    return _with_refs(draw, brain, pool)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(bulk_brains(), row_brains()))
def test_random_bulk_shapes_encode_exactly_as_the_general_walk_and_round_trip(brain: Brain) -> None:
    _encode_both(brain)
    _back(brain, "bulk")


@pytest.mark.parametrize("fresh", [False, True])
def test_a_fresh_state_of_rows_shares_no_container_with_the_brain(fresh: bool) -> None:
    from test_graph_adapter import _containers_in, _reachable

    brain = Brain()
    brain.episodic = _memories(30)  # type: ignore[attr-defined]
    brain.history = [{"step": i, "load": i / 3} for i in range(20)]  # type: ignore[attr-defined]
    state = GraphAdapter().to_state(brain, fresh=fresh)
    assert state["episodic"] == brain.episodic and state["history"] == brain.history  # type: ignore[attr-defined]
    in_state: dict[int, Any] = {}
    _containers_in(state, in_state)
    shared = [c for i, c in in_state.items() if i in _reachable(brain)]
    # Without fresh the walk hands the brain's own plain containers over (the repository copies what it keeps).
    assert not shared if fresh else shared
