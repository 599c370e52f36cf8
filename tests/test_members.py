"""Tests for brainvcs.snapshot.members: members of canonical objects found by line agree with a full parse."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from brainvcs.snapshot import canonical
from brainvcs.snapshot.members import changed_members, member_values, top_members


_JSON = st.recursive(st.none() | st.booleans() | st.integers(-10**9, 10**9) | st.floats(allow_nan=False,
                     allow_infinity=False) | st.text(max_size=8),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
                     max_leaves=8)


@settings(max_examples=200, deadline=None)
@given(shard=st.dictionaries(st.text(min_size=0, max_size=6), _JSON, min_size=1, max_size=12),
       extra=st.lists(st.text(max_size=6), max_size=4))
def test_member_values_reads_the_members_a_full_parse_would(shard: dict[str, Any], extra: list[str]) -> None:
    data = canonical.encode(shard)
    keys = [*shard][::2] + extra  # some present, some perhaps not (keys that prefix others, quotes, unicode)
    parsed = orjson.loads(data)
    assert member_values(data, keys) == {k: parsed[k] for k in keys if k in parsed}


@settings(max_examples=200, deadline=None)
@given(old=st.dictionaries(st.text(max_size=6), _JSON, max_size=12), new=st.dictionaries(st.text(max_size=6), _JSON,
                                                                                          max_size=12))
def test_changed_members_finds_what_a_full_comparison_finds(old: dict[str, Any], new: dict[str, Any]) -> None:
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    changed_members(canonical.encode(old), canonical.encode(new), before, after, "m/x.json")
    o, n = orjson.loads(canonical.encode(old)), orjson.loads(canonical.encode(new))
    changed = {k for k in o.keys() | n.keys() if k not in o or k not in n
               or canonical.encode(o[k]) != canonical.encode(n[k])}
    assert set(before) | set(after) == changed
    assert before == {k: o[k] for k in changed if k in o} and after == {k: n[k] for k in changed if k in n}


def test_top_members_refuses_what_is_not_a_canonical_object() -> None:
    assert top_members(b"{}\n") is None and top_members(b"[1]\n") is None
    # Every run starts after its key's opening quote, the first one too.
    assert top_members(canonical.encode({"a": 1, "b": [2]})) == [b'a": 1', b'b": [\n    2\n  ]']


def test_a_change_to_the_first_member_of_a_shard_decodes_only_the_changed_members(
        monkeypatch: Any) -> None:
    from brainvcs.snapshot import members

    decoded = []
    monkeypatch.setattr(members.canonical, "decode", lambda data, what: decoded.append(what) or orjson.loads(data))
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    old = {f"k{i}": i for i in range(100)}
    changed_members(canonical.encode(old), canonical.encode({**old, "k0": -1}), before, after, "m/x.json")
    assert (before, after, decoded) == ({"k0": 0}, {"k0": -1}, [])
