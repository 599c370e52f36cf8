"""Brains written the way other people write them, for the zero-configuration adapter's tests.

None of them is brainvcs's reference brain and none has a line of brainvcs
code: each is committed and restored with no adapter, spec or registration.
Every ``step(i)`` learns from a deterministic input but draws from the
brain's own random generator and depends on dict insertion order (evictions
on ties, "first key wins"), so a restored brain that lost its RNG state or
an order stops learning identically.
"""

from __future__ import annotations

import enum
import random
import threading
from collections import Counter, OrderedDict, defaultdict, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, NamedTuple

import numpy as np

WORDS = ("garden quiet river stone light window bird morning cloud rain tree field wind song road "
         "night star moon fire water dream shadow voice bell door").split()


def sentence(i: int) -> list[str]:
    """A deterministic 'sentence' for step ``i``."""
    return [WORDS[(i * 7 + k * 3) % len(WORDS)] for k in range(3 + i % 4)]


# 1. Attribute objects with __slots__ and back-references to the owning brain ----------------------------

class SlotNeuron:
    __slots__ = ("brain", "nid", "weights", "fired", "__weakref__")

    def __init__(self, brain: "SlotBrain", nid: int) -> None:
        self.brain = brain
        self.nid = nid
        self.weights: dict[int, float] = {}
        self.fired = 0


class SlotBrain:
    """Neurons point back at the brain; int-keyed dicts; a tie-breaking eviction by insertion order."""

    def __init__(self, size: int) -> None:
        self.rng = random.Random(11)
        self.neurons = {n: SlotNeuron(self, n) for n in range(size)}
        self.recent: dict[str, int] = {}
        self.threshold = float("inf")

    def step(self, i: int) -> None:
        for word in sentence(i):
            self.recent[word] = self.recent.get(word, 0) + 1
            if len(self.recent) > 6:  # evict the first inserted among the least seen (order matters)
                low = min(self.recent.values())
                del self.recent[next(k for k, v in self.recent.items() if v == low)]
        a, b = self.rng.sample(sorted(self.neurons), 2)
        na = self.neurons[a]
        na.weights[b] = round(na.weights.get(b, 0.0) + self.rng.random(), 6)
        na.fired += 1
        if na.fired > 3:
            self.threshold = min(self.threshold, float(na.fired))


# 2. A numpy spiking network: weight matrices, numpy scalars in plain dicts, a Generator --------------------

class SpikingNetwork:
    """Needs a constructor argument, so checkout must not call __init__."""

    def __init__(self, num_neurons: int) -> None:
        self.rng = np.random.default_rng(5)
        self.legacy = np.random.RandomState(9)
        self.weights = self.rng.normal(0, 0.1, (num_neurons, num_neurons)).astype(np.float32)
        self.potential = np.zeros(num_neurons)
        self.stats: dict[str, Any] = {"spikes": np.int64(0), "mean_rate": np.float64(0.0),
                                      "best": np.float32(-np.inf), "peak": float("-inf")}
        self.by_pair: dict[tuple[int, int], np.float64] = {}
        self.history: deque[np.ndarray] = deque(maxlen=4)
        self.alias = self.weights  # the same matrix reachable twice

    def step(self, i: int) -> None:
        n = len(self.potential)
        drive = self.rng.random(n) + self.legacy.uniform(0, 0.1, n)
        self.potential = self.potential * 0.8 + self.weights @ drive
        spikes = self.potential > np.float64(0.3)
        self.stats["spikes"] += np.int64(spikes.sum())
        self.stats["mean_rate"] = np.float64(0.9 * self.stats["mean_rate"] + 0.1 * spikes.mean())
        self.stats["best"] = max(self.stats["best"], np.float32(self.potential.max()))
        pair = (i % n, (i * 3) % n)
        self.by_pair[pair] = np.float64(self.by_pair.get(pair, np.float64(0)) + self.potential[pair[0]])
        self.weights += np.float32(0.01) * np.outer(spikes, spikes).astype(np.float32)
        self.history.append(spikes.copy())


