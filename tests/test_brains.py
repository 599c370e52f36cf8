"""Tests for brainvcs.brains: the reference brain and the synthetic brain generator."""

from __future__ import annotations

import hashlib
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brainvcs.brains import (SIZES, LearnReport, ReferenceBrain, bundled_texts, change_fraction, learning_step,
                             synthetic_state)
from brainvcs.brains.language import MODULES, word_pattern
from brainvcs.brains.synthetic import synthetic_word
from brainvcs.errors import InvalidStateError, UsageError

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent
INT64 = (-(2**63), 2**63 - 1)
# sha256 of the sorted JSON of a default brain after all bundled texts.
GOLDEN_BUNDLED_DIGEST = "0f338d45566b71e549c45eaa256ff3d848e70f5bf25829133cc146856898a5bf"

T1 = "The garden was quiet. Bees moved between the lavender and the beans!\nRain came at dusk."
T2 = "Waves folded onto the sand. The garden smelled of rain and salt.\nA gull watched the bees."


# -- helpers ----------------------------------------------------------------------------


def assert_pure(value: Any, path: str = "$") -> None:
    """Fail unless ``value`` is built only from JSON types with str keys and finite floats."""
    if isinstance(value, dict):
        for key, item in value.items():
            assert type(key) is str, f"{path}: non-string key {key!r}"
            assert_pure(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            assert_pure(item, f"{path}[{index}]")
    elif isinstance(value, bool) or value is None or type(value) is str:
        pass
    elif type(value) is int:
        assert INT64[0] <= value <= INT64[1], f"{path}: {value} does not fit in 64 bits"
    elif type(value) is float:
        assert math.isfinite(value), f"{path}: {value} is not finite"
    else:
        raise AssertionError(f"{path}: {type(value).__name__} is not a JSON type")


def assert_no_shared_containers(state: Any) -> None:
    """Fail if any dict or list object appears twice inside ``state`` (internal aliasing)."""
    seen: set[int] = set()
    stack = [state]
    while stack:
        item = stack.pop()
        if isinstance(item, (dict, list)):
            assert id(item) not in seen, "a container is shared inside the state"
            seen.add(id(item))
            stack.extend(item.values() if isinstance(item, dict) else item)


def dumps(state: dict[str, Any]) -> str:
    return json.dumps(state, sort_keys=True, ensure_ascii=False)


def sorted_copy(state: dict[str, Any]) -> dict[str, Any]:
    """A JSON round trip with sorted keys: same logical state, different dict order."""
    copy: dict[str, Any] = json.loads(dumps(state))
    return copy


def trained(*texts: str) -> ReferenceBrain:
    brain = ReferenceBrain()
    for text in texts:
        brain.learn(text)
    return brain


def weights(state: dict[str, Any]) -> dict[tuple[str, str], float]:
    neurons = state["language_module"]["neurons"]
    return {(a, b): w for a, neuron in neurons.items() for b, w in neuron["connections"].items()}


# -- bundled texts and layout -----------------------------------------------------------


def test_bundled_texts_are_a_few_short_original_texts() -> None:
    texts = bundled_texts()
    assert 3 <= len(texts) <= 5
    assert list(texts) == sorted(texts)
    for name, text in texts.items():
        assert 200 <= len(text.split()) <= 800, name
        text.encode("ascii")


def test_state_has_exactly_the_reference_layout() -> None:
    state = trained(T1).to_state()
    assert tuple(state) == MODULES
    assert set(state["language_module"]) == {"vocabulary", "word_frequency", "context_associations", "neurons"}
    assert set(state["memory_module"]) == {"working_memory", "episodic_memory", "active"}
    assert set(state["response_generator"]) == {"response_memory", "conversation_context"}
    assert set(state["cognitive_metrics"]) == {"cognitive_load", "attention_focus", "step"}
    neuron = state["language_module"]["neurons"]["lang_neuron_0"]
    assert set(neuron) == {"threshold", "membrane_potential", "connections", "learning_rate", "spike_history"}
    assert set(state["brain_history"][0]) == {"step", "input_text", "neural_intensity", "cognitive_load"}
    assert set(state["response_generator"]["response_memory"][0]) == {"input", "response", "step", "intensity"}
    assert set(state["memory_module"]["working_memory"][0]) >= {"content", "step", "neural_pattern"}
    language = state["language_module"]
    assert set(language["vocabulary"]) == set(language["word_frequency"]) == set(language["context_associations"])


def test_caps_hold_after_all_bundled_texts_twice() -> None:
    brain = trained(*bundled_texts().values(), *bundled_texts().values())
    state = brain.to_state()
    assert_pure(state)
    assert_no_shared_containers(state)
    assert len(state["memory_module"]["working_memory"]) == 7
    assert len(state["brain_history"]) == 50
    assert len(state["response_generator"]["response_memory"]) == 100
    assert len(state["response_generator"]["conversation_context"]) == 10
    assert all(len(window) <= 50 for window in state["language_module"]["context_associations"].values())
    assert all(len(n["spike_history"]) <= 20 for n in state["language_module"]["neurons"].values())
    assert state["memory_module"]["episodic_memory"], "salient inputs should be consolidated"
    assert weights(state), "co-active neurons should have connected"


# -- determinism --------------------------------------------------------------------------

def probe_output() -> str:
    """Everything determinism depends on, as one string (also run in subprocesses)."""
    brain = ReferenceBrain(n_neurons=64, seed=3)
    for text in bundled_texts().values():
        brain.learn(text)
    synthetic = synthetic_state(words=500, neurons=40, connections=8, memories=60, seed=5)
    learning_step(synthetic, step=61, touched_words=30, new_words=2, touched_neurons=4, seed=5)
    change_fraction(synthetic, 0.1, step=62, seed=5)
    return json.dumps([brain.to_state(), synthetic], sort_keys=True, ensure_ascii=False)


def _probe_in_subprocess(hash_seed: str) -> str:
    env = dict(os.environ, PYTHONHASHSEED=hash_seed)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), str(TESTS_DIR), env.get("PYTHONPATH")]))
    script = "import sys, test_brains; sys.stdout.write(test_brains.probe_output())"
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, encoding="utf-8", check=True
    )
    return result.stdout


