"""Tests for brainvcs.merge.plan and brainvcs.merge.strategies: the pure three-way merge."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from brainvcs.snapshot import canonical
from brainvcs.errors import InvalidStateError, MergeConflictError, UsageError
from brainvcs.merge import ABSENT, MergeRules, Resolution, parse_resolve_option, plan_merge, rules_from_state
from brainvcs.merge.values import merge_lists, same
from brainvcs.merge.strategies import match_pattern, parse_pattern
from brainvcs.snapshot.paths import format_path as render_path
from brainvcs.snapshot.paths import parse_keys as parse_path


def enc(state: Any) -> bytes:
    return canonical.encode(state)


def merged(base: Any, ours: Any, theirs: Any, **kwargs: Any) -> Any:
    """Merge three values held in one module ``m`` and return the merged value."""
    plan = plan_merge({"m": base}, {"m": ours}, {"m": theirs}, **kwargs)
    assert plan.conflicts == [], plan.conflicts
    return plan.apply()["m"]


# --------------------------------------------------------------------------
# Defaults by kind


def test_counters_add_both_deltas() -> None:
    assert merged({"hello": 5}, {"hello": 8}, {"hello": 10}) == {"hello": 13}


def test_counter_new_on_both_sides_counts_from_zero() -> None:
    assert merged({}, {"sea": 3}, {"sea": 4}) == {"sea": 7}


def test_the_same_delta_on_both_sides_counts_twice() -> None:
    plan = plan_merge({"m": {"a": 5}}, {"m": {"a": 7}}, {"m": {"a": 7}})
    assert plan.apply() == {"m": {"a": 9}}
    assert [(o.path, o.source, o.strategy) for o in plan.outcomes] == [("m.a", "merged", "sum")]


def test_identical_non_counter_change_is_taken_once() -> None:
    plan = plan_merge({"m": {"s": "a"}}, {"m": {"s": "b"}}, {"m": {"s": "b"}})
    assert plan.apply() == {"m": {"s": "b"}}
    assert [(o.path, o.source, o.change) for o in plan.outcomes] == [("m.s", "both", "changed")]


def test_one_side_changed_takes_that_side() -> None:
    assert merged({"w": 0.5, "s": "x"}, {"w": 0.5, "s": "y"}, {"w": 0.25, "s": "x"}) == {"w": 0.25, "s": "y"}


def test_floats_changed_on_both_sides_default_to_mean() -> None:
    assert merged({"w": 0.5}, {"w": 0.25}, {"w": 1.0}) == {"w": 0.625}


@pytest.mark.parametrize(("strategy", "expected"), [("mean", 0.625), ("max", 1.0), ("min", 0.25),
                                                    ("ours", 0.25), ("theirs", 1.0)])
def test_float_strategies(strategy: str, expected: float) -> None:
    assert merged({"w": 0.5}, {"w": 0.25}, {"w": 1.0}, strategy=strategy) == {"w": expected}


def test_float_strategy_conflict() -> None:
    plan = plan_merge({"m": {"w": 0.5}}, {"m": {"w": 0.25}}, {"m": {"w": 1.0}}, strategy="conflict")
    assert [(c.path, c.base, c.ours, c.theirs, c.reason) for c in plan.conflicts] == [
        ("m.w", 0.5, 0.25, 1.0, "changed differently on both sides")]


def test_mixed_int_and_float_merge_as_floats() -> None:
    assert merged({"load": 0}, {"load": 0.5}, {"load": 1}) == {"load": 0.75}


def test_strings_changed_differently_conflict() -> None:
    plan = plan_merge({"m": {"focus": "sea"}}, {"m": {"focus": "garden"}}, {"m": {"focus": "music"}})
    assert [c.to_json() for c in plan.conflicts] == [{"path": "m.focus", "reason": "changed differently on both sides",
                                                      "base": "sea", "ours": "garden", "theirs": "music"}]
    with pytest.raises(MergeConflictError) as info:
        plan.apply()
    assert info.value.exit_code == 13
    assert info.value.conflicts == plan.conflicts
    assert "m.focus" in info.value.message


def test_strategy_ours_or_theirs_settles_remaining_conflicts() -> None:
    base, ours, theirs = {"m": {"f": "a", "n": 1}}, {"m": {"f": "b", "n": 2}}, {"m": {"f": "c", "n": 4}}
    assert plan_merge(base, ours, theirs, strategy="theirs").apply() == {"m": {"f": "c", "n": 5}}
    assert plan_merge(base, ours, theirs, strategy="ours").apply() == {"m": {"f": "b", "n": 5}}


def test_kind_change_conflicts() -> None:
    plan = plan_merge({"m": {"x": 1}}, {"m": {"x": "one"}}, {"m": {"x": [1]}})
    assert [c.reason for c in plan.conflicts] == ["changed to different kinds of value (str vs list)"]


def test_bool_is_not_a_counter() -> None:
    plan = plan_merge({"m": {"on": False}}, {"m": {"on": True}}, {"m": {"on": 1}})
    assert [c.path for c in plan.conflicts] == ["m.on"]


# --------------------------------------------------------------------------
# Maps


def test_maps_take_the_union_of_keys() -> None:
    base = {"vocabulary": {"hello": {"n1": True}}}
    ours = {"vocabulary": {"hello": {"n1": True}, "sea": {"n2": True}}}
    theirs = {"vocabulary": {"hello": {"n1": True}, "rose": {"n3": True}}}
    assert merged(base, ours, theirs) == {"vocabulary": {"hello": {"n1": True}, "sea": {"n2": True},
                                                         "rose": {"n3": True}}}


def test_key_removed_on_one_side_and_untouched_on_the_other_is_removed() -> None:
    plan = plan_merge({"m": {"a": 1, "b": 2}}, {"m": {"a": 1}}, {"m": {"a": 2, "b": 2}})
    assert plan.apply() == {"m": {"a": 2}}
    assert [(o.path, o.source, o.change) for o in plan.outcomes] == [("m.a", "theirs", "changed"),
                                                                     ("m.b", "ours", "removed")]


def test_key_removed_by_theirs_is_removed_from_ours() -> None:
    assert merged({"a": 1, "b": 2}, {"a": 3, "b": 2}, {"a": 1}) == {"a": 3}


def test_key_removed_on_one_side_and_changed_on_the_other_conflicts() -> None:
    plan = plan_merge({"m": {"a": "x"}}, {"m": {}}, {"m": {"a": "y"}})
    assert [c.to_json() for c in plan.conflicts] == [
        {"path": "m.a", "reason": "removed by ours, changed by theirs", "base": "x", "theirs": "y"}]


def test_key_added_on_both_sides_with_different_strings_conflicts() -> None:
    plan = plan_merge({"m": {}}, {"m": {"a": "x"}}, {"m": {"a": "y"}})
    assert [c.reason for c in plan.conflicts] == ["added on both sides with different values"]
    assert plan.conflicts[0].base is ABSENT


def test_nested_dicts_merge_by_value_kind() -> None:
    base = {"n1": {"threshold": 0.5, "connections": {"n2": 0.25}, "spikes": [1]}}
    ours = {"n1": {"threshold": 0.75, "connections": {"n2": 0.5}, "spikes": [1, 2]}}
    theirs = {"n1": {"threshold": 0.25, "connections": {"n2": 0.25, "n3": 0.125}, "spikes": [1, 3]}}
    assert merged(base, ours, theirs) == {"n1": {"threshold": 0.5, "connections": {"n2": 0.5, "n3": 0.125},
                                                 "spikes": [1, 2, 3]}}


def test_modules_added_and_removed() -> None:
    plan = plan_merge({"a": 1, "b": 2}, {"a": 1, "b": 2, "c": 3}, {"a": 1})
    assert plan.apply() == {"a": 1, "c": 3}


# --------------------------------------------------------------------------
# Lists


def test_append_only_lists_keep_both_sides_new_items_ours_first() -> None:
    assert merge_lists([1, 2], [1, 2, 3, 4], [1, 2, 5]) == ([1, 2, 3, 4, 5], None)


def test_items_both_sides_appended_are_kept_once() -> None:
    assert merge_lists([1], [1, 2, 3], [1, 2, 4]) == ([1, 2, 3, 4], None)


def test_duplicates_are_counted_per_occurrence() -> None:
    assert merge_lists([], ["the", "the", "sea"], ["the", "rose"]) == (["the", "the", "sea", "rose"], None)


def test_rolling_window_keeps_its_maximum_length() -> None:
    base = [1, 2, 3, 4]
    ours = [2, 3, 4, 5]       # dropped 1, appended 5
    theirs = [3, 4, 6, 7]     # dropped 1, 2, appended 6, 7
    assert merge_lists(base, ours, theirs) == ([4, 5, 6, 7], None)


def test_window_that_turned_over_completely() -> None:
    assert merge_lists([1, 2, 3], [4, 5, 6], [2, 3, 7]) == ([5, 6, 7], None)


def test_window_below_its_cap_merges_without_trimming() -> None:
    assert merge_lists([1, 2], [1, 2, 3], [2, 4]) == ([2, 3, 4], None)


def test_list_items_are_compared_exactly() -> None:
    assert merge_lists([], [1, 1.0], [True, 1]) == ([1, 1.0, True], None)


@pytest.mark.parametrize(("ours", "side"), [([1, 9, 3], "ours"), ([1, 2], "ours"), ([3, 2, 1, 0], None)])
def test_rewritten_lists_conflict(ours: list[int], side: str | None) -> None:
    value, reason = merge_lists([1, 2, 3], ours, [1, 2, 3, 4])
    if side is None:  # every base item kept (their order is a merge's doing, not an edit) and 0 added
        assert (value, reason) == ([1, 2, 3, 0, 4], None)
    else:
        assert value is None
        assert reason == f"{side} rewrote the list (removed items other than from the head)"


def test_items_an_earlier_merge_placed_elsewhere_are_neither_lost_nor_doubled() -> None:
    # The case that stalled team sync: theirs went through a merge that put ours' old items after its own.
    base = ["e0", "a1", "a2", "b1", "b2", "c1", "a3"]
    ours = base + ["a4", "a5"]
    theirs = ["e0", "b1", "b2", "c1", "b3", "a1", "a2", "a3", "b4"]
    value, reason = merge_lists(base, ours, theirs)
    assert reason is None and value == base + ["a4", "a5", "b3", "b4"]
    assert merge_lists(base, theirs, ours)[0] is not None and sorted(merge_lists(base, theirs, ours)[0]) == sorted(value)


def test_rewritten_list_is_a_conflict_in_the_plan() -> None:
    plan = plan_merge({"m": [1, 2, 3]}, {"m": [1, 9, 3]}, {"m": [1, 2, 3, 4]})
    assert [(c.path, c.ours, c.theirs) for c in plan.conflicts] == [("m", [1, 9, 3], [1, 2, 3, 4])]


# --------------------------------------------------------------------------
# Tensors


def test_float_tensors_merge_element_wise() -> None:
    base = np.zeros(3, dtype=np.float32)
    ours = np.array([1.0, 0.0, 2.0], dtype=np.float32)
    theirs = np.array([3.0, 0.0, 0.0], dtype=np.float32)
    result = merged({"w": base}, {"w": ours}, {"w": theirs})["w"]
    assert result.dtype == np.float32
    assert result.tolist() == [2.0, 0.0, 1.0]


def test_tensors_of_different_shapes_conflict() -> None:
    plan = plan_merge({"m": np.zeros(2)}, {"m": np.ones(2)}, {"m": np.ones(3)})
    assert plan.conflicts[0].reason.startswith("tensors of different shapes or dtypes")
    assert plan.conflicts[0].to_json()["ours"] == {"$tensor": {"dtype": "<f8", "shape": [2]}}


def test_same_is_exact() -> None:
    assert same(1, 1) and same({"a": [1.5]}, {"a": [1.5]})
    assert not same(1, 1.0) and not same(1, True) and not same(0.0, -0.0) and not same(ABSENT, None)
    assert same(np.arange(3), np.arange(3)) and not same(np.arange(3), np.arange(3).astype(np.int32))


# --------------------------------------------------------------------------
# Rules


def test_pattern_matching() -> None:
    pattern = parse_pattern("language_module.neurons.*.connections.*")
    assert match_pattern(pattern, ("language_module", "neurons", "n1", "connections", "n2"))
    assert not match_pattern(pattern, ("language_module", "neurons", "n1", "connections"))
    assert match_pattern(parse_pattern("**.threshold"), ("a", "b", "threshold"))
    assert match_pattern(parse_pattern("**"), ("a",))
    assert match_pattern(parse_pattern('a["x.y"].b?'), ("a", "x.y", "bc"))
    assert not match_pattern(parse_pattern('a["*"]'), ("a", "z"))


def test_paths_round_trip() -> None:
    keys = ("language_module", "word_frequency", "don't", "café")
    assert render_path(keys) == 'language_module.word_frequency["don\'t"].café'
    assert parse_path(render_path(keys)) == keys
    with pytest.raises(UsageError, match="list items cannot be addressed"):
        parse_path("a.b[3]")
    with pytest.raises(UsageError):
        parse_path("a..b")


def test_rules_choose_strategies_per_path_last_match_wins() -> None:
    rules = MergeRules.parse({"rules": [{"path": "**", "strategy": "max"},
                                        {"path": "m.b", "strategy": "min"}]})
    base, ours, theirs = {"m": {"a": 0.5, "b": 0.5, "n": 1}}, {"m": {"a": 0.25, "b": 0.25, "n": 3}}, \
        {"m": {"a": 1.0, "b": 1.0, "n": 2}}
    assert plan_merge(base, ours, theirs, strategies=rules).apply() == {"m": {"a": 1.0, "b": 0.25, "n": 3}}


def test_rules_are_read_from_ours_state() -> None:
    rules = {"floats": "max", "rules": [{"path": "m.focus", "strategy": "theirs"}]}
    base = {"m": {"w": 0.5, "focus": "a"}, "brainvcs_merge": rules}
    ours = {"m": {"w": 0.25, "focus": "b"}, "brainvcs_merge": rules}
    theirs = {"m": {"w": 0.75, "focus": "c"}, "brainvcs_merge": rules}
    assert plan_merge(base, ours, theirs).apply()["m"] == {"w": 0.75, "focus": "c"}
    assert rules_from_state(ours).to_value() == rules


def test_a_rule_on_a_dict_takes_a_whole_side() -> None:
    rules = MergeRules.parse({"rules": [{"path": "cognitive_metrics.attention_focus", "strategy": "ours"}]})
    base = {"cognitive_metrics": {"attention_focus": {"primary": "a", "strength": 0.5}}}
    ours = {"cognitive_metrics": {"attention_focus": {"primary": "b", "strength": 0.5}}}
    theirs = {"cognitive_metrics": {"attention_focus": {"primary": "c", "strength": 0.75}}}
    plan = plan_merge(base, ours, theirs, strategies=rules)
    assert plan.apply() == ours
    assert [(o.path, o.source, o.strategy) for o in plan.outcomes] == [
        ("cognitive_metrics.attention_focus", "ours", "ours")]


def test_numeric_rule_on_a_counter() -> None:
    rules = MergeRules.parse({"rules": [{"path": "m.step", "strategy": "max"}]})
    assert plan_merge({"m": {"step": 10}}, {"m": {"step": 15}}, {"m": {"step": 12}},
                      strategies=rules).apply() == {"m": {"step": 15}}


@pytest.mark.parametrize(("value", "path"), [
    ([], "brainvcs_merge"),
    ({"rule": []}, "brainvcs_merge.rule"),
    ({"floats": "median"}, "brainvcs_merge.floats"),
    ({"rules": [{"path": "a"}]}, "brainvcs_merge.rules[0]"),
    ({"rules": [{"path": "a", "strategy": "best"}]}, "brainvcs_merge.rules[0].strategy"),
    ({"rules": [{"path": "a b", "strategy": "max"}]}, "brainvcs_merge.rules[0].path"),
])
def test_invalid_rules_name_the_path(value: Any, path: str) -> None:
    with pytest.raises(InvalidStateError) as info:
        rules_from_state({"brainvcs_merge": value})
    assert info.value.path == path


# --------------------------------------------------------------------------
# Resolutions


@pytest.mark.parametrize(("text", "expected"), [("ours", "b"), ("theirs", "c"), ("base", "a"), ('"d"', "d")])
def test_resolutions(text: str, expected: str) -> None:
    plan = plan_merge({"m": {"f": "a"}}, {"m": {"f": "b"}}, {"m": {"f": "c"}}, resolutions={"m.f": text})
    assert plan.apply() == {"m": {"f": expected}}
    assert [(o.source, o.strategy) for o in plan.outcomes] == [("resolved", "value" if text.startswith('"') else text)]


def test_resolution_of_a_parent_settles_the_subtree() -> None:
    plan = plan_merge({"m": {"a": "x", "b": "x"}}, {"m": {"a": "y", "b": "y"}}, {"m": {"a": "z", "b": "z"}},
                      resolutions={"m": Resolution("theirs")})
    assert plan.apply() == {"m": {"a": "z", "b": "z"}}


def test_resolution_to_base_of_an_added_key_removes_it() -> None:
    plan = plan_merge({"m": {}}, {"m": {"a": "x"}}, {"m": {"a": "y"}}, resolutions={"m.a": "base"})
    assert plan.apply() == {"m": {}}


def test_unused_resolution_is_an_error() -> None:
    with pytest.raises(UsageError, match="m.zz"):
        plan_merge({"m": {"a": 1}}, {"m": {"a": 2}}, {"m": {"a": 1}}, resolutions={"m.zz": "ours"})


def test_parse_resolve_option() -> None:
    assert parse_resolve_option('m["a=b"]=theirs') == ('m["a=b"]', Resolution("theirs"))
    assert parse_resolve_option("m.x={\"k\": [1, 2.5]}") == ("m.x", Resolution("value", {"k": [1, 2.5]}))
    with pytest.raises(UsageError, match="neither ours, theirs, base nor a JSON value"):
        parse_resolve_option("m.x=mine")
    with pytest.raises(UsageError, match="expected PATH=VALUE"):
        parse_resolve_option("m.x")
    with pytest.raises(InvalidStateError, match="reserved for tensors"):
        parse_resolve_option('m.x={"$tensor": 1}')


# --------------------------------------------------------------------------
# The plan as a whole


def test_summary_and_counts() -> None:
    base = {"lang": {"freq": {"a": 1}, "w": 0.5, "tag": "x"}, "mem": [1]}
    ours = {"lang": {"freq": {"a": 2, "b": 1}, "w": 0.25, "tag": "y"}, "mem": [1, 2]}
    theirs = {"lang": {"freq": {"a": 3}, "w": 1.0, "tag": "y"}, "mem": [1, 3]}
    plan = plan_merge(base, ours, theirs)
    assert plan.counts() == {"ours": 1, "theirs": 0, "both": 1, "merged": 3, "resolved": 0, "conflicts": 0,
                             "strategies": {"append": 1, "mean": 1, "sum": 1}}
    assert plan.summary("main", "topic") == (
        "5 changed path(s): 1 from main, 0 from topic, 1 identical on both, 3 combined, 0 resolved\n"
        "combined: 1 by append, 1 by mean, 1 by sum\n"
        "  lang: 1 from main, 1 identical, 2 combined\n"
        "  mem: 1 combined")
    assert plan.to_json()["outcomes"][0] == {"path": "lang.freq.a", "source": "merged", "change": "changed",
                                             "strategy": "sum"}


def test_apply_does_not_mutate_inputs() -> None:
    base, ours, theirs = {"m": {"a": {"x": 1}}}, {"m": {"a": {"x": 2}}}, {"m": {"a": {"x": 3}, "b": 1}}
    before = enc(ours)
    assert plan_merge(base, ours, theirs).apply() == {"m": {"a": {"x": 4}, "b": 1}}
    assert enc(ours) == before


def test_apply_with_conflicts_kept_at_base() -> None:
    plan = plan_merge({"m": {"f": "a", "n": 1}}, {"m": {"f": "b", "n": 2}}, {"m": {"f": "c", "n": 2}})
    assert plan.apply(conflicts="base") == {"m": {"f": "a", "n": 3}}


def test_unknown_strategy_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown strategy"):
        plan_merge({}, {}, {}, strategy="median")


# --------------------------------------------------------------------------
# Properties

_scalars = st.one_of(st.none(), st.booleans(), st.integers(-1000, 1000), st.text(max_size=4),
                     st.floats(allow_nan=False, allow_infinity=False, width=32))
_values = st.recursive(_scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                         st.dictionaries(st.text(max_size=3), inner, max_size=4)),
                       max_leaves=12)
_states = st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), _values, max_size=4)


@settings(max_examples=150, deadline=None)
@given(_states, _states)
def test_merging_with_an_unchanged_side_is_that_side(base: dict[str, Any], other: dict[str, Any]) -> None:
    assert enc(plan_merge(base, base, other).apply()) == enc(other)
    assert enc(plan_merge(base, other, base).apply()) == enc(other)


@settings(max_examples=150, deadline=None)
@given(_states, _states)
def test_merge_is_idempotent(base: dict[str, Any], state: dict[str, Any]) -> None:
    plan = plan_merge(state, state, state)
    assert plan.outcomes == [] and plan.conflicts == []
    assert enc(plan.apply()) == enc(state)
    # Merging the result again with the same side changes nothing further.
    once = plan_merge(base, state, base).apply()
    assert enc(plan_merge(base, once, base).apply()) == enc(once)


_counters = st.dictionaries(st.text(min_size=1, max_size=3), st.integers(0, 10**6), max_size=8)
_deltas = st.dictionaries(st.text(min_size=1, max_size=3), st.integers(0, 1000), max_size=8)


@settings(max_examples=200, deadline=None)
@given(_counters, _deltas, _deltas)
def test_additive_counters_merge_commutatively(base: dict[str, int], d1: dict[str, int], d2: dict[str, int]) -> None:
    ours = {k: base.get(k, 0) + d1.get(k, 0) for k in base.keys() | d1.keys()}
    theirs = {k: base.get(k, 0) + d2.get(k, 0) for k in base.keys() | d2.keys()}
    expected = {k: base.get(k, 0) + d1.get(k, 0) + d2.get(k, 0) for k in base.keys() | d1.keys() | d2.keys()}
    one = plan_merge({"f": base}, {"f": ours}, {"f": theirs}).apply()
    other = plan_merge({"f": base}, {"f": theirs}, {"f": ours}).apply()
    assert one == other == {"f": expected}


_weights = st.floats(0, 1, allow_nan=False)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.sampled_from("abcdef"), _weights, max_size=6),
       st.dictionaries(st.sampled_from("abcdef"), _weights, max_size=6),
       st.dictionaries(st.sampled_from("abcdef"), _weights, max_size=6),
       st.sampled_from(["mean", "max", "min"]))
def test_symmetric_float_strategies_commute(base: dict[str, float], ours: dict[str, float],
                                             theirs: dict[str, float], strategy: str) -> None:
    one = plan_merge({"w": base}, {"w": {**base, **ours}}, {"w": {**base, **theirs}}, strategy=strategy)
    other = plan_merge({"w": base}, {"w": {**base, **theirs}}, {"w": {**base, **ours}}, strategy=strategy)
    assert enc(one.apply()) == enc(other.apply())


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(0, 5), max_size=8), st.integers(0, 8), st.lists(st.integers(6, 9), max_size=5),
       st.integers(0, 8), st.lists(st.integers(10, 13), max_size=5))
def test_list_merge_keeps_every_new_item(base: list[int], drop_o: int, new_o: list[int], drop_t: int,
                                         new_t: list[int]) -> None:
    drop_o, drop_t = min(drop_o, len(base)), min(drop_t, len(base))
    ours, theirs = base[drop_o:] + new_o, base[drop_t:] + new_t
    value, reason = merge_lists(base, ours, theirs)
    # A side that kept nothing of base and is shorter than it is not a window: refused.
    if any(drop == len(base) > len(side) for drop, side in ((drop_o, ours), (drop_t, theirs))):
        assert value is None and reason is not None
        return
    expected = base[max(drop_o, drop_t):] + new_o + new_t
    if drop_o or drop_t:
        expected = expected[max(0, len(expected) - max(len(base), len(ours), len(theirs))):]
    assert (value, reason) == (expected, None)


# --------------------------------------------------------------------------
# Defaults that look at the values: points in time, pruned learning, records with an identity


def test_points_in_time_take_the_later_value() -> None:
    base = {"m": {"seen": "2026-01-01T00:00:00+00:00", "last_update": 1_700_000_000.5, "time": 1}}
    ours = {"m": {"seen": "2026-03-01T00:00:00+00:00", "last_update": 1_700_000_900.5, "time": 3}}
    theirs = {"m": {"seen": "2026-02-01T09:30:00+00:00", "last_update": 1_700_000_100.5, "time": 4}}
    merged = plan_merge(base, ours, theirs).apply()["m"]
    assert merged["seen"] == "2026-03-01T00:00:00+00:00" and merged["last_update"] == 1_700_000_900.5
    assert merged["time"] == 6  # a counter of the word "time" still adds: 1 + 2 + 3


def test_learning_survives_a_prune_on_the_other_side() -> None:
    base = {"assoc": {"sea": {"salt": 0.2}, "w": 0.5, "label": "x"}}
    ours = {"assoc": {"w": 0.5, "label": "x"}}                              # pruned sea, untouched w
    theirs = {"assoc": {"sea": {"salt": 0.9}, "label": "x"}}                # strengthened sea, pruned w
    plan = plan_merge(base, ours, theirs)
    assert plan.conflicts == [] and plan.apply()["assoc"] == {"sea": {"salt": 0.9}, "label": "x"}
    [kept] = [o for o in plan.outcomes if o.path == "assoc.sea"]
    assert (kept.source, kept.strategy) == ("theirs", "keep-learned")


def test_records_with_an_identity_merge_record_by_record() -> None:
    base = {"net": {"neurons": [{"id": "n1", "w": 0.2, "fired": 1}, {"id": "n2", "w": 0.4, "fired": 1}]}}
    ours = {"net": {"neurons": [{"id": "n1", "w": 0.6, "fired": 2}, {"id": "n2", "w": 0.4, "fired": 1},
                                {"id": "n3", "w": 0.1, "fired": 0}]}}
    theirs = {"net": {"neurons": [{"id": "n2", "w": 0.8, "fired": 4}, {"id": "n1", "w": 0.2, "fired": 3},
                                  {"id": "n4", "w": 0.3, "fired": 0}]}}
    plan = plan_merge(base, ours, theirs)
    assert plan.conflicts == []
    assert plan.apply()["net"]["neurons"] == [
        {"id": "n1", "w": 0.6, "fired": 4},   # ours' weight, both sides' firings: 1 + 1 + 2
        {"id": "n2", "w": 0.8, "fired": 4},   # theirs' changes
        {"id": "n3", "w": 0.1, "fired": 0},   # new on ours
        {"id": "n4", "w": 0.3, "fired": 0}]   # new on theirs
    [outcome] = [o for o in plan.outcomes if o.path == "net.neurons"]
    assert outcome.strategy == "records by id"


def test_a_conflict_inside_a_record_names_the_record() -> None:
    base = {"m": [{"id": 1, "label": "a"}]}
    plan = plan_merge(base, {"m": [{"id": 1, "label": "b"}]}, {"m": [{"id": 1, "label": "c"}]})
    assert [(c.path, c.reason) for c in plan.conflicts] == [("m", "record 1.label: changed differently on both sides")]
