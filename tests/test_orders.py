"""Key orders stored once for parallel maps (brainvcs.snapshot.orders; type tables version 2, docs/format.md §8)."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

from brainvcs import Repository
from brainvcs.errors import CorruptObjectError
from brainvcs.snapshot.orders import expand_orders, share_orders

sys.path.insert(0, str(Path(__file__).parent))
from graph_equal import assert_graph_equal  # noqa: E402


class Lexicon:
    """Parallel maps grown together, as the seed's language module grows them."""

    def __init__(self, words: int = 120, seed: int = 3) -> None:
        rng = random.Random(seed)
        self.vocabulary: dict[str, dict[str, bool]] = {}
        self.word_frequency: dict[str, int] = {}
        self.context_associations: dict[str, list[str]] = {}
        self.aside: dict[str, int] = {}
        for i in range(words):
            self.learn(f"w{rng.randrange(10**6)}", i)

    def learn(self, word: str, step: int) -> None:
        self.vocabulary.setdefault(word, {f"n{step % 7}": True})
        self.word_frequency[word] = self.word_frequency.get(word, 0) + 1
        self.context_associations.setdefault(word, []).append(f"c{step}")
        self.aside[f"a{step * 7919 % 1000}"] = step  # its own order


def test_share_orders_keeps_each_key_list_once_at_its_smallest_path() -> None:
    keys = [f"k{i}" for i in range(80, 0, -1)]
    table = {"order": {"z": list(keys), "b": list(keys), "m": list(reversed(keys)), "q": list(keys), "s": "1 0"}}
    assert share_orders(table)
    assert table["order"] == {"z": {"as": "b"}, "b": keys, "m": list(reversed(keys)), "q": {"as": "b"}, "s": "1 0"}
    assert expand_orders(table["order"])["z"] == keys
    assert not share_orders({"order": {"a": keys, "b": list(reversed(keys))}})


@pytest.mark.parametrize("record", [{"as": "nowhere"}, {"as": "s"}, {"as": 3}, {"as": "b", "and": 1}])
def test_a_reference_to_no_key_list_is_refused(record: object) -> None:
    with pytest.raises(ValueError, match="refers to no recorded key list"):
        expand_orders({"b": ["x"], "s": "1 0", "bad": record})


def test_maps_in_different_modules_each_keep_their_own_list() -> None:
    repo = Repository.memory()
    brain = Lexicon()  # each map is an attribute of the brain: a module of its own, with its own table
    repo.commit(brain, "lexicon")
    types = repo.checkout()["@types"]
    assert types["version"] == 1
    assert all(isinstance(types["modules"][name]["order"][""], list)
               for name in ("vocabulary", "word_frequency", "context_associations"))
    assert_graph_equal(brain, repo.checkout(factory=Lexicon))


class Language:
    def __init__(self) -> None:
        self.language_module = Lexicon().__dict__


def test_within_one_module_the_list_is_stored_once_and_restored_everywhere() -> None:
    repo = Repository.memory()
    brain = Language()
    repo.commit(brain, "language")
    types = repo.checkout()["@types"]
    order = types["modules"]["language_module"]["order"]
    assert isinstance(order["context_associations"], list)
    assert order["vocabulary"] == order["word_frequency"] == {"as": "context_associations"}
    assert isinstance(order["aside"], list)
    assert types["version"] == 2
    back = repo.checkout(factory=Language)
    assert_graph_equal(brain, back)
    assert list(back.language_module["word_frequency"]) == list(brain.language_module["word_frequency"])


def test_without_parallel_maps_the_type_tables_stay_version_1() -> None:
    repo = Repository.memory()
    brain = Language()
    del brain.language_module["vocabulary"], brain.language_module["word_frequency"]
    repo.commit(brain, "no twins")
    assert repo.checkout()["@types"]["version"] == 1


def test_a_dangling_reference_in_a_repository_is_a_corrupt_snapshot() -> None:
    repo = Repository.memory()
    repo.commit(Language(), "language")
    state = repo.checkout()
    state["@types"]["modules"]["language_module"]["order"]["vocabulary"] = {"as": "nowhere"}
    repo.commit(state, "damaged tables")
    with pytest.raises(CorruptObjectError, match="refers to no recorded key list"):
        repo.checkout(factory=Language)
    state["@types"]["version"] = 1  # a version 1 table cannot hold references at all
    state["@types"]["modules"]["language_module"]["order"]["vocabulary"] = {"as": "context_associations"}
    repo.commit(state, "version 1 with a reference")
    with pytest.raises(CorruptObjectError):
        repo.checkout(factory=Language)


def test_a_merge_of_parallel_maps_rebuilds_shared_orders_and_recommits_to_the_same_fingerprint() -> None:
    repo = Repository.memory()
    brain = Language()
    repo.commit(brain, "base")
    repo.create_branch("topic")
    ours, theirs = repo.checkout(factory=Language), repo.checkout(factory=Language)
    for brain_side, word in ((ours, "ours"), (theirs, "theirs")):
        lexicon = Lexicon.__new__(Lexicon)
        lexicon.__dict__ = brain_side.language_module
        lexicon.learn(word, 1000)
    repo.commit(ours, "ours")
    repo.commit(theirs, "theirs", branch="topic")
    result = repo.merge("topic")
    assert result.status == "merged"
    types = repo.checkout()["@types"]
    order = types["modules"]["language_module"]["order"]
    assert order["vocabulary"] == {"as": "context_associations"} and types["version"] == 2
    merged = repo.checkout(factory=Language)
    assert list(merged.language_module["vocabulary"])[-2:] in (["ours", "theirs"], ["theirs", "ours"])
    again = Repository.memory().commit(merged, "the merged brain, committed afresh")
    assert again.fingerprint == repo.commit_info().fingerprint
