"""The bundled reference brain: a small, deterministic, brain-native language learner.

``ReferenceBrain`` keeps the seed's state layout (a language module with
vocabulary, word frequencies, context associations and spiking neurons; working
and episodic memory; a response generator; brain history; cognitive metrics) so
that the demo, the docs and the benchmarks have a realistic brain with nothing to
set up.

Everything is a pure function of the texts fed in: time is a logical step
counter, word patterns come from SHA-256 of the word (never ``hash()``, which
PYTHONHASHSEED changes), the only randomness is a seeded ``random.Random`` used
once in the constructor, and every float is rounded to six decimals so that
snapshots stay tidy and diffs stay small.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from typing import Any

from brainvcs.errors import InvalidStateError, UsageError

from .language import (CONTEXT_CAP, CONTEXT_WINDOW, CONVERSATION_CAP, EPISODIC_MEMORY_CAP, HISTORY_CAP, RESPONSE_MEMORY_CAP, SPIKE_HISTORY_CAP, WORKING_MEMORY_CAP, State, DIGITS, copy_json, neuron_id, split_inputs, tokenize, word_pattern)

# Dynamics tuned on the bundled texts: a sentence of ~15 words fires ~5% of the
# neurons, sparse enough that connections keep growing for thousands of inputs
# instead of saturating into an all-to-all graph (which would make every diff huge).
_BASE_THRESHOLD = 0.7
_MAX_THRESHOLD = 1.2
_THRESHOLD_STEP = 0.05
_THRESHOLD_RECOVERY = 0.1
_INPUT_GAIN = 0.2
_LEAK = 0.5
_SYNAPTIC_GAIN = 0.02
_CONSOLIDATION_INTENSITY = 0.15
_CONTENT_CHARS = 200  # long lines are cut so memories stay small
_INTENSE = 0.2

_FOREIGN_HINT = "from_state expects a state written by ReferenceBrain.to_state"

_TEMPLATES: tuple[str, ...] = (
    "I'm processing this with focused attention on '{focus}'.",
    "My neural networks are analyzing '{focus}' systematically.",
    "'{focus}' makes me think of '{association}'.",
    "Interesting: '{focus}' connects to what I already know.",
)
_NOVEL_TEMPLATE = "New to me: {novel}. I'm wiring them in."
_INTENSE_TEMPLATE = "I'm experiencing intense neural activity around '{focus}' (intensity {intensity:.2f})."


@dataclass
class LearnReport:
    """What one ``ReferenceBrain.learn`` call changed."""

    inputs: int = 0
    new_words: list[str] = field(default_factory=list)
    word_encounters: int = 0
    spikes: int = 0
    strengthened_connections: int = 0
    memories_added: int = 0

    @property
    def new_word_count(self) -> int:
        """Number of words seen for the first time."""
        return len(self.new_words)

    def to_dict(self) -> dict[str, Any]:
        """Return the report as a JSON-ready dict (for ``--json`` output)."""
        return {
            "inputs": self.inputs,
            "new_word_count": self.new_word_count,
            "new_words": list(self.new_words),
            "word_encounters": self.word_encounters,
            "spikes": self.spikes,
            "strengthened_connections": self.strengthened_connections,
            "memories_added": self.memories_added,
        }

    def summary(self) -> str:
        """Return a one-line summary, e.g. ``learned 12 new words (garden, soil, ...), ...``."""
        if self.inputs == 0:
            return "nothing learned (no words in the input)"
        if self.new_words:
            preview = ", ".join(self.new_words[:5]) + (", ..." if len(self.new_words) > 5 else "")
            learned = f"learned {_plural(len(self.new_words), 'new word')} ({preview})"
        else:
            learned = "learned no new words"
        return (
            f"{learned}, {_plural(self.word_encounters, 'word encounter')}, "
            f"{_plural(self.spikes, 'spike')}, "
            f"{_plural(self.strengthened_connections, 'connection')} strengthened, "
            f"{_plural(self.memories_added, 'memory', 'memories')}"
        )


def _plural(count: int, singular: str, plural: str | None = None) -> str:
    return f"{count} {singular if count == 1 else (plural or singular + 's')}"


class ReferenceBrain:
    """A deterministic brain-native language learner with the seed's state layout.

    The same texts fed in the same order give an identical ``to_state()`` in any
    process; ``from_state`` restores a brain that continues exactly as the
    original would.
    """

    def __init__(self, n_neurons: int = 100, seed: int = 0) -> None:
        """Create an empty brain with ``n_neurons`` language neurons.

        ``seed`` only jitters the neurons' initial thresholds and learning rates;
        learning itself uses no randomness, so a restored brain needs no seed.
        """
        if n_neurons < 1:
            raise UsageError(f"n_neurons must be at least 1, not {n_neurons}")
        rng = random.Random(seed)
        neurons = {
            neuron_id(index): {
                "threshold": round(0.6 + 0.2 * rng.random(), DIGITS),
                "membrane_potential": 0.0,
                "connections": {},
                "learning_rate": round(0.04 + 0.02 * rng.random(), DIGITS),
                "spike_history": [],
            }
            for index in range(n_neurons)
        }
        state: State = {
            "language_module": {
                "vocabulary": {},
                "word_frequency": {},
                "context_associations": {},
                "neurons": neurons,
            },
            "memory_module": {"working_memory": [], "episodic_memory": [], "active": True},
            "response_generator": {"response_memory": [], "conversation_context": []},
            "brain_history": [],
            "cognitive_metrics": {
                "cognitive_load": 0.0,
                "attention_focus": {
                    "primary_focus": "",
                    "secondary_focuses": [],
                    "focus_strength": 0.0,
                    "focus_duration": 0,
                },
                "step": 0,
            },
        }
        self._adopt(state)

    # -- state in and out ---------------------------------------------------------

    @classmethod
    def from_state(cls, state: State) -> ReferenceBrain:
        """Restore a brain from a state produced by ``to_state`` (the state is copied)."""
        _check_layout(state)
        brain = cls.__new__(cls)
        brain._adopt(copy_json(state))
        return brain

    def to_state(self) -> State:
        """Return the brain's state as a fresh deep structure of plain JSON values."""
        state: State = copy_json(self._state)
        return state

    def _adopt(self, state: State) -> None:
        """Take ownership of ``state`` and build the lookup tables derived from it."""
        self._state = state
        language = state["language_module"]
        self._vocabulary: dict[str, dict[str, bool]] = language["vocabulary"]
        self._frequency: dict[str, int] = language["word_frequency"]
        self._context: dict[str, list[str]] = language["context_associations"]
        self._neurons: dict[str, dict[str, Any]] = language["neurons"]
        self._memory: dict[str, Any] = state["memory_module"]
        self._responses: dict[str, Any] = state["response_generator"]
        self._history: list[dict[str, Any]] = state["brain_history"]
        self._metrics: dict[str, Any] = state["cognitive_metrics"]
        # Neurons are addressed by index internally so iteration order never depends
        # on the (arbitrary) key order of the dict we were given.
        self._ids = [neuron_id(index) for index in range(len(self._neurons))]
        if set(self._ids) != set(self._neurons):
            raise InvalidStateError(
                "language_module.neurons",
                "neuron ids must be lang_neuron_0 .. lang_neuron_<n-1>",
                hint=_FOREIGN_HINT,
            )
        self._index = {nid: index for index, nid in enumerate(self._ids)}
        self._active: dict[str, list[int]] = {}

    # -- read-only views ----------------------------------------------------------

    @property
    def step(self) -> int:
        """The logical step counter: how many inputs the brain has processed."""
        step: int = self._metrics["step"]
        return step

    @property
    def n_neurons(self) -> int:
        """Number of language neurons."""
        return len(self._ids)

    @property
    def vocabulary_size(self) -> int:
        """Number of distinct words the brain has seen."""
        return len(self._vocabulary)

    def __repr__(self) -> str:
        return f"ReferenceBrain(step={self.step}, words={self.vocabulary_size}, neurons={self.n_neurons})"

    # -- learning -------------------------------------------------------------------

    def learn(self, text: str) -> LearnReport:
        """Learn from ``text``: one step per sentence of each line; return what changed."""
        report = LearnReport()
        strengthened: set[tuple[int, int]] = set()
        for sentence in split_inputs(text):
            tokens = tokenize(sentence)
            if tokens:
                self._learn_input(sentence, tokens, report, strengthened)
        # Distinct connections, so the count matches what a diff of two states shows.
        report.strengthened_connections = len(strengthened)
        return report

    def _learn_input(
        self, sentence: str, tokens: list[str], report: LearnReport, strengthened: set[tuple[int, int]]
    ) -> None:
        step = self.step + 1
        self._metrics["step"] = step
        content = sentence[:_CONTENT_CHARS]
        novel = self._learn_words(tokens)
        report.inputs += 1
        report.new_words.extend(novel)
        report.word_encounters += len(tokens)

        stimulated, spiked = self._fire(tokens, step)
        report.spikes += len(spiked)
        self._hebbian(spiked, strengthened)
        # Share of the stimulated neurons that fired (capped: synaptic spikes can exceed it).
        intensity = round(min(1.0, len(spiked) / len(stimulated)), DIGITS) if stimulated else 0.0

        report.memories_added += self._remember(content, step, spiked, intensity, len(novel))
        focus = self._attend(tokens, intensity)
        load = round(
            0.6 * self._metrics["cognitive_load"]
            + 0.4 * min(1.0, 0.5 * min(1.0, len(tokens) / 20) + 0.5 * intensity),
            DIGITS,
        )
        self._metrics["cognitive_load"] = load
        self._respond(content, step, focus, novel, len(set(tokens)), intensity)
        _push(self._history, {"step": step, "input_text": content, "neural_intensity": intensity,
                              "cognitive_load": load}, HISTORY_CAP)

    def _learn_words(self, tokens: list[str]) -> list[str]:
        """Update vocabulary, frequencies and context windows; return the new words."""
        novel: list[str] = []
        for position, word in enumerate(tokens):
            if word not in self._vocabulary:
                self._vocabulary[word] = word_pattern(word, self.n_neurons)
                self._frequency[word] = 0
                self._context[word] = []
                novel.append(word)
            self._frequency[word] += 1
            window = self._context[word]
            lo, hi = max(0, position - CONTEXT_WINDOW), position + CONTEXT_WINDOW + 1
            window.extend(other for other in tokens[lo:position] + tokens[position + 1 : hi])
            _trim(window, CONTEXT_CAP)
        return novel

    def _active_neurons(self, word: str) -> list[int]:
        cached = self._active.get(word)
        if cached is None:
            pattern = self._vocabulary[word]
            cached = sorted(self._index[nid] for nid, on in pattern.items() if on and nid in self._index)
            self._active[word] = cached
        return cached

    def _fire(self, tokens: list[str], step: int) -> tuple[list[int], list[int]]:
        """Integrate input, leak, spike and propagate one wave; return (stimulated, spiked)."""
        count = self.n_neurons
        current = [0.0] * count
        for word in tokens:
            for index in self._active_neurons(word):
                current[index] += _INPUT_GAIN
        neurons = [self._neurons[nid] for nid in self._ids]
        potential = [neurons[i]["membrane_potential"] * _LEAK + current[i] for i in range(count)]
        first = [i for i in range(count) if potential[i] >= neurons[i]["threshold"]]
        fired = set(first)
        for i in first:
            potential[i] = 0.0
        # One synaptic wave: spikers push their targets, in index order so float sums repeat.
        for i in first:
            for target_id, weight in neurons[i]["connections"].items():
                target = self._index.get(target_id)
                if target is not None and target not in fired:
                    potential[target] += weight * _SYNAPTIC_GAIN
        second = [i for i in range(count) if i not in fired and potential[i] >= neurons[i]["threshold"]]
        for i in second:
            potential[i] = 0.0
        fired.update(second)
        for i, neuron in enumerate(neurons):
            neuron["membrane_potential"] = round(potential[i], DIGITS)
            threshold = neuron["threshold"]
            if i in fired:
                # Homeostasis: a neuron that fires becomes a little harder to fire.
                neuron["threshold"] = round(min(_MAX_THRESHOLD, threshold + _THRESHOLD_STEP), DIGITS)
                _push(neuron["spike_history"], step, SPIKE_HISTORY_CAP)
            elif threshold > _BASE_THRESHOLD:
                neuron["threshold"] = round(threshold + (_BASE_THRESHOLD - threshold) * _THRESHOLD_RECOVERY, DIGITS)
        stimulated = [i for i in range(count) if current[i] > 0.0]
        return stimulated, sorted(fired)

    def _hebbian(self, spiked: list[int], strengthened: set[tuple[int, int]]) -> None:
        """Strengthen connections between neurons that fired together."""
        for a in spiked:
            neuron = self._neurons[self._ids[a]]
            connections = neuron["connections"]
            rate = neuron["learning_rate"]
            for b in spiked:
                if a == b:
                    continue
                target = self._ids[b]
                old = connections.get(target, 0.0)
                new = round(old + rate * (1.0 - old), DIGITS)
                if new > old:
                    connections[target] = new
                    strengthened.add((a, b))

    def _remember(self, content: str, step: int, spiked: list[int], intensity: float, novel: int) -> int:
        """Push the input into working memory; consolidate what falls out. Return memories added."""
        working: list[dict[str, Any]] = self._memory["working_memory"]
        working.append({
            "content": content,
            "step": step,
            "neural_pattern": {
                "active_neurons": [self._ids[i] for i in spiked],
                "intensity": intensity,
                "novel_words": novel,
            },
        })
        added = 0
        while len(working) > WORKING_MEMORY_CAP:
            item = working.pop(0)
            pattern = item.get("neural_pattern", {})
            # Only salient inputs (new words or strong activity) become long-term memories.
            if pattern.get("novel_words", 0) > 0 or pattern.get("intensity", 0.0) >= _CONSOLIDATION_INTENSITY:
                item["consolidated_step"] = step
                _push(self._memory["episodic_memory"], item, EPISODIC_MEMORY_CAP)
                added += 1
        return added

    def _attend(self, tokens: list[str], intensity: float) -> str:
        """Focus on the rarest words of the input; return the primary focus."""
        ranked = sorted(set(tokens), key=lambda word: (self._frequency[word], -len(word), word))
        attention: dict[str, Any] = self._metrics["attention_focus"]
        primary = ranked[0]
        same = attention.get("primary_focus") == primary
        attention["focus_duration"] = attention.get("focus_duration", 0) + 1 if same else 1
        attention["primary_focus"] = primary
        attention["secondary_focuses"] = ranked[1:4]
        attention["focus_strength"] = round(0.5 + 0.5 * intensity, DIGITS)
        return primary

    def _respond(
        self, content: str, step: int, focus: str, novel: list[str], distinct: int, intensity: float
    ) -> None:
        """Choose a canned response deterministically and remember the exchange."""
        # Mostly-new input gets the novelty reply; otherwise the reply reflects activity.
        if novel and 2 * len(novel) >= distinct:
            response = _NOVEL_TEMPLATE.format(novel=", ".join(novel[:3]))
        elif intensity >= _INTENSE:
            response = _INTENSE_TEMPLATE.format(focus=focus, intensity=intensity)
        else:
            choice = hashlib.sha256(f"{focus}:{step}".encode()).digest()[0] % len(_TEMPLATES)
            association = next((w for w in reversed(self._context.get(focus, [])) if w != focus), focus)
            response = _TEMPLATES[choice].format(focus=focus, association=association)
        _push(self._responses["response_memory"],
              {"input": content, "response": response, "step": step, "intensity": intensity},
              RESPONSE_MEMORY_CAP)
        _push(self._responses["conversation_context"], content, CONVERSATION_CAP)


