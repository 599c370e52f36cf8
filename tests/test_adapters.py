"""Adapters: live objects committed and restored with their types (brainvcs.adapters)."""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
import pytest

from brainvcs import Repository
from brainvcs.adapters import (ADAPTER_TRAILER, Attr, DictAdapter, MethodAdapter, Spec, SpecAdapter, adapter_for,
                               adapter_for_class, checkout, commit, register, seed_brain_adapter, seed_brain_spec,
                               unregister)
from brainvcs.adapters.select import restore_plan
from brainvcs.adapters.seed_brain import looks_like_seed_brain
from brainvcs.adapters.spec import (PLAIN, Array, CounterOf, Dataclass, DateTime, DefaultDictOf, DequeOf, DictOf,
                                    ListOf, Nullable, Object, Record, SequenceOf, SetOf, TupleOf, kind_for)
from brainvcs.brains import ReferenceBrain
from brainvcs.errors import InvalidStateError, UsageError

from .seedbrain import EnhancedCognitiveBrainWithLanguage, NeuralPattern, SpikingNeuron

T1 = "The garden was quiet.\nBees moved between the lavender and the beans.\nRain came at dusk."
T2 = "Waves folded onto the sand.\nThe garden smelled of rain and salt.\nA gull watched the bees."
T3 = "Old roots hold the soil together.\nThe sea remembers every storm.\nBees return when the rain stops."
UTC = timezone.utc


# --- dict states and classes with to_state/from_state --------------------------------------------


def test_dict_state_round_trip(mem_repo: Repository) -> None:
    state = {"language_module": {"word_frequency": {"hello": 3}}, "cognitive_metrics": {"step": 1}}
    result = commit(mem_repo, state, "dict state")
    assert result.changed is True
    assert ADAPTER_TRAILER not in result.commit.trailers  # a dict is a state: no adapter to name
    assert checkout(mem_repo, "HEAD") == state
    target: dict[str, Any] = {"stale": 1}
    assert checkout(mem_repo, "HEAD", into=target) is target
    assert target == state
    assert checkout(mem_repo, "HEAD", factory=dict) == state
    assert checkout(mem_repo, "HEAD", factory=lambda s: ("made", s), adapter=DictAdapter()) == ("made", state)
    assert isinstance(adapter_for(state), DictAdapter)


def test_reference_brain_uses_its_methods(mem_repo: Repository) -> None:
    brain = ReferenceBrain(n_neurons=20)
    brain.learn(T1)
    result = mem_repo.commit(brain, "live reference brain")  # Repository.commit takes the object itself
    assert result.commit.trailers[ADAPTER_TRAILER] == "brainvcs.brains.reference.ReferenceBrain"
    assert isinstance(adapter_for(brain), MethodAdapter)
    restored = mem_repo.checkout("HEAD", factory=ReferenceBrain)
    assert isinstance(restored, ReferenceBrain) and restored.to_state() == brain.to_state()
    other = ReferenceBrain(n_neurons=20)
    assert mem_repo.checkout("HEAD", into=other) is other
    brain.learn(T2)
    restored.learn(T2)
    other.learn(T2)
    assert restored.to_state() == brain.to_state() == other.to_state()


class Opaque:
    pass


def test_any_object_commits_through_the_object_graph_adapter(mem_repo: Repository) -> None:
    thing = Opaque()
    thing.words = {"b": 1, "a": 2}  # type: ignore[attr-defined]
    result = commit(mem_repo, thing, "no adapter code")
    assert result.commit.trailers["Brain-Adapter"] == "object-graph"
    back = checkout(mem_repo, "HEAD", factory=Opaque)
    assert type(back) is Opaque and list(back.words.items()) == [("b", 1), ("a", 2)]


# --- the spec adapter, every kind ------------------------------------------------------------------


@dataclass
class Stamp:
    """A nested dataclass: its field types come back from its type hints."""

    at: datetime
    tags: set[str]
    span: tuple[int, ...]
    note: str | None = None


@dataclass(frozen=True)
class Event:
    name: str
    stamp: Stamp
    weights: list[float] = field(default_factory=list)
    seen: int = field(default=0, init=False)