def test_states_are_identical_across_processes_and_hash_seeds() -> None:
    outputs = [_probe_in_subprocess(seed) for seed in ("1", "4242")]
    assert outputs[0] == outputs[1]
    # ...and equal to what this process computes, whatever its own hash seed is.
    assert probe_output() == outputs[0]


def test_reference_brain_golden_fingerprint() -> None:
    # Pins the learning rules: if this changes on purpose, update the digest and say
    # so in the changelog, because old demo repositories will no longer reproduce.
    state = trained(*bundled_texts().values()).to_state()
    digest = hashlib.sha256(dumps(state).encode("utf-8")).hexdigest()
    assert digest == GOLDEN_BUNDLED_DIGEST



def test_word_pattern_is_stable_and_within_range() -> None:
    pattern = word_pattern("garden", 100)
    assert pattern == word_pattern("garden", 100)
    assert 5 <= len(pattern) <= 15 and any(pattern.values())
    assert all(0 <= int(nid.rsplit("_", 1)[1]) < 100 for nid in pattern)
    assert list(word_pattern("x", 1)) == ["lang_neuron_0"]


def test_seed_changes_initial_neurons_only() -> None:
    a, b = ReferenceBrain(seed=1).to_state(), ReferenceBrain(seed=2).to_state()
    assert a["language_module"]["neurons"] != b["language_module"]["neurons"]
    assert ReferenceBrain(seed=1).to_state() == a


# -- restoring --------------------------------------------------------------------------