# 3. A tree of dataclasses (frozen ones too), enums, namedtuples and the collections zoo ---------------------

class Mood(enum.Enum):
    CALM = "calm"
    CURIOUS = "curious"


class Span(NamedTuple):
    start: int
    end: int


@dataclass(frozen=True)
class Tag:
    label: str
    weight: Decimal


@dataclass
class Episode:
    when: datetime
    words: tuple[str, ...]
    tags: frozenset[Tag]
    span: Span
    mood: Mood = Mood.CALM
    extra: dict[Any, Any] = field(default_factory=dict)


@dataclass
class Memory:
    episodes: list[Episode] = field(default_factory=list)
    by_word: defaultdict[str, list[Episode]] = field(default_factory=lambda: defaultdict(list))
    counts: Counter[str] = field(default_factory=Counter)
    recent: OrderedDict[str, None] = field(default_factory=OrderedDict)
    seen: set[str] = field(default_factory=set)
    delay: timedelta = timedelta(0)


@dataclass
class DataclassBrain:
    memory: Memory = field(default_factory=Memory)
    rng: random.Random = field(default_factory=lambda: random.Random(3))
    mood: Mood = Mood.CALM
    raw: bytes = b"\x00\x01"
    scratch: bytearray = field(default_factory=bytearray)
    z: complex = 1 + 2j
    odd_keys: dict[Any, Any] = field(default_factory=lambda: {None: 1, True: 2, 3: "x", (1, "a"): [], 2.5: "f"})

    def step(self, i: int) -> None:
        words = tuple(sentence(i))
        when = datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(minutes=i)
        tag = Tag(words[0], Decimal(str(round(self.rng.random(), 4))))
        ep = Episode(when, words, frozenset({tag}), Span(i, i + len(words)),
                     Mood.CURIOUS if self.rng.random() > 0.5 else Mood.CALM, {i: when.date()})
        self.memory.episodes.append(ep)
        for w in words:
            self.memory.by_word[w].append(ep)  # the same Episode reachable from several lists
            self.memory.counts[w] += 1
            self.memory.recent[w] = None
            self.memory.recent.move_to_end(w)
        while len(self.memory.recent) > 5:
            self.memory.recent.popitem(last=False)
        self.memory.seen.update(words)
        self.memory.delay += timedelta(seconds=i)
        self.scratch.append(i % 256)
        self.mood = ep.mood


# 4. The seed's brain as the issue describes it: dataclasses inside deques of dicts ------------------------

@dataclass
class NeuralPattern:
    activation_map: dict[str, float]
    intensity: float
    timestamp: float
    context: dict[str, Any] | None = None


class Neuron:
    def __init__(self, nid: str) -> None:
        self.id = nid
        self.threshold = 0.5
        self.membrane_potential = 0.0
        self.connections: dict[str, float] = {}
        self.learning_rate = 0.05
        self.spike_history: deque[float] = deque(maxlen=100)


class LanguageModule:
    def __init__(self) -> None:
        self.vocabulary: dict[str, int] = {}
        self.word_frequency: defaultdict[str, int] = defaultdict(int)
        self.context_associations: defaultdict[str, list[str]] = defaultdict(list)
        self.neurons = {f"n{i}": Neuron(f"n{i}") for i in range(8)}


class ResponseGenerator:
    def __init__(self) -> None:
        self.response_memory: deque[dict[str, Any]] = deque(maxlen=100)
        self.conversation_context: list[str] = []


