"""The ready adapter for the seed's brain class (``EnhancedCognitiveBrainWithLanguage``).

The seed's own code reads and writes these attributes of a live brain, and
this spec maps them onto the state layout every brainvcs brain uses (the same
as :class:`~brainvcs.brains.ReferenceBrain`, so ``history``, ``stats`` and
diffs read both alike):

======================================================  ==========================================
state path                                              attribute and type brought back
======================================================  ==========================================
``language_module.vocabulary``                          ``language_module.vocabulary`` (dict)
``language_module.word_frequency``                      ``language_module.word_frequency`` (``defaultdict(int)``)
``language_module.context_associations``                ``language_module.context_associations`` (``defaultdict(list)``)
``language_module.neurons.<id>``                        ``language_module.neurons[id]``: ``threshold``,
                                                        ``membrane_potential``, ``connections``,
                                                        ``learning_rate``, ``spike_history`` (deque)
``memory_module.working_memory`` / ``episodic_memory``  ``memory_module["..."]`` (list, or the deque there)
``memory_module.active``                                ``memory_module["active"]``
``response_generator.response_memory``                  ``response_generator.response_memory`` (deque)
``response_generator.conversation_context``             ``response_generator.conversation_context``
``brain_history``                                       ``brain_history`` (deque)
``cognitive_metrics.cognitive_load`` / ``attention_focus``  ``cognitive_load``, ``attention_focus``
======================================================  ==========================================

Items of memories, responses and history keep their ``timestamp`` (a
``datetime`` comes back as a ``datetime``; epoch numbers stay numbers) and
their ``neural_pattern`` (the seed's ``NeuralPattern`` dataclass when
``neural_pattern_class`` is given). Deques keep the ``maxlen`` of the brain
restored into, so ``checkout(ref, factory=BrainClass)`` (a fresh brain) or
``checkout(ref, into=brain)`` gives a brain that keeps learning where it left
off. Neurons are restored into the brain's existing neuron objects (attributes
the spec does not list survive); neurons the brain lacks need ``neuron_class``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .kinds import PLAIN, DateTime, DefaultDictOf, DequeOf, DictOf, Kind, Record, SequenceOf
from .object_kinds import Dataclass, Object
from .spec import Attr, Spec, SpecAdapter

__all__ = ["NEURON_FIELDS", "default_seed_brain_adapter", "looks_like_seed_brain", "seed_brain_adapter",
           "seed_brain_spec"]

#: The neuron attributes the seed saves and restores, plus the spike history it summarises.
NEURON_FIELDS = ("threshold", "membrane_potential", "connections", "learning_rate", "spike_history")
ADAPTER_NAME = "seed-brain"


def seed_brain_spec(*, neuron_class: type | None = None, neural_pattern_class: type | None = None,
                    factory: Any = None, name: str = ADAPTER_NAME) -> Spec:
    """The spec of the seed's brain layout.

    ``neuron_class`` lets checkout create neurons the target brain does not
    have; ``neural_pattern_class`` (a dataclass) makes ``neural_pattern``
    values of memories and responses come back as that class (without it
    they must be plain dicts); ``factory`` makes an empty brain.
    """
    pattern: Kind = Dataclass(neural_pattern_class) if neural_pattern_class is not None else PLAIN
    item = Record({"timestamp": DateTime(), "neural_pattern": pattern})
    neuron = Object(neuron_class, {
        "threshold": PLAIN,
        "membrane_potential": PLAIN,
        "connections": PLAIN,
        "learning_rate": PLAIN,
        "spike_history": SequenceOf(),
    })
    return Spec(name=name, factory=factory, modules={
        "language_module": {
            "vocabulary": Attr("language_module.vocabulary"),
            "word_frequency": Attr("language_module.word_frequency", DefaultDictOf(int)),
            "context_associations": Attr("language_module.context_associations", DefaultDictOf(list)),
            "neurons": Attr("language_module.neurons", DictOf(neuron)),
        },
        "memory_module": {
            "working_memory": Attr("memory_module.working_memory", SequenceOf(item)),
            "episodic_memory": Attr("memory_module.episodic_memory", SequenceOf(item)),
            "active": Attr("memory_module.active"),
        },
        "response_generator": {
            "response_memory": Attr("response_generator.response_memory", DequeOf(item)),
            "conversation_context": Attr("response_generator.conversation_context"),
        },
        "brain_history": Attr("brain_history", DequeOf(item)),
        "cognitive_metrics": {
            "cognitive_load": Attr("cognitive_load"),
            "attention_focus": Attr("attention_focus"),
        },
    })


def seed_brain_adapter(**options: Any) -> SpecAdapter:
    """A :class:`SpecAdapter` for :func:`seed_brain_spec` with the same options."""
    return SpecAdapter(seed_brain_spec(**options))


def default_seed_brain_adapter() -> SpecAdapter:
    """The adapter :func:`~brainvcs.adapters.base.adapter_for` uses for seed-shaped objects."""
    return seed_brain_adapter()


def _has(obj: Any, *names: str) -> bool:
    if isinstance(obj, Mapping):
        return all(name in obj for name in names)
    return all(hasattr(obj, name) for name in names)


def looks_like_seed_brain(obj: Any) -> bool:
    """Whether ``obj`` has every attribute the seed's brain layout names (duck typing, no class check)."""
    if isinstance(obj, Mapping):
        return False
    return (_has(obj, "language_module", "memory_module", "response_generator", "brain_history",
                 "cognitive_load", "attention_focus")
            and _has(obj.language_module, "vocabulary", "word_frequency", "context_associations", "neurons")
            and _has(obj.response_generator, "response_memory", "conversation_context"))