class Cell:
    """A plain object: only the listed attributes are stored."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.charge = 0.0
        self.history: deque[int] = deque(maxlen=3)
        self.scratch = "not stored"


class Everything:
    def __init__(self) -> None:
        self.rolling: deque[int] = deque(maxlen=4)
        self.counts: defaultdict[str, int] = defaultdict(int)
        self.lists: defaultdict[str, list[str]] = defaultdict(list)
        self.sets: defaultdict[str, set[str]] = defaultdict(set)
        self.floats: defaultdict[str, float] = defaultdict(float)
        self.nested: defaultdict[str, dict[str, int]] = defaultdict(dict)
        self.counter: Counter[str] = Counter()
        self.tags: set[str] = set()
        self.frozen: frozenset[int] = frozenset()
        self.pair: tuple[str, int] = ("", 0)
        self.event: Event | None = None
        self.when = datetime(2026, 1, 1, tzinfo=UTC)
        self.weights = np.zeros((2, 3), dtype=np.float32)
        self.by_id: dict[int, str] = {}
        self.cells: dict[str, Cell] = {"c0": Cell("c0")}
        self.meta = {"plain": [1, 2.5, "x", None, True]}


EVERYTHING = Spec(name="everything", factory=Everything, modules={
    "windows": {
        "rolling": Attr("rolling", DequeOf()),
        "pair": Attr("pair", TupleOf()),
    },
    "maps": {
        "counts": Attr("counts", DefaultDictOf(int)),
        "lists": Attr("lists", DefaultDictOf(list)),
        "sets": Attr("sets", DefaultDictOf(set)),
        "floats": Attr("floats", DefaultDictOf(float)),
        "nested": Attr("nested", DefaultDictOf(dict)),
        "counter": Attr("counter", CounterOf()),
        "by_id": Attr("by_id", DictOf(PLAIN, key=int)),
    },
    "sets": {"tags": Attr("tags", SetOf()), "frozen": Attr("frozen", SetOf(frozen=True))},
    "event": Attr("event", Nullable(Dataclass(Event))),
    "when": Attr("when", DateTime()),
    "weights": Attr("weights", Array("float32")),
    "cells": Attr("cells", DictOf(Object(Cell, {"label": PLAIN, "charge": PLAIN, "history": DequeOf()}))),
    "meta": Attr("meta"),
})


def _filled() -> Everything:
    obj = Everything()
    obj.rolling.extend([1, 2, 3, 4, 5])
    obj.counts["hello"] += 3
    obj.lists["hello"].extend(["world", "there"])
    obj.sets["hello"].update({"b", "a"})
    obj.floats["w"] += 0.25
    obj.nested["n"]["k"] = 1
    obj.counter.update(["x", "x", "y"])
    obj.tags = {"zeta", "alpha", "mu"}
    obj.frozen = frozenset({10, 2, 33})
    obj.pair = ("answer", 42)
    event = Event("spike", Stamp(datetime(2026, 3, 4, 5, 6, 7, 890, tzinfo=timezone(timedelta(hours=2))),
                                {"b", "a"}, (3, 1, 2)), [0.5, 0.25])
    object.__setattr__(event, "seen", 7)
    obj.event = event
    obj.when = datetime(2026, 5, 6, 7, 8, 9)
    obj.weights = np.arange(6, dtype=np.float32).reshape(2, 3) / 3
    obj.by_id = {7: "seven", -1: "minus one"}
    obj.cells["c0"].charge = 0.5
    obj.cells["c0"].history.extend([1, 2, 3, 4])
    obj.cells["c0"].scratch = "changed, still not stored"
    fresh = Cell("c1")
    fresh.charge = 1.5
    obj.cells["c1"] = fresh
    return obj


def test_every_kind_is_stored_as_plain_data(mem_repo: Repository) -> None:
    result = commit(mem_repo, _filled(), "every kind", adapter=SpecAdapter(EVERYTHING))
    assert result.commit.trailers[ADAPTER_TRAILER] == "everything"
    state = mem_repo.checkout("HEAD")
    assert state["windows"] == {"rolling": [2, 3, 4, 5], "pair": ["answer", 42]}
    assert state["maps"] == {
        "counts": {"hello": 3}, "lists": {"hello": ["world", "there"]}, "sets": {"hello": ["a", "b"]},
        "floats": {"w": 0.25}, "nested": {"n": {"k": 1}}, "counter": {"x": 2, "y": 1},
        "by_id": {"7": "seven", "-1": "minus one"},
    }
    assert state["sets"] == {"tags": ["alpha", "mu", "zeta"], "frozen": [2, 10, 33]}
    assert state["event"] == {"name": "spike", "seen": 7, "weights": [0.5, 0.25], "stamp": {
        "at": "2026-03-04T05:06:07.000890+02:00", "tags": ["a", "b"], "span": [3, 1, 2], "note": None}}
    assert state["when"] == "2026-05-06T07:08:09"
    assert state["cells"] == {"c0": {"label": "c0", "charge": 0.5, "history": [2, 3, 4]},
                              "c1": {"label": "c1", "charge": 1.5, "history": []}}
    assert state["weights"].dtype == np.float32 and state["weights"].tolist() == (np.arange(6, dtype=np.float32)
                                                                                 .reshape(2, 3) / 3).tolist()


def test_every_kind_comes_back_with_its_type(mem_repo: Repository) -> None:
    original = _filled()
    adapter = SpecAdapter(EVERYTHING)
    commit(mem_repo, original, "every kind", adapter=adapter)
    back = checkout(mem_repo, "HEAD", adapter=adapter)  # the spec's own factory
    assert isinstance(back, Everything) and back is not original
    assert type(back.rolling) is deque and back.rolling.maxlen == 4 and list(back.rolling) == [2, 3, 4, 5]
    for name, factory in [("counts", int), ("lists", list), ("sets", set), ("floats", float), ("nested", dict)]:
        value = getattr(back, name)
        assert type(value) is defaultdict and value.default_factory is factory
        assert value == getattr(original, name)
    assert type(back.sets["hello"]) is set
    assert type(back.counter) is Counter and back.counter == Counter({"x": 2, "y": 1})
    assert back.tags == {"zeta", "alpha", "mu"} and type(back.tags) is set
    assert back.frozen == frozenset({10, 2, 33}) and type(back.frozen) is frozenset
    assert back.pair == ("answer", 42) and type(back.pair) is tuple
    assert back.event == original.event and type(back.event) is Event
    assert back.event.seen == 7 and type(back.event.stamp.tags) is set and back.event.stamp.span == (3, 1, 2)
    assert back.event.stamp.at.utcoffset() == timedelta(hours=2)
    assert back.when == datetime(2026, 5, 6, 7, 8, 9) and back.when.tzinfo is None
    assert back.weights.dtype == np.float32 and back.weights.tobytes() == original.weights.tobytes()
    assert back.by_id == {7: "seven", -1: "minus one"}
    assert sorted(back.cells) == ["c0", "c1"] and all(type(c) is Cell for c in back.cells.values())
    # A cell the target had keeps what the spec does not list; a new one is built from the class.
    assert back.cells["c0"].scratch == "not stored" and back.cells["c0"].history.maxlen == 3
    assert list(back.cells["c0"].history) == [2, 3, 4]
    assert not hasattr(back.cells["c1"], "scratch") and back.cells["c1"].charge == 1.5
    assert adapter.to_state(back).keys() == adapter.to_state(original).keys()


def test_restoring_into_keeps_the_targets_maxlen_and_identity(mem_repo: Repository) -> None:
    adapter = SpecAdapter(EVERYTHING)
    commit(mem_repo, _filled(), "every kind", adapter=adapter)
    target = Everything()
    target.rolling = deque(maxlen=2)
    assert checkout(mem_repo, "HEAD", into=target, adapter=adapter) is target
    assert list(target.rolling) == [4, 5] and target.rolling.maxlen == 2  # a deque keeps the newest


def test_a_failed_restore_leaves_the_target_untouched(mem_repo: Repository) -> None:
    adapter = SpecAdapter(EVERYTHING)
    state = adapter.to_state(_filled())
    state["sets"]["frozen"] = [[1], [2]]  # unhashable items cannot form a set
    target = Everything()
    before = adapter.to_state(target)
    with pytest.raises(InvalidStateError) as info:
        adapter.restore(state, into=target)
    assert info.value.path == "sets.frozen"
    assert adapter.to_state(target) == before
    state["sets"]["frozen"] = [1, 2]
    del state["event"]
    with pytest.raises(InvalidStateError) as missing:
        adapter.restore(state, into=target)
    assert missing.value.path == "event" and "missing" in missing.value.problem


def test_spec_errors_name_the_state_path() -> None:
    adapter = SpecAdapter(EVERYTHING)
    obj = _filled()
    obj.tags = ["not", "a", "set"]  # type: ignore[assignment]
    with pytest.raises(InvalidStateError) as info:
        adapter.to_state(obj)
    assert info.value.path == "sets.tags" and info.value.problem == "expected a set, found list"
    obj = _filled()
    del obj.when
    with pytest.raises(InvalidStateError) as gone:
        adapter.to_state(obj)
    assert gone.value.path == "when" and "has no 'when'" in gone.value.problem
    with pytest.raises(InvalidStateError) as tampered:
        DictOf(PLAIN, key=int).restore({"07": "x"}, "maps.by_id")
    assert tampered.value.path == "maps.by_id.07"
    with pytest.raises(InvalidStateError) as extra:
        Dataclass(Stamp).restore({"at": "2026-01-01T00:00:00", "tags": [], "span": [], "evil": 1}, "x")
    assert extra.value.path == "x.evil"


def test_only_allow_listed_default_factories() -> None:
    for factory in (int, float, list, dict, set):
        assert DefaultDictOf(factory).factory is factory
    for bad in (str, tuple, lambda: 0, object):
        with pytest.raises(UsageError):
            DefaultDictOf(bad)  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        Dataclass(Cell)
    with pytest.raises(UsageError):
        Attr("a..b")
    with pytest.raises(UsageError):
        Spec(modules={})


def test_kinds_from_type_hints() -> None:
    assert kind_for(datetime) == DateTime()
    assert kind_for(tuple[int, ...]) == TupleOf(PLAIN)
    assert kind_for(set[str]) == SetOf(PLAIN)
    assert kind_for(frozenset[int]) == SetOf(PLAIN, frozen=True)
    assert kind_for(deque[int]) == DequeOf(PLAIN)
    assert kind_for(list[datetime]) == ListOf(DateTime())
    assert kind_for(dict[int, str]) == DictOf(PLAIN, int)
    assert kind_for(datetime | None) == Nullable(DateTime())
    assert kind_for(dict[str, int]) is PLAIN and kind_for(list[int]) is PLAIN and kind_for(Any) is PLAIN
    assert kind_for(np.ndarray) == Array()
    assert isinstance(kind_for(Stamp), Dataclass) and kind_for(Stamp).cls is Stamp
    assert kind_for(int | str) is PLAIN


def test_record_and_sequence_kinds() -> None:
    record = Record({"at": DateTime()})
    stored = record.to_state({"at": datetime(2026, 1, 2, tzinfo=UTC), "n": 1}, "r")
    assert stored == {"at": "2026-01-02T00:00:00+00:00", "n": 1}
    assert record.restore(stored, "r") == {"at": datetime(2026, 1, 2, tzinfo=UTC), "n": 1}
    assert DateTime().restore(1.5, "t") == 1.5 and DateTime().to_state(2, "t") == 2
    window: deque[int] = deque(maxlen=2)
    assert SequenceOf().restore([1, 2, 3], "s", window) == deque([2, 3], maxlen=2)
    assert SequenceOf().restore([1, 2, 3], "s", [9]) == [1, 2, 3]


# --- declared and registered adapters --------------------------------------------------------------


class Declared:
    __brainvcs_spec__ = Spec(name="declared", modules={"m": {"x": Attr("x", SetOf())}})

    def __init__(self) -> None:
        self.x: set[str] = set()


def test_declared_spec_and_registry(mem_repo: Repository) -> None:
    obj = Declared()
    obj.x = {"b", "a"}
    result = mem_repo.commit(obj, "declared")
    assert result.commit.trailers[ADAPTER_TRAILER] == "declared"
    assert mem_repo.checkout("HEAD") == {"m": {"x": ["a", "b"]}}
    back = mem_repo.checkout("HEAD", factory=Declared)
    assert type(back) is Declared and back.x == {"a", "b"}
    custom = SpecAdapter(Spec(name="registered", modules={"other": Attr("x", SetOf())}))
    register(Declared, custom)
    try:
        assert adapter_for(obj) is custom and adapter_for_class(Declared) is custom
        assert mem_repo.commit(obj, "registered").commit.trailers[ADAPTER_TRAILER] == "registered"
        assert mem_repo.checkout("HEAD") == {"other": ["a", "b"]}
    finally:
        unregister(Declared)
    assert adapter_for(obj).name == "declared"
    with pytest.raises(UsageError):
        restore_plan(None, into=obj, factory=Declared)


# --- the seed's brain layout with the stand-in class -------------------------------------------------


def _seed_adapter() -> SpecAdapter:
    return seed_brain_adapter(neuron_class=SpikingNeuron, neural_pattern_class=NeuralPattern,
                              factory=EnhancedCognitiveBrainWithLanguage)


def test_stand_in_brain_keeps_learning_where_it_left_off(repo: Repository) -> None:
    adapter = _seed_adapter()
    original = EnhancedCognitiveBrainWithLanguage()
    original.learn(T1)
    commit(repo, original, "after T1", adapter=adapter)
    restored = checkout(repo, "HEAD", factory=EnhancedCognitiveBrainWithLanguage, adapter=adapter)
    assert restored is not original
    assert adapter.to_state(restored) == adapter.to_state(original)
    for text in (T2, T3):
        original.learn(text)
        restored.learn(text)
    assert adapter.to_state(restored) == adapter.to_state(original)
    # and the same through a second commit/restore cycle, into an existing instance
    commit(repo, restored, "after T3", adapter=adapter)
    again = EnhancedCognitiveBrainWithLanguage()
    checkout(repo, "HEAD", into=again, adapter=adapter)
    again.learn(T1)
    original.learn(T1)
    assert adapter.to_state(again) == adapter.to_state(original)


class DeclaredSeedBrain(EnhancedCognitiveBrainWithLanguage):
    """The stand-in with the ready seed spec declared on the class: Repository.commit/checkout need nothing else."""

    __brainvcs_spec__ = seed_brain_spec(neuron_class=SpikingNeuron, neural_pattern_class=NeuralPattern)


def test_repository_commit_and_checkout_take_the_live_brain(repo: Repository) -> None:
    brain = DeclaredSeedBrain()
    brain.learn(T1)
    result = repo.commit(brain, "live brain")
    assert result.commit.trailers[ADAPTER_TRAILER] == "seed-brain"
    fresh = repo.checkout("HEAD", factory=DeclaredSeedBrain)
    existing = DeclaredSeedBrain()
    assert repo.checkout("HEAD", into=existing) is existing
    for other in (fresh, existing):
        assert type(other) is DeclaredSeedBrain
    for text in (T2, T3):
        for each in (brain, fresh, existing):
            each.learn(text)
    adapter = adapter_for(brain)
    assert adapter.to_state(fresh) == adapter.to_state(brain) == adapter.to_state(existing)
    assert repo.commit(fresh, "trained further").changed is True
    assert repo.commit(existing, "the same again").changed is False  # equal brains, equal snapshots


def test_stand_in_brain_types_survive(mem_repo: Repository) -> None:
    adapter = _seed_adapter()
    brain = EnhancedCognitiveBrainWithLanguage()
    brain.learn(T1 + "\n" + T2)
    commit(mem_repo, brain, "learned", adapter=adapter)
    back = checkout(mem_repo, "HEAD", adapter=adapter)
    lang = back.language_module
    assert type(lang.word_frequency) is defaultdict and lang.word_frequency.default_factory is int
    assert type(lang.context_associations) is defaultdict and lang.context_associations.default_factory is list
    assert dict(lang.word_frequency) == dict(brain.language_module.word_frequency)
    assert all(type(n) is SpikingNeuron for n in lang.neurons.values())
    neuron = lang.neurons["lang_neuron_0"]
    assert neuron.neuron_id == "lang_neuron_0"  # kept from the fresh brain's own neuron
    assert type(neuron.spike_history) is deque and neuron.spike_history.maxlen == 12
    assert list(neuron.spike_history) == list(brain.language_module.neurons["lang_neuron_0"].spike_history)
    working = back.memory_module["working_memory"]
    assert type(working) is deque and working.maxlen == 5
    responses = back.response_generator.response_memory
    assert type(responses) is deque and responses.maxlen == 25
    first = responses[0]
    assert type(first["neural_pattern"]) is NeuralPattern
    assert first["neural_pattern"] == brain.response_generator.response_memory[0]["neural_pattern"]
    assert type(first["neural_pattern"].novel_words) is frozenset
    assert type(first["neural_pattern"].active_neurons) is tuple
    assert first["timestamp"] == datetime(2026, 1, 1, 0, 0, 4, tzinfo=UTC)
    assert type(back.brain_history) is deque and back.brain_history.maxlen == 30
    assert back.brain_history[0]["timestamp"] == brain.brain_history[0]["timestamp"]  # epoch floats stay floats
    assert back.cognitive_load == brain.cognitive_load and back.attention_focus == brain.attention_focus
    # What the repository holds is plain, readable JSON: no default=str, no pickle.
    stored = mem_repo.checkout("HEAD")["response_generator"]["response_memory"][0]
    assert stored["timestamp"] == "2026-01-01T00:00:04+00:00"
    assert stored["neural_pattern"]["created"] == "2026-01-01T00:00:04+00:00"
    assert stored["neural_pattern"]["novel_words"] == sorted(stored["neural_pattern"]["novel_words"])


def test_seed_layout_is_detected_and_matches_the_reference_layout(mem_repo: Repository) -> None:
    brain = EnhancedCognitiveBrainWithLanguage()
    assert looks_like_seed_brain(brain) and not looks_like_seed_brain({"language_module": {}})
    adapter = seed_brain_adapter()
    assert adapter.name == "seed-brain"
    state = adapter.to_state(brain)
    assert sorted(state) == ["brain_history", "cognitive_metrics", "language_module", "memory_module",
                             "response_generator"]
    assert sorted(state["language_module"]) == ["context_associations", "neurons", "vocabulary", "word_frequency"]
    assert sorted(state["language_module"]["neurons"]["lang_neuron_0"]) == sorted(
        ReferenceBrain(n_neurons=1).to_state()["language_module"]["neurons"]["lang_neuron_0"])
    # Without the NeuralPattern class, the seed layout refuses it by path (no lossy str()) ...
    brain.learn(T1)
    with pytest.raises(InvalidStateError) as info:
        commit(mem_repo, brain, "seed layout", adapter=adapter)
    assert info.value.path.startswith("memory_module.working_memory[0].neural_pattern")
    assert mem_repo.head() is None
    # ... while the default (object-graph) adapter stores the whole brain, patterns included.
    mem_repo.commit(brain, "default adapter")
    back = mem_repo.checkout("HEAD", factory=EnhancedCognitiveBrainWithLanguage)
    assert back.memory_module["working_memory"][0]["neural_pattern"] == \
        brain.memory_module["working_memory"][0]["neural_pattern"]


def test_default_seed_adapter_restores_into_existing_neurons(mem_repo: Repository) -> None:
    plain = seed_brain_adapter()
    brain = EnhancedCognitiveBrainWithLanguage(n_neurons=4)
    brain.language_module.neurons["lang_neuron_1"].connections = {"lang_neuron_2": 0.25}
    commit(mem_repo, brain, "no patterns yet", adapter=plain)
    fresh = EnhancedCognitiveBrainWithLanguage(n_neurons=4)
    mem_repo.checkout("HEAD", into=fresh)  # the Brain-Adapter trailer is not consulted: the object decides
    assert fresh.language_module.neurons["lang_neuron_1"].connections == {"lang_neuron_2": 0.25}
    small = EnhancedCognitiveBrainWithLanguage(n_neurons=2)
    with pytest.raises(InvalidStateError) as info:
        checkout(mem_repo, "HEAD", into=small, adapter=plain)
    assert info.value.path == "language_module.neurons.lang_neuron_2"
    assert "neuron_class" in (info.value.hint or "")
    assert len(small.language_module.neurons) == 2


def test_checkout_refuses_a_commit_without_the_adapters_modules(mem_repo: Repository) -> None:
    mem_repo.commit({"other": 1}, "not a brain")
    with pytest.raises(InvalidStateError) as info:
        checkout(mem_repo, "HEAD", adapter=_seed_adapter())
    assert "module is missing" in info.value.problem and "other" in (info.value.hint or "")


def test_seed_spec_is_a_spec() -> None:
    spec = seed_brain_spec()
    assert spec.name == "seed-brain" and sorted(spec.modules) == [
        "brain_history", "cognitive_metrics", "language_module", "memory_module", "response_generator"]
    assert dataclasses.is_dataclass(NeuralPattern)


def test_a_factory_that_needs_arguments_is_a_clear_error(repo: Repository) -> None:
    class Network:
        def __init__(self, num_neurons: int) -> None:
            self.num_neurons = num_neurons

    repo.commit({"net": {"n": 3}}, "one")
    from brainvcs.errors import UsageError

    # A dict state has no type tables, and a Network is not the seed's layout: a clear error, not a TypeError.
    with pytest.raises(UsageError, match=r"no type tables .*Network\(\) fails") as caught:
        repo.checkout("HEAD", factory=Network)  # was a raw TypeError: missing 'num_neurons'
    assert "as a dict" in (caught.value.hint or "")
    # (committing the object itself works without __init__: tests/test_graph_adapter.py)
