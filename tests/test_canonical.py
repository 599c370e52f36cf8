"""Canonical encoding: golden vectors, the independent reference encoder, refusals."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from brainvcs.snapshot import canonical
from brainvcs.errors import CorruptObjectError, InvalidStateError

from .reference_encoder import ref_encode

VECTORS = json.loads((Path(__file__).parent.parent / "fixtures/golden/canonical-vectors.json").read_text("utf-8"))

finite_floats = st.floats(allow_nan=False, allow_infinity=False)
interesting_floats = st.one_of(
    finite_floats,
    st.sampled_from([0.0, -0.0, 1e16, 1e15, 9999999999999998.0, 1e-4, 9.999e-5, 1e-5, 5e-324, 1e308, 0.1, 1 / 3]),
    st.floats(min_value=-1e-3, max_value=1e-3, allow_nan=False),
)
ints = st.integers(min_value=-(2**63), max_value=2**64 - 1)
text = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=12)
keys = text.filter(lambda key: key != canonical.TENSOR_KEY)  # reserved: refused on purpose
json_values = st.recursive(
    st.none() | st.booleans() | ints | interesting_floats | text,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(keys, children, max_size=5),
    max_leaves=30,
)


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_golden_vectors(vector: dict[str, str]) -> None:
    value = json.loads(vector["input"])
    expected = vector["canonical"].encode("utf-8")
    assert canonical.encode(value) == expected
    assert ref_encode(value) == expected
    assert canonical.decode(expected) == value


def test_fast_path_is_enabled_with_the_pinned_orjson() -> None:
    assert canonical.fast_path_enabled()


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_fast_encoder_equals_reference_encoder(value: Any) -> None:
    assert canonical.encode(value) == ref_encode(value)


@settings(max_examples=150, deadline=None)
@given(json_values)
def test_stdlib_fallback_equals_fast_path(value: Any) -> None:
    fast = canonical.encode(value)
    original = canonical._FAST_PATH_OK
    canonical._FAST_PATH_OK = False
    try:
        assert canonical.encode(value) == fast
    finally:
        canonical._FAST_PATH_OK = original


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_round_trip_and_is_canonical(value: Any) -> None:
    data = canonical.encode(value)
    back = canonical.decode(data)
    assert canonical.encode(back) == data
    assert canonical.is_canonical(data)
    if isinstance(value, float):
        assert math.copysign(1.0, back) == math.copysign(1.0, value)


@settings(max_examples=300, deadline=None)
@given(interesting_floats)
def test_float_layout_is_repr(x: float) -> None:
    assert canonical.encode(x) == (repr(x) + "\n").encode()
    assert canonical.format_float(x) == repr(x)


def test_output_is_pretty_sorted_one_value_per_line() -> None:
    data = canonical.encode({"b": [1, 2], "a": {"x": "y"}})
    assert data == b'{\n  "a": {\n    "x": "y"\n  },\n  "b": [\n    1,\n    2\n  ]\n}\n'
    assert not any(line.endswith(b" ") for line in data.splitlines())


def test_non_canonical_bytes_are_detected() -> None:
    assert not canonical.is_canonical(b'{"a":1}')
    assert not canonical.is_canonical(b'{\n  "b": 1,\n  "a": 2\n}\n')
    assert not canonical.is_canonical(b'{\n  "a": 1e-5\n}\n')
    assert not canonical.is_canonical(b"not json")


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_decode_stored_accepts_everything_encode_writes(value: Any) -> None:
    data = canonical.encode(value)
    assert canonical.encode(canonical.decode_stored(data)) == data


@pytest.mark.parametrize("data", [
    b'{\n  "a": 1,\n  "a": 2\n}\n',  # duplicate keys: which value loads would depend on the parser
    b'{\n  "b": 1,\n  "a": 2\n}\n',  # unsorted
    b'{"a":1}',  # compact
    b"1e-5\n",  # another float layout
    b"[" * 200 + b"]" * 200,  # deeper than anything brainvcs writes
])
def test_decode_stored_refuses_what_brainvcs_never_writes(data: bytes) -> None:
    with pytest.raises(CorruptObjectError, match="^shard.json: not in canonical form"):
        canonical.decode_stored(data, what="shard.json")


def test_decode_stored_refuses_nesting_over_the_budget() -> None:
    deep: Any = 1
    for _ in range(5):
        deep = [deep]
    data = canonical.encode(deep)
    assert canonical.decode_stored(data, depth_budget=5) == deep
    with pytest.raises(CorruptObjectError, match="nested deeper"):
        canonical.decode_stored(data, depth_budget=4)
    with pytest.raises(CorruptObjectError, match="not in canonical form"):  # orjson reads 1024 levels, writes 255
        canonical.decode_stored(b"[" * 1000 + b"]" * 1000)


def test_decode_error_names_what() -> None:
    with pytest.raises(CorruptObjectError, match="shard.json: not valid JSON"):
        canonical.decode(b"{", what="shard.json")


@pytest.mark.parametrize(
    ("value", "path", "problem"),
    [
        ({"language": {"neurons": {"n7": {"threshold": float("nan")}}}}, "language.neurons.n7.threshold", "NaN cannot be stored"),
        ({"a": [1, float("inf")]}, "a[1]", "inf cannot be stored"),
        ({"a": {"b": -float("inf")}}, "a.b", "-inf cannot be stored"),
        ({"a": {1: 2}}, "a.1", "only string keys"),
        ({"a": {"s": {1, 2}}}, "a.s", "a set cannot be stored"),
        ({"a": frozenset()}, "a", "a set cannot be stored"),
        ({"a": b"raw"}, "a", "bytes cannot be stored"),
        ({"a": object()}, "a", "builtins.object cannot be stored"),
        ({"a": 2**64}, "a", "outside the storable range"),
        ({"a": -(2**63) - 1}, "a", "outside the storable range"),
        ({"a": "bad \ud800"}, "a", "lone surrogate"),
        ({"a": {"$tensor": 1}}, 'a["$tensor"]', "reserved for tensors"),
        ({"odd key": {"x.y": float("nan")}}, '["odd key"]["x.y"]', "NaN"),
    ],
)
def test_refusals_name_the_path(value: Any, path: str, problem: str) -> None:
    with pytest.raises(InvalidStateError) as info:
        canonical.encode(value)
    assert info.value.path == path
    assert problem in info.value.problem
    assert str(info.value).startswith(f"{path}: ")


def test_cycle_is_refused() -> None:
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(InvalidStateError, match=r"^a\.b\[0\]: cycle"):
        canonical.encode({"a": {"b": loop}})


def test_depth_limit() -> None:
    ok: Any = 1
    for _ in range(canonical.MAX_DEPTH):
        ok = [ok]
    canonical.encode(ok)
    with pytest.raises(InvalidStateError, match="nested deeper"):
        canonical.encode([ok])


def test_depth_budget_for_pieces() -> None:
    with pytest.raises(InvalidStateError, match="nested deeper"):
        canonical.encode([[1]], depth_budget=1)


def test_numpy_scalars_become_python_numbers() -> None:
    assert canonical.encode({"a": np.float32(0.5), "b": np.int64(3), "c": np.bool_(True)}) == \
        canonical.encode({"a": 0.5, "b": 3, "c": True})
    with pytest.raises(InvalidStateError, match="NaN"):
        canonical.encode({"a": np.float64("nan")})


def test_null_values_are_fine() -> None:
    assert canonical.encode({"a": None, "b": [None]}) == b'{\n  "a": null,\n  "b": [\n    null\n  ]\n}\n'


def test_fingerprint_is_stable_across_processes_and_hash_seeds() -> None:
    code = (
        "from brainvcs.snapshot import layout\n"
        "s = {'language': {'word_frequency': {f'w{i}': i for i in range(3000)}}, 'm': [{'k': i / 7} for i in range(2000)]}\n"
        "print(layout.build(s).fingerprint)\n"
    )
    outputs = set()
    for seed in ("0", "1", "12345"):
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"})
        outputs.add(result.stdout.strip())
    assert len(outputs) == 1
