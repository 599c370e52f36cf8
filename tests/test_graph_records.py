"""What the object-graph format records beside JSON (brainvcs.adapters.graph_records): paths, orders, ancestors."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from brainvcs.adapters.graph_records import child_paths, keys_from_record, order_record, table_ancestors
from brainvcs.snapshot.canonical import join_path
from brainvcs.snapshot.paths import split_path


def _ancestors_by_grammar(paths: list[str]) -> set[str]:
    """The reference: every path through the path grammar, segment by segment."""
    out: set[str] = set()
    for path in paths:
        prefix = ""
        for segment, _ in split_path(path, what="type table path") if path else ():
            out.add(prefix)
            prefix = join_path(prefix, segment)
        if prefix != path:
            raise ValueError("not canonical")
    return out


segments = st.one_of(st.text(alphabet="abz_-é09", min_size=1, max_size=4), st.text(max_size=4),
                     st.integers(0, 12))


@given(st.lists(st.lists(segments, max_size=4), max_size=12))
def test_table_ancestors_agree_with_the_path_grammar(keys: list[list[str | int]]) -> None:
    paths = []
    for chain in keys:
        path = ""
        for key in chain:
            path = join_path(path, key)
        paths.append(path)
    assert table_ancestors(paths) == _ancestors_by_grammar(paths)


@pytest.mark.parametrize("path", ["a..b", ".a", "a.", 'a["b"]', "a*", "[x]", 'a["unclosed'])
def test_table_paths_not_in_canonical_form_are_refused(path: str) -> None:
    with pytest.raises(ValueError, match="type table path"):
        table_ancestors(["fine.path", path])


@given(st.lists(st.text(alphabet="abcé_.", min_size=0, max_size=3), unique=True, max_size=9))
def test_child_paths_are_join_path(keys: list[str]) -> None:
    for base in ("", "m", 'x["odd key"]'):
        assert child_paths(base, keys) == [join_path(base, key) for key in keys]


@given(st.lists(st.text(max_size=3), unique=True, max_size=8))
def test_order_records_decode_to_the_insertion_order(keys: list[str]) -> None:
    record = order_record(keys)
    stored = {key: 0 for key in sorted(keys)}
    assert (list(stored) if record is None else keys_from_record(record, stored)) == keys
    if isinstance(record, str):
        assert keys_from_record(record, stored) == keys  # again, from the parsed-record cache


@given(st.lists(st.lists(st.text(max_size=2), unique=True, max_size=8), max_size=6))
def test_order_records_are_the_positions_of_the_sorted_keys_every_time(key_lists: list[list[str]]) -> None:
    # (texts of small permutations are made once and reused: each must still be this record's own)
    for keys in key_lists + key_lists:
        positions = [keys.index(key) for key in sorted(keys)]
        expected = None if positions == list(range(len(keys))) else " ".join(map(str, positions))
        assert order_record(list(keys)) == expected


@pytest.mark.parametrize("record, size", [("1 0", 3), ("0 0", 2), ("x y", 2), ("1 2", 2), ("0  1", 2)])
def test_order_records_that_do_not_fit_are_refused(record: str, size: int) -> None:
    with pytest.raises(ValueError, match="recorded key order"):
        keys_from_record(record, {f"k{i}": i for i in range(size)})
