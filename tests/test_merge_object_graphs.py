"""Merging brains committed as object graphs: the values merge as any state's do, and the type tables are
rebuilt for the merged values (brainvcs.merge.typetables), so the merge checks out as a live brain again."""

from __future__ import annotations

import copy
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from brainvcs import Repository

sys.path.insert(0, str(Path(__file__).parent))
from brain_zoo import ZOO, NeuralPattern, SeedStyleBrain  # noqa: E402
from teamsync import bare_remote  # noqa: E402


def _diverge(name: str) -> tuple[Repository, Any, Any, Any]:
    repo = Repository.memory()
    brain = ZOO[name]()
    for i in range(5):
        brain.step(i)
    repo.commit(brain, "base")
    repo.create_branch("topic")
    ours, theirs = copy.deepcopy(brain), copy.deepcopy(brain)
    for i in range(5, 9):
        ours.step(i)
    repo.commit(ours, "ours learned")
    for i in range(20, 23):
        theirs.step(i)
    repo.commit(theirs, "theirs learned", branch="topic")
    return repo, brain, ours, theirs


@pytest.mark.parametrize("name", ["slots", "numpy", "seed-style", "getstate", "pydantic"])
def test_object_graph_branches_merge_and_check_out_as_a_live_brain(name: str) -> None:
    repo, _, ours, _ = _diverge(name)
    result = repo.merge("topic")
    assert result.status == "merged"
    merged = repo.checkout("HEAD", factory=type(ours))
    assert type(merged) is type(ours)
    merged.step(100)  # a working brain, not a dict shaped like one


def test_a_merged_seed_style_brain_holds_both_sides_learning_with_its_types() -> None:
    repo, base, ours, theirs = _diverge("seed-style")
    repo.merge("topic")
    merged = repo.checkout("HEAD", factory=SeedStyleBrain)
    lang = merged.language_module
    assert set(lang.vocabulary) == set(ours.language_module.vocabulary) | set(theirs.language_module.vocabulary)
    expected = Counter(base.language_module.word_frequency)
    for side in (ours, theirs):
        expected.update({w: n - base.language_module.word_frequency.get(w, 0)
                         for w, n in side.language_module.word_frequency.items()})
    assert dict(lang.word_frequency) == dict(+expected)
    responses = list(merged.response_generator.response_memory)
    inputs = [r["input"] for r in responses]
    for side in (ours, theirs):
        assert {r["input"] for r in side.response_generator.response_memory} <= set(inputs)
    assert all(type(r["neural_pattern"]) is NeuralPattern for r in responses)  # tags followed the items
    assert merged.response_generator.response_memory.maxlen == 100
    assert list(lang.vocabulary)[:len(base.language_module.vocabulary)] == list(base.language_module.vocabulary)


def test_random_generators_are_atomic_in_a_merge() -> None:
    repo, _, ours, _ = _diverge("slots")
    plan = repo.merge("topic", dry_run=True).plan
    assert plan is not None
    [rng] = [o for o in plan.outcomes if o.path == "rng"]
    assert (rng.source, rng.strategy) == ("ours", "atomic")


def test_two_machines_sync_a_live_seed_style_brain(tmp_path: Path) -> None:
    brain = SeedStyleBrain()
    brain.step(0)
    url = bare_remote(tmp_path, brain)
    laptop, desktop = (Repository.clone(url, tmp_path / name) for name in ("laptop", "desktop"))
    brains = [laptop.checkout("HEAD", factory=SeedStyleBrain), desktop.checkout("HEAD", factory=SeedStyleBrain)]
    for step in range(1, 7):
        for repo, live in zip((laptop, desktop), brains):
            live.step(step * 10 + (repo is desktop))
            repo.commit(live, f"step {step}")
            repo.sync()
            repo.checkout("HEAD", into=live)  # the live brain takes in what the other machine learned
    laptop.sync()
    desktop.sync()
    assert laptop.head() == desktop.head()
    final = laptop.checkout("HEAD", factory=SeedStyleBrain)
    history = [h["step"] for h in final.brain_history]
    assert sorted(history) == sorted({0, *(s * 10 for s in range(1, 7)), *(s * 10 + 1 for s in range(1, 7))})
    laptop.close()
    desktop.close()
