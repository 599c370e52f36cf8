"""A stand-in for the seed's ``EnhancedCognitiveBrainWithLanguage``, written from the seed document.

It has the attributes and types the seed's storage code touches:
``language_module.vocabulary`` (dict), ``.word_frequency`` (``defaultdict(int)``),
``.context_associations`` (``defaultdict(list)``), ``.neurons`` (id -> neuron
objects with ``threshold``, ``membrane_potential``, ``connections``,
``learning_rate`` and a ``spike_history`` deque), ``memory_module`` (a dict
with a working-memory deque, an episodic list and ``active``),
``response_generator.response_memory`` (a deque of dicts holding a
``NeuralPattern`` dataclass and a ``datetime``) and ``.conversation_context``,
``brain_history`` (a deque), ``cognitive_load`` and ``attention_focus``.

Learning is deterministic: time is a logical clock derived from the state (the
total number of words seen), word patterns come from SHA-256, and every loop
over a dict runs in sorted key order, so a brain restored from a snapshot
(whose dicts come back key-sorted) continues exactly as the original.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

EPOCH = datetime(2026, 1, 1, tzinfo=timezone.utc)
_WORDS = re.compile(r"[a-z']+")


@dataclass
class NeuralPattern:
    """The activity one input caused (the seed keeps one in every response)."""

    active_neurons: tuple[str, ...]
    intensity: float
    novel_words: frozenset[str]
    created: datetime


class SpikingNeuron:
    """A leaky integrate-and-fire neuron with Hebbian connections."""

    def __init__(self, neuron_id: str, threshold: float, learning_rate: float) -> None:
        self.neuron_id = neuron_id
        self.threshold = threshold
        self.membrane_potential = 0.0
        self.connections: dict[str, float] = {}
        self.learning_rate = learning_rate
        self.spike_history: deque[int] = deque(maxlen=12)


class LanguageModule:
    """Vocabulary, frequencies, contexts and the language neurons."""

    def __init__(self, n_neurons: int) -> None:
        self.vocabulary: dict[str, dict[str, bool]] = {}
        self.word_frequency: defaultdict[str, int] = defaultdict(int)
        self.context_associations: defaultdict[str, list[str]] = defaultdict(list)
        self.neurons: dict[str, SpikingNeuron] = {}
        for index in range(n_neurons):
            nid = f"lang_neuron_{index}"
            self.neurons[nid] = SpikingNeuron(nid, round(0.5 + 0.02 * (index % 7), 6),
                                              round(0.04 + 0.005 * (index % 5), 6))


class ResponseGenerator:
    """Remembers what was said and replies."""

    def __init__(self) -> None:
        self.response_memory: deque[dict[str, Any]] = deque(maxlen=25)
        self.conversation_context: dict[str, Any] = {}


class EnhancedCognitiveBrainWithLanguage:
    """The stand-in brain (see the module docstring)."""

    def __init__(self, n_neurons: int = 24) -> None:
        self.language_module = LanguageModule(n_neurons)
        self.memory_module: dict[str, Any] = {"working_memory": deque(maxlen=5), "episodic_memory": [],
                                              "active": True}
        self.response_generator = ResponseGenerator()
        self.brain_history: deque[dict[str, Any]] = deque(maxlen=30)
        self.cognitive_load = 0.0
        self.attention_focus: dict[str, Any] = {"primary_focus": "", "focus_strength": 0.0, "secondary_focuses": []}

    # -- learning -----------------------------------------------------------------

    def _now(self) -> datetime:
        return EPOCH + timedelta(seconds=sum(self.language_module.word_frequency.values()))

    def _pattern(self, word: str) -> dict[str, bool]:
        digest = hashlib.sha256(word.encode()).digest()
        ids = sorted(self.language_module.neurons)
        chosen = sorted({ids[b % len(ids)] for b in digest[:4]})
        return {nid: bool(digest[5 + i] & 1) or i == 0 for i, nid in enumerate(chosen)}

    def process_input(self, text: str) -> str:
        """Learn from one input and answer it."""
        lang = self.language_module
        tokens = _WORDS.findall(text.lower())
        if not tokens:
            return "..."
        novel = []
        for position, word in enumerate(tokens):
            if word not in lang.vocabulary:
                lang.vocabulary[word] = self._pattern(word)
                novel.append(word)
            lang.word_frequency[word] += 1
            contexts = lang.context_associations[word]
            contexts.extend(tokens[max(0, position - 2):position] + tokens[position + 1:position + 3])
            del contexts[:-20]
        now = self._now()
        step = sum(lang.word_frequency.values())

        current: dict[str, float] = defaultdict(float)
        for word in tokens:
            for nid, on in sorted(lang.vocabulary[word].items()):
                if on:
                    current[nid] += 0.3
        spiked = []
        for nid in sorted(lang.neurons):
            neuron = lang.neurons[nid]
            potential = round(neuron.membrane_potential * 0.5 + current.get(nid, 0.0), 6)
            if potential >= neuron.threshold:
                spiked.append(nid)
                neuron.spike_history.append(step)
                neuron.membrane_potential = 0.0
                neuron.threshold = round(min(1.5, neuron.threshold + 0.01), 6)
            else:
                neuron.membrane_potential = potential
        for a in spiked:
            neuron = lang.neurons[a]
            for b in spiked:
                if a != b:
                    old = neuron.connections.get(b, 0.0)
                    neuron.connections[b] = round(old + neuron.learning_rate * (1.0 - old), 6)

        intensity = round(len(spiked) / len(lang.neurons), 6)
        pattern = NeuralPattern(tuple(spiked), intensity, frozenset(novel), now)
        working = self.memory_module["working_memory"]
        if working.maxlen is not None and len(working) == working.maxlen and working[0]["neural_pattern"].intensity > 0:
            self.memory_module["episodic_memory"].append(working[0])
        working.append({"content": text, "neural_pattern": pattern, "timestamp": now})

        focus = min(set(tokens), key=lambda w: (lang.word_frequency[w], w))
        self.attention_focus = {"primary_focus": focus, "focus_strength": round(0.5 + intensity / 2, 6),
                                "secondary_focuses": sorted(set(tokens) - {focus})[:3]}
        self.cognitive_load = round(0.7 * self.cognitive_load + 0.3 * intensity, 6)
        reply = f"New to me: {', '.join(novel[:3])}." if novel else f"Thinking about '{focus}'."
        self.response_generator.response_memory.append(
            {"input": text, "response": reply, "neural_pattern": pattern, "timestamp": now})
        context = self.response_generator.conversation_context
        context["turns"] = context.get("turns", 0) + 1
        context["last_focus"] = focus
        self.brain_history.append({"timestamp": now.timestamp(), "input_text": text, "neural_intensity": intensity,
                                   "cognitive_load": self.cognitive_load})
        return reply

    def learn(self, text: str) -> None:
        """Process every non-blank line of ``text``."""
        for line in text.splitlines():
            if line.strip():
                self.process_input(line.strip())