def _push(window: list[Any], item: Any, cap: int) -> None:
    """Append ``item`` and drop from the head so at most ``cap`` items remain."""
    window.append(item)
    _trim(window, cap)


def _trim(window: list[Any], cap: int) -> None:
    if len(window) > cap:
        del window[: len(window) - cap]


def _check_layout(state: State) -> None:
    """Raise ``InvalidStateError`` naming the path if ``state`` lacks the reference layout."""
    if not isinstance(state, dict):
        raise InvalidStateError("", f"a state must be a dict of modules, not {type(state).__name__}")
    expected: dict[str, dict[str, type]] = {
        "language_module": {"vocabulary": dict, "word_frequency": dict, "context_associations": dict,
                            "neurons": dict},
        "memory_module": {"working_memory": list, "episodic_memory": list},
        "response_generator": {"response_memory": list, "conversation_context": list},
        "cognitive_metrics": {"attention_focus": dict, "step": int, "cognitive_load": float},
    }
    for module, fields in expected.items():
        value = state.get(module)
        if not isinstance(value, dict):
            raise InvalidStateError(module, "missing or not a dict", hint=_FOREIGN_HINT)
        for name, kind in fields.items():
            item = value.get(name)
            # An int is an acceptable float (a load of exactly 0 may come back as 0 from JSON).
            if not isinstance(item, kind) and not (kind is float and isinstance(item, int)):
                raise InvalidStateError(f"{module}.{name}", f"expected {kind.__name__}", hint=_FOREIGN_HINT)
    if not isinstance(state.get("brain_history"), list):
        raise InvalidStateError("brain_history", "missing or not a list", hint=_FOREIGN_HINT)
