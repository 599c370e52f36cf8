"""Property tests: generated brains round-trip exactly through commit and checkout.

Plain states (every JSON type, odd keys, maps and lists big enough to be
sharded and chunked, numpy arrays) come back byte-identical with the same
fingerprint, from memory and disk repositories; live objects holding deques,
defaultdicts, sets, tuples, datetimes and arrays come back with their types
through a spec adapter. (Fast encoder = reference encoder, and fingerprints
stable across processes and hash seeds, are properties of ``canonical``: see
tests/test_canonical.py.)
"""

from __future__ import annotations

from collections import defaultdict, deque
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brainvcs import Repository
from brainvcs.snapshot import canonical, layout, statefile
from brainvcs.adapters import Attr, Spec, SpecAdapter
from brainvcs.adapters import checkout as adapter_checkout
from brainvcs.adapters import commit as adapter_commit
from brainvcs.adapters.spec import Array, DateTime, DefaultDictOf, DequeOf, SetOf, TupleOf

texts = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=10)
keys = texts.filter(lambda key: key != canonical.TENSOR_KEY)
floats = st.floats(allow_nan=False, allow_infinity=False)
leaves = st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | floats | texts
values = st.recursive(leaves, lambda inner: st.lists(inner, max_size=6) | st.dictionaries(keys, inner, max_size=6),
                      max_leaves=25)
dtypes = st.sampled_from(["<f4", "<f8", "<i2", "<i8", "<u1", "|b1", "<c8"])


@st.composite
def arrays(draw: st.DrawFn) -> Any:
    """A numpy array of a storable dtype and a small shape (0-d and empty included)."""
    dtype = np.dtype(draw(dtypes))
    shape = tuple(draw(st.lists(st.integers(0, 4), max_size=3)))
    size = int(np.prod(shape)) if shape else 1
    raw = draw(st.binary(min_size=size * dtype.itemsize, max_size=size * dtype.itemsize))
    array = np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
    if dtype.kind in "fc":
        array[~np.isfinite(array)] = 0  # NaN is refused on purpose; finite values only
    return array


@st.composite
def big_values(draw: st.DrawFn) -> Any:
    """A map or list large enough to be sharded or chunked (> 16 KiB encoded)."""
    item = draw(values)
    count = draw(st.integers(0, 2500))
    if draw(st.booleans()):
        return {f"{draw(keys)}{i}": item for i in range(count)}
    return [item] * count


module_values = values | big_values() | st.dictionaries(keys, values | arrays(), max_size=4)
states = st.dictionaries(texts.filter(bool), module_values, min_size=1, max_size=4)


def same(a: Any, b: Any) -> bool:
    """Exact equality, arrays and the sign of zero included: compare canonical bytes."""
    return statefile.encode_state(a) == statefile.encode_state(b)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(states, states)
def test_states_round_trip_through_a_memory_repository(first: dict[str, Any], second: dict[str, Any]) -> None:
    repo = Repository.memory()
    one = repo.commit(first, "first")
    two = repo.commit(second, "second")  # a no-op (writes nothing) when the states are equal
    assert one.commit is not None
    assert same(repo.checkout(one.commit.id), first)
    assert same(repo.checkout(), second)
    assert one.fingerprint == layout.build(first).fingerprint
    assert two.changed == (two.fingerprint != one.fingerprint)
    assert repo.commit_info().fingerprint == two.fingerprint


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                                 HealthCheck.function_scoped_fixture])
@given(states)
def test_states_round_trip_through_a_disk_repository(tmp_path_factory: Any, state: dict[str, Any]) -> None:
    path: Path = tmp_path_factory.mktemp("prop") / "brain"
    with Repository.init(path) as repo:
        result = repo.commit(state, "one")
    with Repository.open(path) as repo:  # a fresh process would see the same: nothing cached
        assert same(repo.checkout(), state)
        assert repo.manifest()["fingerprint"] == result.fingerprint
        assert repo.verify().ok


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(states)
def test_state_files_round_trip(state: dict[str, Any]) -> None:
    """What ``checkout`` writes, ``commit`` reads back exactly: complex tensors and signed zeros included."""
    data = statefile.encode_state(state)
    assert same(statefile.parse_state(data, "state.json"), state)


def brain_spec() -> SpecAdapter:
    """A live brain of the kinds the canonical encoder refuses and the adapters convert."""
    return SpecAdapter(Spec(name="prop-brain", factory=lambda: SimpleNamespace(), modules={
        "language_module": {
            "word_frequency": Attr("word_frequency", DefaultDictOf(int)),
            "vocabulary": Attr("vocabulary", SetOf()),
        },
        "memory_module": {
            "working_memory": Attr("working_memory", DequeOf(maxlen=7)),
            "position": Attr("position", TupleOf()),
            "weights": Attr("weights", Array()),
        },
        "brain_history": Attr("history", DequeOf(DateTime(), maxlen=50)),
    }))


moments = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2100, 1, 1),
                       timezones=st.sampled_from([timezone.utc, timezone(timedelta(hours=5, minutes=30))]))


@st.composite
def live_brains(draw: st.DrawFn) -> SimpleNamespace:
    counts = defaultdict(int, draw(st.dictionaries(keys, st.integers(0, 10**9), max_size=8)))
    return SimpleNamespace(
        word_frequency=counts,
        vocabulary=draw(st.sets(texts, max_size=8)),
        working_memory=deque(draw(st.lists(texts, max_size=12)), maxlen=7),
        position=tuple(draw(st.lists(floats, max_size=3))),
        weights=draw(arrays()),
        history=deque(draw(st.lists(moments, max_size=5)), maxlen=50),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(live_brains())
def test_live_objects_come_back_with_their_types(brain: SimpleNamespace) -> None:
    adapter = brain_spec()
    repo = Repository.memory()
    adapter_commit(repo, brain, "live", adapter=adapter)
    back = adapter_checkout(repo, adapter=adapter)
    assert type(back.word_frequency) is defaultdict and back.word_frequency.default_factory is int
    assert dict(back.word_frequency) == dict(brain.word_frequency)
    assert type(back.vocabulary) is set and back.vocabulary == brain.vocabulary
    assert type(back.working_memory) is deque and back.working_memory.maxlen == 7
    assert list(back.working_memory) == list(brain.working_memory)
    assert type(back.position) is tuple and same({"p": list(back.position)}, {"p": list(brain.position)})
    assert back.weights.dtype == brain.weights.dtype and back.weights.shape == brain.weights.shape
    assert back.weights.tobytes() == brain.weights.tobytes()
    assert list(back.history) == list(brain.history) and back.history.maxlen == 50
    assert all(a.utcoffset() == b.utcoffset() for a, b in zip(back.history, brain.history))


def test_complex_tensors_of_every_shape_in_state_files() -> None:
    """An empty complex array's [real, imaginary] pairs decode as []: the shape must say how they nest."""
    for array in (np.array([], dtype=np.complex64), np.zeros((2, 0, 3), dtype=np.complex128), np.array(1 - 2j),
                  np.array([[1 + 1j], [-0.0 - 0.0j]], dtype=np.complex64)):
        back = statefile.parse_state(statefile.encode_state({"m": array}), "state.json")["m"]
        assert back.dtype == array.dtype and back.shape == array.shape and back.tobytes() == array.tobytes()
