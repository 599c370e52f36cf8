"""Tests for brainvcs.merge.api and brainvcs.merge.base: merging branches of a repository."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brainvcs import Repository
from brainvcs.snapshot import canonical
from brainvcs.brains import ReferenceBrain, bundled_texts
from brainvcs.errors import MergeConflictError, RefConflict, RevisionNotFoundError, UsageError
from brainvcs.merge import api as merge_api
from brainvcs.merge import merge_bases
from brainvcs.merge.api import merge
from brainvcs.merge.api import MERGE_BASE_TRAILER, abort_merge, base_state
from brainvcs.storage.objects import ObjectId

RULES = {"rules": [{"path": "cognitive_metrics.attention_focus", "strategy": "ours"}]}


def refs_of(repo: Repository) -> dict[str, Any]:
    return {**repo.refs.all(), "HEAD": repo.head()}


def diverge(repo: Repository, base: dict[str, Any], ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    """Commit ``base`` on main, then ``ours`` on main and ``theirs`` on branch topic."""
    repo.commit(base, "base")
    repo.create_branch("topic")
    repo.commit(ours, "ours")
    repo.commit(theirs, "theirs", branch="topic")


# --------------------------------------------------------------------------
# The reference brain on two branches


@pytest.fixture(scope="module")
def brains() -> dict[str, dict[str, Any]]:
    """A base brain with merge rules, and two brains that each learned a different text from it."""
    texts = bundled_texts()
    names = sorted(texts)
    brain = ReferenceBrain()
    brain.learn(texts[names[0]])
    state = brain.to_state()
    state["brainvcs_merge"] = RULES
    out = {"base": ReferenceBrain.from_state(state).to_state()}
    for side, name in (("ours", names[1]), ("theirs", names[2])):
        learner = ReferenceBrain.from_state(out["base"])
        learner.learn(texts[name])
        out[side] = learner.to_state()
    return out


def test_two_brains_that_learned_different_texts_merge_without_losing_either(
        tmp_path: Path, brains: dict[str, dict[str, Any]]) -> None:
    base, ours, theirs = brains["base"], brains["ours"], brains["theirs"]
    with Repository.init(tmp_path / "brain") as repo:
        diverge(repo, base, ours, theirs)
        ours_id, theirs_id = repo.resolve("main"), repo.resolve("topic")
        result = merge(repo, "topic")
        assert result.status == "merged"
        info = repo.commit_info("main")
        assert info.parents == (ours_id, theirs_id)
        assert info.trailers[MERGE_BASE_TRAILER] == repo.resolve("main~1~1")
        assert info.summary == "Merge branch 'topic' into main"
        assert "from main" in info.message and "from topic" in info.message
        state = repo.checkout("main")

        freq = {side: s["language_module"]["word_frequency"] for side, s in brains.items()}
        words = freq["base"].keys() | freq["ours"].keys() | freq["theirs"].keys()
        expected = {w: freq["base"].get(w, 0) + (freq["ours"].get(w, 0) - freq["base"].get(w, 0))
                    + (freq["theirs"].get(w, 0) - freq["base"].get(w, 0)) for w in words}
        assert state["language_module"]["word_frequency"] == expected
        vocabulary = state["language_module"]["vocabulary"]
        assert vocabulary == {**ours["language_module"]["vocabulary"], **theirs["language_module"]["vocabulary"]}
        memories = [canonical.encode(m) for m in state["memory_module"]["episodic_memory"]]
        for side in (ours, theirs):
            for memory in side["memory_module"]["episodic_memory"]:
                assert canonical.encode(memory) in memories
        assert state["cognitive_metrics"]["attention_focus"] == ours["cognitive_metrics"]["attention_focus"]
        assert state["brainvcs_merge"] == RULES
        assert repo.verify().ok
        # The merged state is still a reference brain that keeps learning.
        ReferenceBrain.from_state(state).learn("The sea and the garden met.")


def test_without_rules_the_reference_brains_focus_conflicts(mem_repo: Repository,
                                                             brains: dict[str, dict[str, Any]]) -> None:
    plain = {side: {k: v for k, v in s.items() if k != "brainvcs_merge"} for side, s in brains.items()}
    diverge(mem_repo, plain["base"], plain["ours"], plain["theirs"])
    with pytest.raises(MergeConflictError) as info:
        merge(mem_repo, "topic")
    assert [c.path for c in info.value.conflicts] == ["cognitive_metrics.attention_focus.primary_focus"]


# --------------------------------------------------------------------------
# Conflicts and their resolution

BASE = {"lang": {"freq": {"sea": 2}, "focus": "sea"}}
OURS = {"lang": {"freq": {"sea": 5}, "focus": "garden"}}
THEIRS = {"lang": {"freq": {"sea": 3, "rose": 1}, "focus": "music"}}


def test_a_conflict_reports_and_moves_no_ref(mem_repo: Repository) -> None:
    diverge(mem_repo, BASE, OURS, THEIRS)
    before = refs_of(mem_repo)
    with pytest.raises(MergeConflictError) as info:
        merge(mem_repo, "topic")
    assert [c.to_json() for c in info.value.conflicts] == [
        {"path": "lang.focus", "reason": "changed differently on both sides",
         "base": "sea", "ours": "garden", "theirs": "music"}]
    assert info.value.message == "merge stopped by 1 conflict(s): lang.focus; no branch was changed"
    assert refs_of(mem_repo) == before


@pytest.mark.parametrize(("resolution", "focus"), [("theirs", "music"), ("base", "sea"), ('"sea and garden"',
                                                                                       "sea and garden")])
def test_resolving_a_conflict(mem_repo: Repository, resolution: str, focus: str) -> None:
    diverge(mem_repo, BASE, OURS, THEIRS)
    result = merge(mem_repo, "topic", resolutions={"lang.focus": resolution})
    assert result.status == "merged"
    assert mem_repo.checkout() == {"lang": {"freq": {"sea": 6, "rose": 1}, "focus": focus}}
    assert mem_repo.commit_info().parents == (result.ours, result.theirs)


def test_strategy_theirs_settles_conflicts(mem_repo: Repository) -> None:
    diverge(mem_repo, BASE, OURS, THEIRS)
    merge(mem_repo, "topic", strategy="theirs")
    assert mem_repo.checkout() == {"lang": {"freq": {"sea": 6, "rose": 1}, "focus": "music"}}


def test_dry_run_plans_and_changes_nothing(mem_repo: Repository) -> None:
    diverge(mem_repo, BASE, OURS, THEIRS)
    before = refs_of(mem_repo)
    result = merge(mem_repo, "topic", dry_run=True)
    assert result.status == "planned" and result.dry_run and result.commit is None
    assert result.plan is not None
    assert [(o.path, o.source) for o in result.plan.outcomes] == [("lang.freq.rose", "theirs"),
                                                                  ("lang.freq.sea", "merged")]
    assert [c.path for c in result.plan.conflicts] == ["lang.focus"]
    assert refs_of(mem_repo) == before
    assert result.to_json()["tip"] == before["refs/heads/main"]


def test_concurrent_commit_during_a_merge_is_a_ref_conflict(mem_repo: Repository,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    diverge(mem_repo, {"m": {"n": 1}}, {"m": {"n": 2}}, {"m": {"n": 3}})
    real = merge_api.plan_commits

    def plan_then_someone_commits(*args: Any, **kwargs: Any) -> Any:
        planned = real(*args, **kwargs)
        mem_repo.commit({"m": {"n": 10}}, "a concurrent writer")
        return planned

    monkeypatch.setattr(merge_api, "plan_commits", plan_then_someone_commits)
    with pytest.raises(RefConflict):
        merge(mem_repo, "topic")
    assert mem_repo.commit_info("main").summary == "a concurrent writer"


# --------------------------------------------------------------------------
# Fast-forward, up to date, other branches


def test_fast_forward(mem_repo: Repository) -> None:
    mem_repo.commit({"m": 1}, "one")
    mem_repo.create_branch("topic")
    tip = mem_repo.commit({"m": 2}, "two", branch="topic").commit
    assert tip is not None
    dry = merge(mem_repo, "topic", dry_run=True)
    assert (dry.status, dry.tip) == ("fast-forward", mem_repo.resolve("main"))
    result = merge(mem_repo, "topic")
    assert (result.status, result.tip) == ("fast-forward", tip.id)
    assert mem_repo.resolve("main") == tip.id


def test_already_up_to_date(mem_repo: Repository) -> None:
    mem_repo.commit({"m": 1}, "one")
    mem_repo.create_branch("old")
    mem_repo.commit({"m": 2}, "two")
    before = refs_of(mem_repo)
    assert merge(mem_repo, "old").status == "up-to-date"
    assert merge(mem_repo, "main").status == "up-to-date"
    assert refs_of(mem_repo) == before


def test_merge_into_an_unborn_branch_fast_forwards(mem_repo: Repository) -> None:
    mem_repo.commit({"m": 1}, "one", branch="topic")
    assert merge(mem_repo, "topic").status == "fast-forward"
    assert mem_repo.checkout("main") == {"m": 1}


def test_merge_into_another_branch(mem_repo: Repository) -> None:
    diverge(mem_repo, {"m": {"n": 1}}, {"m": {"n": 2}}, {"m": {"n": 4}})
    mem_repo.switch("topic")
    result = merge(mem_repo, "topic", into="main")
    assert result.ref == "refs/heads/main"
    assert mem_repo.checkout("main") == {"m": {"n": 5}}
    assert mem_repo.checkout("topic") == {"m": {"n": 4}}


def test_unrelated_histories_are_refused(mem_repo: Repository) -> None:
    mem_repo.commit({"m": 1}, "one")
    mem_repo.commit({"m": 2}, "other root", branch="other", expected_head=None)
    with pytest.raises(UsageError, match="share no history"):
        merge(mem_repo, "other")


def test_unknown_branch(mem_repo: Repository) -> None:
    mem_repo.commit({"m": 1}, "one")
    with pytest.raises(RevisionNotFoundError):
        merge(mem_repo, "nope")


def test_abort_has_nothing_to_undo(repo: Repository) -> None:
    assert abort_merge(repo).startswith("nothing to abort")


# --------------------------------------------------------------------------
# Merge bases


def graph(edges: dict[str, list[str]]) -> Any:
    return lambda commit: [ObjectId(p) for p in edges[commit]]


def test_merge_bases_on_a_graph() -> None:
    #   r - a1 - a2        criss-cross: a2 merges b1, b2 merges a1
    #     \    X
    #      b1 - b2
    parents = graph({"r": [], "a1": ["r"], "b1": ["r"], "a2": ["a1", "b1"], "b2": ["b1", "a1"], "c": ["a2"]})
    assert merge_bases(parents, [ObjectId("a2")], [ObjectId("b2")]) == ["a1", "b1"]
    assert merge_bases(parents, [ObjectId("c")], [ObjectId("b1")]) == ["b1"]
    assert merge_bases(parents, [ObjectId("a1")], [ObjectId("b1")]) == ["r"]
    lonely = graph({"x": [], "y": []})
    assert merge_bases(lonely, [ObjectId("x")], [ObjectId("y")]) == []


def test_criss_cross_counters_are_not_counted_twice(mem_repo: Repository) -> None:
    repo = mem_repo
    repo.commit({"f": {"w": 10}}, "root")
    repo.create_branch("b")
    repo.commit({"f": {"w": 11}}, "a1 (+1)")
    repo.commit({"f": {"w": 12}}, "b1 (+2)", branch="b")
    a1, b1 = repo.resolve("main"), repo.resolve("b")
    # Criss-cross: each side merges the other's first commit.
    assert merge(repo, "b").status == "merged"                           # main: 13 = a2
    repo.commit({"f": {"w": 13}}, "b2", branch="b", parents=[b1, a1], expected_head=b1)
    repo.commit({"f": {"w": 17}}, "a3 (+4)")
    repo.commit({"f": {"w": 21}}, "b3 (+8)", branch="b")
    bases = repo.graph.merge_bases([repo.resolve("main")], [repo.resolve("b")])
    assert sorted(bases) == sorted([a1, b1])
    assert base_state(repo, bases) == {"f": {"w": 13}}
    merge(repo, "b")
    assert repo.checkout() == {"f": {"w": 10 + 1 + 2 + 4 + 8}}
    assert repo.verify().ok


# --------------------------------------------------------------------------
# Every merged state is a valid snapshot

_leaf = st.one_of(st.integers(0, 100), st.floats(0, 1), st.text(max_size=3), st.booleans())
_module = st.dictionaries(st.text(min_size=1, max_size=3), st.one_of(_leaf, st.lists(_leaf, max_size=4)), max_size=5)
_state = st.dictionaries(st.sampled_from(["lang", "mem", "metrics"]), _module, min_size=1, max_size=3)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_state, _state, _state)
def test_merged_states_always_pass_verify(base: dict[str, Any], ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    repo = Repository.memory()
    diverge(repo, base, {**base, **ours}, {**base, **theirs})
    try:
        result = merge(repo, "topic", strategy="theirs")
    except MergeConflictError:  # pragma: no cover - strategy theirs settles everything
        raise AssertionError("strategy theirs left a conflict") from None
    assert result.status in ("merged", "up-to-date", "fast-forward")
    assert repo.verify().ok