@pytest.mark.parametrize("through_json", [False, True])
def test_from_state_continues_exactly(through_json: bool) -> None:
    original = trained(T1)
    snapshot = original.to_state()
    report_a = original.learn(T2)
    restored = ReferenceBrain.from_state(sorted_copy(snapshot) if through_json else snapshot)
    report_b = restored.learn(T2)
    assert dumps(restored.to_state()) == dumps(original.to_state())
    assert report_a == report_b


_SENTENCES = st.lists(
    st.text(alphabet="abcdefgh  .!?'\n", min_size=0, max_size=60), min_size=1, max_size=6
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts=_SENTENCES, split=st.integers(min_value=0, max_value=6), neurons=st.integers(1, 30))
def test_any_split_of_the_input_gives_the_same_brain(texts: list[str], split: int, neurons: int) -> None:
    whole = ReferenceBrain(n_neurons=neurons)
    for text in texts:
        whole.learn(text)
    head = ReferenceBrain(n_neurons=neurons)
    for text in texts[:split]:
        head.learn(text)
    resumed = ReferenceBrain.from_state(sorted_copy(head.to_state()))
    for text in texts[split:]:
        resumed.learn(text)
    state = resumed.to_state()
    assert_pure(state)
    assert dumps(state) == dumps(whole.to_state())


def test_from_state_rejects_foreign_states() -> None:
    with pytest.raises(InvalidStateError):
        ReferenceBrain.from_state({})
    state = ReferenceBrain(n_neurons=3).to_state()
    state["language_module"]["neurons"]["neuron_x"] = state["language_module"]["neurons"].pop("lang_neuron_2")
    with pytest.raises(InvalidStateError, match="lang_neuron"):
        ReferenceBrain.from_state(state)
    with pytest.raises(UsageError):
        ReferenceBrain(n_neurons=0)


# -- purity and aliasing -------------------------------------------------------------------


def test_to_state_never_aliases_the_brain() -> None:
    brain = trained(T1)
    first = brain.to_state()
    expected = dumps(first)
    # Vandalise every kind of container in the returned state.
    first["language_module"]["vocabulary"].clear()
    first["language_module"]["neurons"]["lang_neuron_0"]["connections"]["zzz"] = 9.0
    first["language_module"]["neurons"]["lang_neuron_1"]["spike_history"].append(-1)
    first["memory_module"]["working_memory"][0]["neural_pattern"]["intensity"] = 5.0
    first["cognitive_metrics"]["attention_focus"]["secondary_focuses"].append("zzz")
    first["brain_history"].clear()
    assert dumps(brain.to_state()) == expected
    # And learning afterwards does not reach into an earlier result.
    second = brain.to_state()
    brain.learn(T2)
    assert dumps(second) == expected


def test_from_state_copies_its_input() -> None:
    state = trained(T1).to_state()
    expected = dumps(state)
    brain = ReferenceBrain.from_state(state)
    brain.learn(T2)
    assert dumps(state) == expected
    state["language_module"]["word_frequency"]["garden"] = 10**6
    assert brain.to_state()["language_module"]["word_frequency"]["garden"] < 10**6


@settings(max_examples=30, deadline=None)
@given(text=st.text(max_size=200))
def test_any_text_gives_a_pure_state(text: str) -> None:
    brain = ReferenceBrain(n_neurons=20)
    report = brain.learn(text)
    state = brain.to_state()
    assert_pure(state)
    assert_no_shared_containers(state)
    assert report.inputs == state["cognitive_metrics"]["step"]


# -- reports ----------------------------------------------------------------------------


