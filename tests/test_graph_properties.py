"""Hypothesis: random object graphs (classes, slots, dataclasses, cycles, shared references, dicts in random
insertion orders, numpy scalars and arrays, NaN and infinities) round-trip graph-equal, with the same
fingerprint in a second repository."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brainvcs import Repository

sys.path.insert(0, str(Path(__file__).parent))
from graph_equal import assert_graph_equal  # noqa: E402


class Node:
    def __init__(self) -> None:
        self.links: list[Any] = []


class SlotNode:
    __slots__ = ("a", "b")


@dataclass
class DataNode:
    payload: Any = None
    children: list[Any] = field(default_factory=list)


@dataclass(frozen=True)
class FrozenLeaf:
    label: str
    weight: float


class Root:
    pass


keys = st.one_of(st.text(max_size=6), st.integers(-5, 5), st.booleans(), st.none(),
                 st.tuples(st.integers(0, 3), st.text(max_size=2)))
floats = st.floats(allow_nan=True, allow_infinity=True)
numpy_scalars = st.one_of(floats.map(np.float64), st.floats(width=32).map(np.float32),
                          st.integers(-2**31, 2**31 - 1).map(np.int32), st.booleans().map(np.bool_))
arrays = st.builds(lambda xs, dt: np.array(xs).astype(dt), st.lists(st.floats(-100, 100), max_size=6),
                   st.sampled_from(["float64", "float32", "int16", "uint8"]))
leaves = st.one_of(st.integers(-2**70, 2**70), floats, st.text(max_size=8), st.none(), st.booleans(),
                   st.binary(max_size=6), numpy_scalars, arrays, st.complex_numbers(allow_nan=False),
                   st.builds(FrozenLeaf, st.text(max_size=3), floats))
values = st.recursive(leaves, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.lists(inner, max_size=3).map(tuple),
    st.lists(st.tuples(keys, inner), max_size=5).map(dict),
    st.frozensets(st.integers(-3, 3), max_size=3), st.sets(st.text(max_size=3), max_size=3),
), max_leaves=12)


@st.composite
def graphs(draw: Any) -> Root:
    nodes: list[Any] = []
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from([Node, SlotNode, DataNode]))
        nodes.append(kind())
    for node in nodes:
        def pick() -> Any:
            return draw(st.one_of(values, st.sampled_from(nodes)))  # may point anywhere: cycles, sharing
        if isinstance(node, Node):
            node.links = [pick() for _ in range(draw(st.integers(0, 3)))]
            if draw(st.booleans()):
                node.extra = {draw(keys): pick() for _ in range(draw(st.integers(0, 3)))}  # type: ignore[attr-defined]
        elif isinstance(node, SlotNode):
            node.a = pick()
            if draw(st.booleans()):
                node.b = pick()
        else:
            node.payload = pick()
            node.children = [pick() for _ in range(draw(st.integers(0, 2)))]
    root = Root()
    for i, name in enumerate(draw(st.permutations([f"m{i}" for i in range(len(nodes))]))):
        setattr(root, name, nodes[i] if draw(st.booleans()) else [nodes[i], draw(values)])
    root.back = root  # type: ignore[attr-defined]
    return root


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graphs())
def test_random_object_graphs_round_trip_graph_equal(root: Root) -> None:
    repo = Repository.memory()
    first = repo.commit(root, "random graph")
    back = repo.checkout("HEAD", factory=Root)
    assert_graph_equal(root, back)
    again = Repository.memory().commit(back, "the restored graph")
    assert again.fingerprint == first.fingerprint  # the restored graph is the same state, byte for byte


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graphs())
def test_the_state_of_a_random_graph_shares_no_container_with_it(root: Root) -> None:
    """A repository keeps the state uncopied (GraphAdapter.fresh_states): nothing in it may be the brain's."""
    from brainvcs.adapters import GraphAdapter
    from test_graph_adapter import _containers_in, _reachable

    state = GraphAdapter().to_state(root, fresh=True)
    found: dict[int, Any] = {}
    _containers_in(state, found)
    reachable = _reachable(root)
    assert not [type(c).__name__ for i, c in found.items() if i in reachable]
