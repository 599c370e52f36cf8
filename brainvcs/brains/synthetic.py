"""Synthetic brains for benchmarks and scale tests.

``synthetic_state`` builds a state with the reference brain's module layout at any
size in seconds; ``learning_step`` and ``change_fraction`` mutate it in place the
way learning does (bumped counters, rolling windows, a few nudged weights,
memories appended at the tail and dropped from the head), so a benchmark can
measure what a commit costs after a realistic change.

Everything is deterministic: the same arguments give the same state in every
process. Randomness comes from ``random.Random`` seeded with a string, which
Python hashes with SHA-512, not with ``hash()``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from brainvcs.brains.language import (CONTEXT_CAP, CONVERSATION_CAP, HISTORY_CAP, RESPONSE_MEMORY_CAP,
                                      DIGITS, SPIKE_HISTORY_CAP, WORKING_MEMORY_CAP, State, copy_json, neuron_id)
from brainvcs.errors import UsageError

#: Keyword presets for ``synthetic_state``: S is about 1 MB of JSON, M and L are scale tests.
SIZES: dict[str, dict[str, int]] = {
    "S": {"words": 2_500, "neurons": 300, "connections": 20, "memories": 1_000, "context": 10},
    "M": {"words": 100_000, "neurons": 10_000, "connections": 50, "memories": 5_000, "context": 10},
    "L": {"words": 1_000_000, "neurons": 50_000, "connections": 50, "memories": 20_000, "context": 10},
}

_PATTERN_SIZE = 5
_NUDGED_WEIGHTS = 3
# Two-letter consonant-vowel syllables: their concatenations decode uniquely, so
# distinct syllable sequences are distinct words.
_SYLLABLES: tuple[str, ...] = tuple(c + v for c in "bdfgklmnprstvz" for v in "aeiou")


def synthetic_word(index: int) -> str:
    """Return the ``index``-th synthetic word (``index >= 0``), unique per index, e.g. ``baba``."""
    # Bijective base-70 numbering, offset so every word has at least two syllables.
    number = index + len(_SYLLABLES) + 1
    parts: list[str] = []
    while number > 0:
        number, digit = divmod(number - 1, len(_SYLLABLES))
        parts.append(_SYLLABLES[digit])
    return "".join(reversed(parts))


def synthetic_state(
    words: int,
    neurons: int,
    connections: int = 50,
    memories: int = 5000,
    context: int = 10,
    seed: int = 0,
) -> State:
    """Return a fresh synthetic state with the reference brain's layout.

    ``words`` vocabulary entries (each with a frequency and ``context`` context
    words), ``neurons`` neurons with ``connections`` weighted connections each,
    and ``memories`` episodic memories. ``cognitive_metrics.step`` is ``memories``.
    """
    for name, value in (("words", words), ("neurons", neurons), ("connections", connections),
                        ("memories", memories), ("context", context)):
        if value < 0:
            raise UsageError(f"{name} must not be negative, not {value}")
    if neurons < 1:
        raise UsageError("a synthetic brain needs at least one neuron")
    rng = random.Random(f"brainvcs-synthetic:{seed}")
    ids = [neuron_id(index) for index in range(neurons)]
    names = [synthetic_word(index) for index in range(words)]

    # Draw in bulk with choices(): one call per table is several times faster than
    # one call per entry at 100,000 words.
    vocabulary: dict[str, dict[str, bool]] = {}
    picks = rng.choices(ids, k=_PATTERN_SIZE * words)
    for index, word in enumerate(names):
        bits = rng.getrandbits(_PATTERN_SIZE)
        base = index * _PATTERN_SIZE
        vocabulary[word] = {picks[base + k]: bool(bits >> k & 1) for k in range(_PATTERN_SIZE)}
    frequency = {word: 1 + int(min(rng.paretovariate(1.2), 1e6)) for word in names}
    contexts = rng.choices(names, k=context * words) if names else []
    associations = {word: contexts[i * context : (i + 1) * context] for i, word in enumerate(names)}

    fan_out = min(connections, neurons - 1)
    neuron_table = {
        nid: {
            "threshold": round(0.5 + 0.5 * rng.random(), DIGITS),
            "membrane_potential": round(rng.random(), DIGITS),
            "connections": _connections(rng, ids, index, fan_out),
            "learning_rate": 0.05,
            "spike_history": sorted(rng.sample(range(1, max(memories, 3) + 1), 3)),
        }
        for index, nid in enumerate(ids)
    }

    pick_word: Callable[[], str] = (lambda: rng.choice(names)) if names else (lambda: "")
    episodic = [_memory(rng, step, pick_word, ids) for step in range(1, memories + 1)]
    last = max(memories, 1)
    working = [_memory(rng, last, pick_word, ids) for _ in range(WORKING_MEMORY_CAP)]
    history = [_history(rng, step, pick_word) for step in range(max(1, last - HISTORY_CAP + 1), last + 1)]
    responses = [_response(item) for item in history[-RESPONSE_MEMORY_CAP:]]
    return {
        "language_module": {
            "vocabulary": vocabulary,
            "word_frequency": frequency,
            "context_associations": associations,
            "neurons": neuron_table,
        },
        "memory_module": {"working_memory": working, "episodic_memory": episodic, "active": True},
        "response_generator": {
            "response_memory": responses,
            "conversation_context": [item["input"] for item in responses[-CONVERSATION_CAP:]],
        },
        "brain_history": history,
        "cognitive_metrics": {
            "cognitive_load": round(rng.random(), DIGITS),
            "attention_focus": {
                "primary_focus": pick_word(),
                "secondary_focuses": [pick_word() for _ in range(3)],
                "focus_strength": round(rng.random(), DIGITS),
                "focus_duration": 1,
            },
            "step": memories,
        },
    }


def learning_step(
    state: State,
    *,
    step: int,
    touched_words: int = 100,
    new_words: int = 1,
    touched_neurons: int = 5,
    new_memories: int = 1,
    max_memories: int | None = None,
    seed: int = 0,
    context_cap: int = CONTEXT_CAP,
) -> list[tuple[str, ...]]:
    """Mutate ``state`` in place like one learning step; deterministic given (state, step, seed).

    Returns the paths it changed (for ``Repository.commit(changed=...)``).

    Exactly ``touched_words`` distinct existing words get frequency + 1 and one
    context word appended (windows capped at ``context_cap``); ``new_words`` new
    words are added; ``touched_neurons`` distinct neurons get a few weights
    strengthened, a new membrane potential and a spike at ``step``;
    ``new_memories`` memories are appended to episodic memory, which is then cut
    from the head to ``max_memories`` (default: the length it had; an empty list
    is not capped). Working memory and brain history roll by the same items, and
    ``cognitive_metrics.step`` is set to ``step``.
    """
    rng = random.Random(f"brainvcs-step:{seed}:{step}")
    language = state["language_module"]
    frequency: dict[str, int] = language["word_frequency"]
    neurons: dict[str, dict[str, Any]] = language["neurons"]

    touched = _pick_keys(frequency, touched_words, rng, synthetic_word)
    _touch_words(language, touched, rng, context_cap)
    added_words = [_add_word(language, rng) for _ in range(new_words)]
    nudged = _pick_keys(neurons, touched_neurons, rng, neuron_id)
    for nid in nudged:
        _nudge_neuron(neurons, nid, rng, step)

    memory = state["memory_module"]
    episodic: list[dict[str, Any]] = memory["episodic_memory"]
    cap = len(episodic) if max_memories is None else max_memories
    ids = [neuron_id(index) for index in range(min(len(neurons), 1000))]
    pick_word = _word_picker(frequency, rng)
    added = [_memory(rng, step, pick_word, ids) for _ in range(new_memories)]
    episodic.extend(added)
    if (max_memories is not None or cap > 0) and len(episodic) > cap:
        del episodic[: len(episodic) - cap]
    working: list[dict[str, Any]] = memory["working_memory"]
    working.extend(copy_json(item) for item in added[-WORKING_MEMORY_CAP:])  # no aliasing
    _drop_head(working, WORKING_MEMORY_CAP)
    history: list[dict[str, Any]] = state["brain_history"]
    history.append(_history(rng, step, pick_word))
    _drop_head(history, HISTORY_CAP)
    metrics = state["cognitive_metrics"]
    metrics["step"] = step
    metrics["cognitive_load"] = history[-1]["cognitive_load"]
    changed = _word_paths(touched, ("word_frequency", "context_associations"))
    changed += _word_paths(added_words, ("word_frequency", "context_associations", "vocabulary"))
    changed += [("language_module", "neurons", nid) for nid in nudged]
    return changed + [("memory_module",), ("brain_history",), ("cognitive_metrics",)]


def change_fraction(state: State, fraction: float, *, step: int, seed: int = 0) -> list[tuple[str, ...]]:
    """Change ``fraction`` (0..1) of the words (frequency and context) and of the neurons, in place.

    Returns the paths it changed (for ``Repository.commit(changed=...)``).
    """
    if not 0.0 <= fraction <= 1.0:
        raise UsageError(f"fraction must be between 0 and 1, not {fraction}")
    rng = random.Random(f"brainvcs-fraction:{seed}:{step}")
    language = state["language_module"]
    frequency: dict[str, int] = language["word_frequency"]
    neurons: dict[str, dict[str, Any]] = language["neurons"]
    words = _pick_keys(frequency, round(fraction * len(frequency)), rng, synthetic_word)
    _touch_words(language, words, rng, CONTEXT_CAP)
    nudged = _pick_keys(neurons, round(fraction * len(neurons)), rng, neuron_id)
    for nid in nudged:
        _nudge_neuron(neurons, nid, rng, step)
    state["cognitive_metrics"]["step"] = step
    changed = _word_paths(words, ("word_frequency", "context_associations"))
    return changed + [("language_module", "neurons", nid) for nid in nudged] + [("cognitive_metrics", "step")]


def _word_paths(words: list[str], maps: tuple[str, ...]) -> list[tuple[str, ...]]:
    return [("language_module", name, word) for word in words for name in maps]


# -- helpers --------------------------------------------------------------------------


def _connections(rng: random.Random, ids: list[str], index: int, fan_out: int) -> dict[str, float]:
    """Return ``fan_out`` weighted connections from neuron ``index`` to other neurons."""
    # Draw from the other neurons only (shifting past ``index``) so none connects to itself.
    targets = rng.sample(range(len(ids) - 1), fan_out)
    return {ids[t + (t >= index)]: round(rng.random(), DIGITS) for t in targets}


def _pick_keys(mapping: dict[str, Any], count: int, rng: random.Random, key_for: Callable[[int], str]) -> list[str]:
    """Pick ``min(count, len(mapping))`` distinct keys, in O(count) for synthetic states."""
    size = len(mapping)
    count = max(0, min(count, size))
    chosen: dict[str, None] = {}
    ordered: list[str] | None = None
    for index in rng.sample(range(size), count):
        key = key_for(index)
        if key not in mapping:
            # Not a synthetic key layout: fall back to the sorted keys, so the result
            # still depends only on the logical state, not on dict order.
            if ordered is None:
                ordered = sorted(mapping)
            key = ordered[index]
        chosen[key] = None
    while len(chosen) < count:  # only when the two numbering schemes collided
        if ordered is None:
            ordered = sorted(mapping)
        chosen[ordered[rng.randrange(size)]] = None
    return list(chosen)


def _word_picker(frequency: dict[str, int], rng: random.Random) -> Callable[[], str]:
    """Return a function picking a random existing word (``""`` when there is none)."""
    size = len(frequency)
    ordered: list[str] = []

    def pick() -> str:
        if not size:
            return ""
        index = rng.randrange(size)
        word = synthetic_word(index)
        if word in frequency:
            return word
        if not ordered:
            ordered.extend(sorted(frequency))
        return ordered[index]

    return pick


def _touch_words(language: dict[str, Any], words: list[str], rng: random.Random, cap: int) -> None:
    frequency: dict[str, int] = language["word_frequency"]
    associations: dict[str, list[str]] = language["context_associations"]
    pick_word = _word_picker(frequency, rng)
    for word in words:
        frequency[word] += 1
        window = associations.setdefault(word, [])
        window.append(pick_word())
        _drop_head(window, cap)


def _add_word(language: dict[str, Any], rng: random.Random) -> str:
    frequency: dict[str, int] = language["word_frequency"]
    index = len(frequency)
    while synthetic_word(index) in frequency:  # possible only for non-synthetic states
        index += 1
    word = synthetic_word(index)
    pick_word = _word_picker(frequency, rng)
    neurons = len(language["neurons"])
    bits = rng.getrandbits(_PATTERN_SIZE)
    language["vocabulary"][word] = {
        neuron_id(rng.randrange(neurons)) if neurons else "lang_neuron_0": bool(bits >> k & 1)
        for k in range(_PATTERN_SIZE)
    }
    language["context_associations"][word] = [pick_word() for _ in range(3)]
    frequency[word] = 1
    return word


def _nudge_neuron(neurons: dict[str, dict[str, Any]], nid: str, rng: random.Random, step: int) -> None:
    neuron = neurons[nid]
    connections: dict[str, float] = neuron["connections"]
    targets = sorted(connections)  # sorted: the choice must not depend on dict order
    for target in rng.sample(targets, min(_NUDGED_WEIGHTS, len(targets))):
        connections[target] = round(min(1.0, connections[target] + rng.uniform(0.001, 0.05)), DIGITS)
    neuron["membrane_potential"] = round(rng.random(), DIGITS)
    spikes: list[int] = neuron["spike_history"]
    spikes.append(step)
    _drop_head(spikes, SPIKE_HISTORY_CAP)


def _memory(rng: random.Random, step: int, pick_word: Callable[[], str], ids: list[str]) -> dict[str, Any]:
    return {
        "content": " ".join(pick_word() for _ in range(3)),
        "step": step,
        "neural_pattern": {
            "active_neurons": sorted({rng.choice(ids) for _ in range(2)}) if ids else [],
            "intensity": round(rng.random(), DIGITS),
            "novel_words": 0,
        },
    }


def _history(rng: random.Random, step: int, pick_word: Callable[[], str]) -> dict[str, Any]:
    return {
        "step": step,
        "input_text": " ".join(pick_word() for _ in range(4)),
        "neural_intensity": round(rng.random(), DIGITS),
        "cognitive_load": round(rng.random(), DIGITS),
    }


def _response(history_item: dict[str, Any]) -> dict[str, Any]:
    text: str = history_item["input_text"]
    return {
        "input": text,
        "response": f"I'm processing this with focused attention on '{text.split(' ')[0]}'.",
        "step": history_item["step"],
        "intensity": history_item["neural_intensity"],
    }


def _drop_head(window: list[Any], cap: int) -> None:
    if len(window) > cap:
        del window[: len(window) - cap]