def test_report_counts_match_state_changes() -> None:
    brain = trained(*list(bundled_texts().values())[:2])
    before = brain.to_state()
    report = brain.learn(T2 + "\nThe soil was dark. Compost fed every bed.")
    after = brain.to_state()
    step_before = before["cognitive_metrics"]["step"]
    assert report.inputs == after["cognitive_metrics"]["step"] - step_before < 20  # spike caps cannot hide spikes

    old_vocab, new_vocab = before["language_module"]["vocabulary"], after["language_module"]["vocabulary"]
    assert sorted(report.new_words) == sorted(set(new_vocab) - set(old_vocab))
    assert len(report.new_words) == len(set(report.new_words)) == report.new_word_count
    old_freq, new_freq = before["language_module"]["word_frequency"], after["language_module"]["word_frequency"]
    assert report.word_encounters == sum(new_freq.values()) - sum(old_freq.values())
    spikes = sum(
        sum(1 for s in neuron["spike_history"] if s > step_before)
        for neuron in after["language_module"]["neurons"].values()
    )
    assert report.spikes == spikes
    old_w, new_w = weights(before), weights(after)
    assert report.strengthened_connections == sum(1 for k, w in new_w.items() if w > old_w.get(k, 0.0))
    episodic = len(after["memory_module"]["episodic_memory"]) - len(before["memory_module"]["episodic_memory"])
    assert report.memories_added == episodic
    assert report.to_dict()["new_word_count"] == report.new_word_count


def test_report_summary_reads_like_a_learning_diff() -> None:
    report = LearnReport(inputs=3, new_words=["garden", "soil", "compost", "bean", "pea", "leek"],
                         word_encounters=85, spikes=1, strengthened_connections=14, memories_added=3)
    assert report.summary() == (
        "learned 6 new words (garden, soil, compost, bean, pea, ...), 85 word encounters, "
        "1 spike, 14 connections strengthened, 3 memories"
    )
    assert LearnReport(inputs=1, word_encounters=1, memories_added=1).summary() == (
        "learned no new words, 1 word encounter, 0 spikes, 0 connections strengthened, 1 memory"
    )
    assert ReferenceBrain().learn("  ... \n\n").summary() == "nothing learned (no words in the input)"


# -- synthetic brains ----------------------------------------------------------------------


def test_synthetic_m_has_the_promised_counts() -> None:
    state = synthetic_state(**SIZES["M"])
    language = state["language_module"]
    assert len(language["vocabulary"]) == len(language["word_frequency"]) == 100_000
    assert set(language["context_associations"]) == set(language["vocabulary"])
    assert all(len(window) == 10 for window in language["context_associations"].values())
    assert len(language["neurons"]) == 10_000
    assert all(len(n["connections"]) == 50 and nid not in n["connections"] for nid, n in language["neurons"].items())
    assert len(state["memory_module"]["episodic_memory"]) == 5_000
    assert tuple(state) == MODULES


def test_size_presets() -> None:
    assert set(SIZES) == {"S", "M", "L"}
    assert SIZES["L"]["words"] == 1_000_000 and SIZES["L"]["neurons"] == 50_000
    state = synthetic_state(**SIZES["S"])
    assert 500_000 <= len(dumps(state)) <= 2_000_000
    assert_pure(state)
    assert_no_shared_containers(state)


def test_synthetic_words_are_unique_and_wordlike() -> None:
    words = [synthetic_word(i) for i in range(200_000)]
    assert len(set(words)) == len(words)
    assert all(w.isalpha() and w.islower() and len(w) >= 4 for w in words[:1000])


def test_synthetic_state_is_deterministic_per_seed() -> None:
    kwargs: dict[str, Any] = {"words": 300, "neurons": 30, "connections": 5, "memories": 40}
    assert synthetic_state(**kwargs, seed=1) == synthetic_state(**kwargs, seed=1)
    assert synthetic_state(**kwargs, seed=1) != synthetic_state(**kwargs, seed=2)
    tiny = synthetic_state(words=0, neurons=1, connections=50, memories=0, context=0)
    assert_pure(tiny)
    with pytest.raises(UsageError):
        synthetic_state(words=-1, neurons=3)


def _changed(before: dict[str, Any], after: dict[str, Any]) -> set[str]:
    return {key for key in before if after.get(key) != before[key]}


