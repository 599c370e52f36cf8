"""Adapters: a live brain object <-> a brainvcs state (module name -> JSON-like value).

An :class:`Adapter` has a ``name`` (recorded in the commit's ``Brain-Adapter``
trailer, for information only), ``to_state(obj)`` and
``restore(state, into=None, factory=None)``. Three kinds ship with brainvcs:

* :class:`DictAdapter` — the object already *is* a state (a mapping of modules);
* :class:`MethodAdapter` — the object's class has ``to_state()`` and a
  ``from_state(state)`` classmethod (``ReferenceBrain``);
* :class:`~brainvcs.adapters.spec.SpecAdapter` — a declarative attribute spec
  (:mod:`brainvcs.adapters.spec`), e.g. the seed's brain layout
  (:mod:`brainvcs.adapters.seed_brain`).

:func:`adapter_for` picks one for an object, :func:`adapter_for_class` for a
class. Nothing here reads type names from a repository: what comes back on
checkout is decided by the adapter, i.e. by code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from brainvcs.errors import InvalidStateError, UsageError

#: A brain state: module name -> JSON-like value (numpy arrays allowed).
State = dict[str, Any]


@runtime_checkable
class Adapter(Protocol):
    """Converts one kind of live brain object to a state and back."""

    name: str

    def to_state(self, obj: Any) -> State:
        """The state of ``obj`` (values may share structure with ``obj``: commit it, do not mutate it)."""

    def restore(self, state: Mapping[str, Any], into: Any = None, factory: Any = None) -> Any:
        """An object holding ``state``: ``into`` updated, or a new one made with ``factory``."""


def modules_of(adapter: Adapter) -> list[str] | None:
    """The modules an adapter reads on checkout (None: all of them)."""
    modules = getattr(adapter, "modules", None)
    return list(modules) if modules is not None else None


class DictAdapter:
    """For objects that already are states: a mapping of module name to value."""

    name = "dict"

    def to_state(self, obj: Any) -> State:
        """``obj`` as a plain dict (its values are stored as they are)."""
        if not isinstance(obj, Mapping):
            raise InvalidStateError("", f"a state must be a mapping of module name to value, not {type(obj).__name__}")
        return dict(obj)

    def restore(self, state: Mapping[str, Any], into: Any = None, factory: Any = None) -> Any:
        """``into`` (a mutable mapping) cleared and refilled, ``factory(state)``, or a new dict."""
        if into is not None:
            if not hasattr(into, "clear") or not hasattr(into, "update"):
                raise UsageError(f"cannot restore a state into a {type(into).__name__}",
                                 "pass a dict, or a factory")
            into.clear()
            into.update(state)
            return into
        if factory is not None:
            return factory(dict(state))
        return dict(state)


class MethodAdapter:
    """For classes with ``to_state()`` and a ``from_state(state)`` classmethod (duck-typed)."""

    def __init__(self, cls: type) -> None:
        self.cls = cls
        self.name = f"{cls.__module__}.{cls.__qualname__}"

    def to_state(self, obj: Any) -> State:
        """Whatever ``obj.to_state()`` returns (it must be a mapping)."""
        state = obj.to_state()
        if not isinstance(state, Mapping):
            raise InvalidStateError("", f"{type(obj).__name__}.to_state() returned a {type(state).__name__}, "
                                    "not a mapping of modules")
        return dict(state)

    def restore(self, state: Mapping[str, Any], into: Any = None, factory: Any = None) -> Any:
        """``factory.from_state(state)``; with ``into``, its ``load_state(state)`` or its attributes replaced."""
        if into is None:
            make: Any = factory or self.cls
            return make.from_state(dict(state))
        if callable(getattr(into, "load_state", None)):
            into.load_state(dict(state))
            return into
        fresh = type(into).from_state(dict(state))
        if not hasattr(into, "__dict__") or not hasattr(fresh, "__dict__"):
            raise UsageError(f"cannot restore into a {type(into).__name__} in place (it has no __dict__)",
                             "give it a load_state(state) method, or use factory= instead of into=")
        # from_state built a complete object: adopting its attributes makes ``into`` that object.
        vars(into).clear()
        vars(into).update(vars(fresh))
        return into
