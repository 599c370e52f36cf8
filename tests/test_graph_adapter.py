"""The zero-configuration object-graph adapter (brainvcs.adapters.graph and its codec).

Every brain in tests/brain_zoo.py is committed with no adapter code, checked
out with ``factory=`` and ``into=``, compared as a whole object graph (types,
dict order, aliasing, RNG state) and then made to learn 50 more steps next to
the original: a restored brain must keep learning identically.
"""

from __future__ import annotations

import collections
import copy
import random
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from brainvcs import Repository
from brainvcs.adapters import GraphAdapter, adapter_for, register, trust, unregister
from brainvcs.adapters import graph_decode, graph_encode
from brainvcs.adapters.graph_encode import TYPES_MODULE
from brainvcs.errors import BrainVCSError, CorruptObjectError, InvalidStateError, UsageError

sys.path.insert(0, str(Path(__file__).parent))
from brain_zoo import ZOO, ExcludingBrain, SeedStyleBrain, SlotBrain  # noqa: E402
from graph_equal import assert_graph_equal  # noqa: E402


def _learn(brain: Any, start: int, count: int) -> None:
    for i in range(start, start + count):
        brain.step(i)


@pytest.mark.parametrize("bulk", [False, True], ids=["", "bulk-walks"])
@pytest.mark.parametrize("name", sorted(ZOO))
def test_zoo_brain_round_trips_and_keeps_learning(name: str, bulk: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    if bulk:  # every map, however small, through the bulk walks (graph_bulk.py) and the bulk decode
        monkeypatch.setattr(graph_encode, "BULK_MIN", 1)
        monkeypatch.setattr(graph_decode, "BULK_MIN", 1)
    repo = Repository.memory()
    brain = ZOO[name]()
    _learn(brain, 0, 30)
    expected = copy.deepcopy(brain)  # what pickle's protocol gives (a class's own __setstate__ included)
    result = repo.commit(brain, "thirty steps")
    assert result.commit.trailers["Brain-Adapter"] == "object-graph"
    assert isinstance(adapter_for(brain), GraphAdapter)

    made = repo.checkout("HEAD", factory=type(brain))
    assert_graph_equal(expected, made)

    target = ZOO[name]()
    _learn(target, 0, 3)  # a brain in another state: everything must be replaced
    restored = repo.checkout("HEAD", into=target)
    assert restored is target
    assert_graph_equal(expected, target)

    for other in (made, target):
        _learn(other, 30, 50)
    _learn(expected, 30, 50)
    assert_graph_equal(expected, made)
    assert_graph_equal(expected, target)


def test_same_state_same_fingerprint_in_another_repository() -> None:
    a, b = Repository.memory(), Repository.memory()
    brain = ZOO["dataclasses"]()
    _learn(brain, 0, 10)
    fa = a.commit(brain, "x").fingerprint
    _learn(brain, 10, 0)
    assert b.commit(copy.deepcopy(brain), "y").fingerprint == fa


def test_restored_arrays_are_writeable_and_aliased() -> None:
    repo = Repository.memory()
    net = ZOO["numpy"]()
    _learn(net, 0, 5)
    repo.commit(net, "x")
    back = repo.checkout("HEAD", factory=type(net))
    assert back.alias is back.weights and back.weights.flags.writeable
    assert type(back.stats["mean_rate"]) is np.float64 and type(back.stats["best"]) is np.float32
    assert back.stats["peak"] == float("-inf")


def test_type_table_lives_beside_the_values() -> None:
    repo = Repository.memory()
    brain = SeedStyleBrain()
    _learn(brain, 0, 5)
    repo.commit(brain, "x")
    state = repo.checkout("HEAD")
    assert set(state) == {TYPES_MODULE, *vars(brain)}
    # the module holds plain JSON values; the types are in @types, not wrapped around them
    assert state["language_module"]["word_frequency"] == dict(brain.language_module.word_frequency)
    tables = state[TYPES_MODULE]["modules"]
    assert tables["language_module"]["at"]["word_frequency"] == "defaultdict builtins:int"
    assert tables["response_generator"]["at"]["response_memory"] == "deque 100"


def test_a_failed_restore_leaves_into_untouched() -> None:
    repo = Repository.memory()
    brain = SlotBrain(3)
    _learn(brain, 0, 4)
    repo.commit(brain, "x")
    state = repo.checkout("HEAD")
    state[TYPES_MODULE]["modules"]["neurons"]["at"]["0"] = "obj os:system"
    repo.commit(state, "tampered")
    target = SlotBrain(3)
    before = copy.deepcopy(target)
    with pytest.raises(UsageError, match="os:system"):
        repo.checkout("HEAD", into=target)
    assert_graph_equal(before, target)


class Plain:
    """A user class nobody registered, with a constructor that needs arguments."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: list[Any] = []


def test_constructor_arguments_are_not_needed_and_init_is_not_called(monkeypatch: pytest.MonkeyPatch) -> None:
    repo = Repository.memory()
    brain = Plain(4)
    brain.items.append({"k": (1, 2)})
    repo.commit(brain, "x")
    calls = []
    monkeypatch.setattr(Plain, "__init__", lambda self, size: calls.append(size))
    back = repo.checkout("HEAD", factory=Plain)
    assert calls == [] and back.size == 4 and back.items == [{"k": (1, 2)}]


def test_excluded_attributes_take_fresh_values() -> None:
    repo = Repository.memory()
    brain = ExcludingBrain()
    _learn(brain, 0, 5)
    repo.commit(brain, "x")
    assert "lock" not in repo.checkout("HEAD")
    back = repo.checkout("HEAD", factory=ExcludingBrain)
    assert back.total == brain.total and back.lock is not brain.lock and back.log_handler is None
    target = ExcludingBrain()
    own_lock = target.lock
    repo.checkout("HEAD", into=target)
    assert target.lock is own_lock and target.total == brain.total


class Holder:
    def __init__(self, value: Any) -> None:
        self.value = value
        self.other = 1


@pytest.mark.parametrize("value, what", [
    (threading.Lock(), "lock"), (threading.Thread(target=print), "Thread"), (lambda: 1, "function"),
    (print, "builtin_function"), (open(__file__), "TextIOWrapper"), ((x for x in ()), "generator"),
    (__import__("logging").getLogger("x"), "Logger"), (sys, "module"),
])
def test_values_that_are_not_state_are_refused_with_path_and_hint(value: Any, what: str) -> None:
    repo = Repository.memory()
    with pytest.raises(InvalidStateError) as caught:
        repo.commit(Holder({"inner": [value]}), "x")
    assert caught.value.path == 'value.inner[0]'
    assert "Holder.__brainvcs_exclude__" in str(caught.value.hint)
    assert repo.head() is None


def test_unknown_types_and_lambda_factories_are_refused() -> None:
    repo = Repository.memory()
    with pytest.raises(InvalidStateError, match="value.*defaultdict whose factory"):
        repo.commit(Holder(collections.defaultdict(lambda: 0)), "x")
    with pytest.raises(InvalidStateError, match="value: a numpy array of dtype object"):
        repo.commit(Holder(np.array([object()])), "x")
    with pytest.raises(InvalidStateError, match="value: a value of type re.Pattern"):
        repo.commit(Holder(__import__("re").compile("x")), "x")
    with pytest.raises(UsageError, match="defined inside a function"):
        class Local:
            pass
        repo.commit(Holder(Local()), "x")


@dataclass
class Outside:
    x: int


def test_classes_outside_the_brains_package_need_registration() -> None:
    repo = Repository.memory()
    repo.commit(Holder(Outside(3)), "x")
    # Pretend Outside lives in another package: the resolver must refuse what it was not told to trust.
    state = repo.checkout("HEAD")
    name = f"{__name__}:Outside"
    assert state[TYPES_MODULE]["modules"]["value"]["at"][""] == f"obj {name}"
    back = repo.checkout("HEAD", factory=Holder)  # same module as the brain's class: trusted
    assert back.value == Outside(3)

    class Root:  # noqa: B903 - a root class from another "package" (its module is changed below)
        pass
    Root.__module__ = "elsewhere_pkg.brains"
    Root.__qualname__ = "Root"
    with pytest.raises(UsageError, match=f"names class {name}, which is outside"):
        repo.checkout("HEAD", factory=Root)
    register(Outside)
    try:
        assert repo.checkout("HEAD", factory=Root).value == Outside(3)
    finally:
        unregister(Outside)


@pytest.mark.parametrize("name", ["os:system", "subprocess:Popen", "brainvcs_never_imported_mod:Evil",
                                  "tests.test_graph_adapter:Holder.__init__", "builtins:eval"])
def test_a_repository_naming_dangerous_types_is_refused_and_nothing_is_imported(name: str) -> None:
    repo = Repository.memory()
    repo.commit(Holder(Outside(1)), "x")
    state = repo.checkout("HEAD")
    state[TYPES_MODULE]["modules"]["value"]["at"][""] = f"obj {name}"
    repo.commit(state, "hostile")
    loaded = set(sys.modules)
    with pytest.raises(BrainVCSError):
        repo.checkout("HEAD", factory=Holder)
    assert set(sys.modules) == loaded
    assert "brainvcs_never_imported_mod" not in sys.modules


@pytest.mark.parametrize("damage", [
    lambda t: t["modules"]["value"].__setitem__("at", {"": "warp 9"}),
    lambda t: t["modules"]["value"].__setitem__("at", {"": ["obj", 3]}),
    lambda t: t["modules"]["value"].__setitem__("at", {"": "ref"}),
    lambda t: t["modules"]["value"].__setitem__("order", {"": ["nope"]}),
    lambda t: t.__setitem__("version", 99),
    lambda t: t["brain"].__setitem__("order", ["value"]),
])
def test_malformed_type_tables_are_corrupt_not_crashes(damage: Any) -> None:
    repo = Repository.memory()
    repo.commit(Holder(Outside(1)), "x")
    state = repo.checkout("HEAD")
    damage(state[TYPES_MODULE])
    repo.commit(state, "damaged")
    with pytest.raises(CorruptObjectError):
        repo.checkout("HEAD", factory=Holder)


class Pair:
    def __init__(self) -> None:
        self.items = [{"x": 1}]
        self.again = self.items[0]


def test_a_reference_to_a_path_its_table_does_not_list_as_shared_is_corrupt() -> None:
    """The decoder keeps only the objects at paths a table lists as shared: a ref elsewhere has no target."""
    repo = Repository.memory()
    repo.commit(Pair(), "shared")
    assert_graph_equal(Pair(), repo.checkout(factory=Pair))
    state = repo.checkout("HEAD")
    table = state[TYPES_MODULE]["modules"]
    assert table["items"]["shared"] == ["[0]"]
    del table["items"]["shared"]
    repo.commit(state, "the listing removed")
    with pytest.raises(CorruptObjectError, match="not stored before it"):
        repo.checkout("HEAD", factory=Pair)


def test_rng_draws_continue_identically() -> None:
    repo = Repository.memory()
    brain = Holder([random.Random(1), np.random.default_rng(2), np.random.RandomState(3),
                    np.random.Generator(np.random.Philox(4))])
    for r in brain.value:
        r.random()
    repo.commit(brain, "x")
    back = repo.checkout("HEAD", factory=Holder)
    assert [r.random() for r in back.value] == [r.random() for r in brain.value]


def test_imported_seed_state_checks_out_into_the_seed_brain_class(tmp_path: Path) -> None:
    from brainvcs.seed.api import import_seed_json

    fixture = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "seed-json" / "readme_after_20_inputs.json"
    repo = Repository.init(tmp_path / "r")
    import_seed_json(repo, [fixture], branch="main")
    from seedbrain import EnhancedCognitiveBrainWithLanguage

    import json

    saved = json.loads(fixture.read_text())
    brain = repo.checkout("HEAD", factory=EnhancedCognitiveBrainWithLanguage)
    assert isinstance(brain, EnhancedCognitiveBrainWithLanguage)
    lang = brain.language_module
    assert isinstance(lang.word_frequency, collections.defaultdict)
    assert dict(lang.word_frequency) == saved["language_module"]["word_frequency"]
    assert lang.vocabulary == saved["language_module"]["vocabulary"]
    assert list(brain.response_generator.response_memory) == saved["response_generator"]["response_memory"][-25:]
    assert brain.cognitive_load == saved["cognitive_metrics"]["cognitive_load"]
    neuron = lang.neurons["lang_neuron_0"]
    assert neuron.threshold == saved["language_module"]["neuron_states"]["lang_neuron_0"]["threshold"]
    assert type(brain.memory_module["working_memory"]) is type(EnhancedCognitiveBrainWithLanguage().memory_module[
        "working_memory"])  # the fresh brain's containers are kept (a deque keeps its maxlen)

    sqlite = Repository.init(tmp_path / "s")
    from brainvcs.seed.api import import_seed_sqlite

    import_seed_sqlite(sqlite, fixture.parents[1] / "seed-sqlite" / "brain_data.db")
    alice = sqlite.checkout("alice/alice_brain", factory=EnhancedCognitiveBrainWithLanguage)
    words = sqlite.checkout("alice/alice_brain")["vocabulary"]
    assert dict(alice.language_module.word_frequency) == {w: row["frequency"] for w, row in words.items()}
    assert isinstance(alice, EnhancedCognitiveBrainWithLanguage) and alice.language_module.neurons
    with pytest.raises(UsageError, match="no type tables"):
        repo.checkout("HEAD", factory=Plain)


def test_trust_takes_classes_only() -> None:
    with pytest.raises(UsageError):
        trust("os:system")  # type: ignore[arg-type]


class _Maps:
    """Maps of records and of lists, the shapes the walk takes in one loop, with a few traps in them."""

    def __init__(self, share: bool) -> None:
        rng = random.Random(7)
        self.records = {f"w{i}": {f"n{rng.randrange(99)}": bool(i % 2), "z": i, "a": 0.5} for i in range(300)}
        self.lists = {f"w{i}": [f"c{j}" for j in range(i % 5)] for i in range(300)}
        if share:
            self.records["twin"] = self.records["w3"]  # the same record twice
            self.lists["twin"] = self.lists["w4"]
            self.favourite = self.records["w5"]  # met before the map is walked? (attribute order decides)


@pytest.mark.parametrize("share", [False, True])
def test_maps_of_records_and_lists_keep_order_and_sharing(share: bool) -> None:
    repo = Repository.memory()
    brain = _Maps(share)
    repo.commit(brain, "maps")
    restored = repo.checkout(factory=_Maps)
    assert_graph_equal(brain, restored)
    assert [list(r) for r in restored.records.values()] == [list(r) for r in brain.records.values()]
    if share:
        assert restored.records["twin"] is restored.records["w3"]
        assert restored.lists["twin"] is restored.lists["w4"]
        assert restored.favourite is restored.records["w5"]


_CONTAINERS = (dict, list, set, bytearray, collections.deque, np.ndarray)


def _containers_in(value: Any, found: dict[int, Any]) -> None:
    """Every container reachable in a state (kept alive in ``found`` so ids stay unique)."""
    if isinstance(value, _CONTAINERS) and id(value) not in found:
        found[id(value)] = value
        if isinstance(value, dict):
            for item in value.values():
                _containers_in(item, found)
        elif isinstance(value, (list, collections.deque)):
            for item in value:
                _containers_in(item, found)


def _reachable(obj: Any) -> dict[int, Any]:
    """Every object reachable from ``obj`` through references, classes and modules excluded."""
    import gc
    import types

    seen: dict[int, Any] = {}
    stack = [obj]
    while stack:
        item = stack.pop()
        if id(item) in seen or isinstance(item, (type, types.ModuleType, types.FunctionType)):
            continue
        seen[id(item)] = item
        stack.extend(gc.get_referents(item))
    return seen


@pytest.mark.parametrize("bulk", [False, True], ids=["", "bulk-walks"])
@pytest.mark.parametrize("name", sorted(ZOO))
def test_the_state_of_a_brain_shares_no_container_with_it(name: str, bulk: bool,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The repository keeps the state as its baseline uncopied: the brain learning on must not change it."""
    if bulk:
        monkeypatch.setattr(graph_encode, "BULK_MIN", 1)
    brain = ZOO[name]()
    _learn(brain, 0, 30)
    state = GraphAdapter().to_state(brain, fresh=True)
    in_state: dict[int, Any] = {}
    _containers_in(state, in_state)
    shared = [type(c).__name__ for i, c in in_state.items() if i in _reachable(brain)]
    assert not shared


@pytest.mark.parametrize("name", sorted(ZOO))
def test_a_brain_changed_in_place_after_a_commit_commits_its_changes(name: str) -> None:
    """With nothing declared, the next commit finds every change, however deep and in place."""
    repo = Repository.memory()
    brain = ZOO[name]()
    for start in range(0, 40, 10):
        _learn(brain, start, 10)
        repo.commit(brain, f"steps to {start + 10}")
        assert_graph_equal(copy.deepcopy(brain), repo.checkout("HEAD", factory=type(brain)))
