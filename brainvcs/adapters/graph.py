"""The zero-configuration adapter: any Python brain object, committed as its object graph.

:class:`GraphAdapter` is what :func:`~brainvcs.adapters.adapter_for` falls back
to when no registered adapter, spec, dict or ``to_state``/``from_state`` pair
applies. Commit walks the live object (:mod:`.graph_encode`): one module per
top-level attribute, type tables in ``@types``. Checkout rebuilds it
(:mod:`.graph_decode`) as the class passed with ``factory=``/``into=``,
trusting only classes of that class's package and registered ones
(:mod:`.trust`).

A state without ``@types`` (imported from the seed's JSON or SQLite files, or
committed as a dict) checks out into a seed-shaped brain through the seed's
layout (:mod:`.seed_brain`), as the seed's own ``load_brain_session`` did.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Mapping
from typing import Any

from ..errors import UsageError
from ..snapshot.collector import collector_paused
from .graph_decode import decode_graph
from .graph_encode import TYPES_MODULE, encode_graph
from .seed_brain import looks_like_seed_brain, seed_brain_adapter
from .seed_files import is_seed_file_state, restore_seed_file_state

__all__ = ["GraphAdapter"]


class GraphAdapter:
    """Commit and restore any Python object as its object graph (see the module docstring)."""

    name = "object-graph"
    #: ``to_state(obj, fresh=True)`` gives a state that shares no container with the brain.
    fresh_states = True

    def __init__(self, cls: type | None = None) -> None:
        self.cls = cls

    def to_state(self, obj: Any, *, fresh: bool = False) -> dict[str, Any]:
        """One module per attribute of ``obj`` plus its ``@types`` tables (``fresh``: see encode_graph)."""
        return encode_graph(obj, fresh=fresh)

    def restore(self, state: Mapping[str, Any], into: Any = None, factory: Any = None) -> Any:
        """The brain ``state`` holds: restored ``into`` an object, or a new instance of ``factory``'s class."""
        if factory is not None and not isinstance(factory, type):
            into, factory = factory(), None  # a factory function: restore into what it makes
        cls = type(into) if into is not None else (factory or self.cls)
        if cls is None:
            raise UsageError("restoring an object graph needs the brain's class", "pass factory=Class or into=obj")
        if TYPES_MODULE not in state:
            return _untyped(state, cls, into)
        with collector_paused():
            return decode_graph(dict(state), cls, into=into)


def _untyped(state: Mapping[str, Any], cls: type, into: Any) -> Any:
    """A state without type tables (a seed import, a dict commit) restored into a seed-shaped brain."""
    try:
        fresh = cls()
    except Exception as exc:
        raise UsageError(f"this state has no type tables (it was imported or committed as a dict), and "
                         f"{cls.__qualname__}() fails ({exc}), so there is no fresh brain to restore it into",
                         "check it out as a dict (no factory=)") from None
    if not looks_like_seed_brain(fresh):
        raise UsageError(f"this state has no type tables (it was imported or committed as a dict), so it can "
                         f"only be restored into the seed's brain layout, which a {cls.__qualname__} does not have",
                         "check it out as a dict (no factory=), or commit the object itself to get type tables")
    if is_seed_file_state(state):
        restore_seed_file_state(state, fresh)
    else:
        module = sys.modules.get(cls.__module__)
        pattern = getattr(module, "NeuralPattern", None)
        neurons = getattr(fresh.language_module, "neurons", {})
        neuron_class = type(next(iter(neurons.values()))) if neurons else None
        seed_brain_adapter(neuron_class=neuron_class,
                           neural_pattern_class=pattern if dataclasses.is_dataclass(pattern) else None
                           ).restore(state, into=fresh)
    if into is None:
        return fresh
    if not hasattr(into, "__dict__"):
        raise UsageError(f"cannot restore into a {cls.__qualname__} in place", "use factory= instead of into=")
    vars(into).clear()
    vars(into).update(vars(fresh))
    return into