class SeedStyleBrain:
    """Like the seed's EnhancedCognitiveBrainWithLanguage, with sensory and motor modules that must survive."""

    def __init__(self) -> None:
        self.language_module = LanguageModule()
        self.memory_module: dict[str, Any] = {"working_memory": [], "episodic_memory": []}
        self.sensory_module: dict[str, Any] = {"visual": {}, "auditory": {"gain": 1.0}}
        self.motor_module: dict[str, Any] = {"actions": [], "readiness": 0.0}
        self.response_generator = ResponseGenerator()
        self.brain_history: deque[dict[str, Any]] = deque(maxlen=50)
        self.cognitive_load = 0.0
        self.attention_focus: str | None = None

    def step(self, i: int) -> None:
        lang = self.language_module
        words = sentence(i)
        for pos, w in enumerate(words):
            lang.vocabulary.setdefault(w, len(lang.vocabulary))
            lang.word_frequency[w] += 1
            lang.context_associations[w].extend(words[max(0, pos - 1):pos])
        activation = {}
        for nid, neuron in lang.neurons.items():
            neuron.membrane_potential += 0.1 * len(words) / (1 + lang.vocabulary[words[0]] % 5)
            if neuron.membrane_potential > neuron.threshold:
                neuron.spike_history.append(float(i))
                neuron.membrane_potential = 0.0
                activation[nid] = 1.0
        pattern = NeuralPattern(activation, len(activation) / 8, 1_700_000_000.0 + i,
                                {"words": words} if i % 2 else None)
        self.response_generator.response_memory.append({"input": " ".join(words), "neural_pattern": pattern})
        self.sensory_module["visual"][words[0]] = self.sensory_module["visual"].get(words[0], 0) + 1
        self.motor_module["actions"].append(f"say:{words[-1]}")
        self.motor_module["readiness"] = round(0.9 * self.motor_module["readiness"] + 0.1, 6)
        self.brain_history.append({"step": i, "load": self.cognitive_load})
        self.cognitive_load = round(0.5 * self.cognitive_load + 0.05 * len(words), 6)
        self.attention_focus = max(lang.word_frequency, key=lambda w: lang.word_frequency[w])  # first max wins


# 5. A class with its own __getstate__/__setstate__ that leaves out a lock ---------------------------------

class GuardedBrain:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: dict[str, int] = {}
        self.rng = random.Random(21)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.lock = threading.Lock()

    def step(self, i: int) -> None:
        with self.lock:
            for w in sentence(i):
                self.counts[w] = self.counts.get(w, 0) + self.rng.randint(1, 3)


class ExcludingBrain:
    """Declares what is not state instead of writing __getstate__."""

    __brainvcs_exclude__ = ("lock", "log_handler")

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.log_handler = None
        self.total = 0

    def step(self, i: int) -> None:
        with self.lock:
            self.total += i


ZOO = {
    "slots": lambda: SlotBrain(6),
    "numpy": lambda: SpikingNetwork(12),
    "dataclasses": DataclassBrain,
    "seed-style": SeedStyleBrain,
    "getstate": GuardedBrain,
}


# 6. Pydantic models (v2) over a numpy backend, private attributes included --------------------------------

from pydantic import BaseModel, ConfigDict, PrivateAttr, field_validator  # noqa: E402


class Layer(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    name: str
    size: int
    activity: np.ndarray
    labels: dict[int, str] = {}
    _visits: int = PrivateAttr(default=0)

    @field_validator("name")
    @classmethod
    def shout(cls, value: str) -> str:  # a validator that changes values: must not run again on checkout
        return value + "!"


class LayeredBrain(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    layers: list[Layer]
    step_count: int = 0
    last_seen: datetime | str = "never"
    _rng: random.Random = PrivateAttr(default_factory=lambda: random.Random(8))

    def step(self, i: int) -> None:
        layer = self.layers[i % len(self.layers)]
        layer.activity[self._rng.randrange(layer.size)] += 1.0
        layer.labels[i] = sentence(i)[0]
        layer._visits += 1
        self.step_count += 1
        self.last_seen = datetime(2026, 1, 1) + timedelta(hours=i) if i % 3 else f"step {i}"


def layered_brain() -> LayeredBrain:
    """Three layers over one 1,000-neuron backend split into views would alias memory; here, separate arrays."""
    return LayeredBrain(layers=[Layer(name=f"l{k}", size=50 + k, activity=np.zeros(50 + k)) for k in range(3)])


ZOO["pydantic"] = layered_brain