@settings(max_examples=25, deadline=None)
@given(
    touched_words=st.integers(0, 300),
    new_words=st.integers(0, 5),
    touched_neurons=st.integers(0, 40),
    new_memories=st.integers(0, 12),
    max_memories=st.one_of(st.none(), st.integers(0, 80)),
)
def test_learning_step_touches_what_it_says(
    touched_words: int, new_words: int, touched_neurons: int, new_memories: int, max_memories: int | None
) -> None:
    state = synthetic_state(words=200, neurons=30, connections=6, memories=50, seed=7)
    before = sorted_copy(state)
    learning_step(state, step=51, touched_words=touched_words, new_words=new_words,
                  touched_neurons=touched_neurons, new_memories=new_memories, max_memories=max_memories, seed=7)
    assert_pure(state)
    assert_no_shared_containers(state)
    old_lang, new_lang = before["language_module"], state["language_module"]
    assert len(_changed(old_lang["word_frequency"], new_lang["word_frequency"])) == min(touched_words, 200)
    assert len(_changed(old_lang["context_associations"], new_lang["context_associations"])) == min(touched_words, 200)
    assert len(new_lang["vocabulary"]) == len(new_lang["word_frequency"]) == 200 + new_words
    assert set(new_lang["context_associations"]) == set(new_lang["vocabulary"])
    assert len(_changed(old_lang["neurons"], new_lang["neurons"])) == min(touched_neurons, 30)
    assert all(len(w) <= 50 for w in new_lang["context_associations"].values())

    episodic = state["memory_module"]["episodic_memory"]
    cap = 50 if max_memories is None else max_memories
    assert len(episodic) == min(cap, 50 + new_memories)
    combined = before["memory_module"]["episodic_memory"] + episodic[len(episodic) - min(new_memories, len(episodic)):]
    assert episodic == combined[len(combined) - len(episodic):]  # dropped from the head only
    assert all(m["step"] == 51 for m in episodic[len(episodic) - min(new_memories, len(episodic)):])
    assert len(state["memory_module"]["working_memory"]) <= 7
    assert state["cognitive_metrics"]["step"] == 51


def test_learning_step_is_deterministic_and_ignores_dict_order() -> None:
    base = synthetic_state(words=400, neurons=40, connections=8, memories=30)
    a, b, c = sorted_copy(base), base, sorted_copy(base)
    for state in (a, b):
        learning_step(state, step=31, seed=3)
    learning_step(c, step=31, seed=4)
    assert dumps(a) == dumps(b)
    assert dumps(a) != dumps(c)


def test_learning_step_on_an_empty_memory_and_a_reference_state() -> None:
    state = synthetic_state(words=10, neurons=4, connections=2, memories=0)
    learning_step(state, step=1, new_memories=3)
    assert len(state["memory_module"]["episodic_memory"]) == 3  # an empty list is not capped
    reference = trained(T1).to_state()
    before = sorted_copy(reference)
    learning_step(reference, step=99, touched_words=5, new_words=2, touched_neurons=3)
    assert_pure(reference)
    old_freq, new_freq = before["language_module"]["word_frequency"], reference["language_module"]["word_frequency"]
    assert len(_changed(old_freq, new_freq)) == 5
    assert len(reference["language_module"]["vocabulary"]) == len(before["language_module"]["vocabulary"]) + 2
    # A brain restored from the mutated state keeps learning.
    ReferenceBrain.from_state(reference).learn(T2)


def test_change_fraction_changes_that_share() -> None:
    state = synthetic_state(words=2_000, neurons=300, connections=5, memories=10)
    before = sorted_copy(state)
    change_fraction(state, 0.01, step=11)
    assert len(_changed(before["language_module"]["word_frequency"], state["language_module"]["word_frequency"])) == 20
    assert len(_changed(before["language_module"]["neurons"], state["language_module"]["neurons"])) == 3
    assert state["memory_module"] == before["memory_module"]
    with pytest.raises(UsageError):
        change_fraction(state, 1.5, step=12)
