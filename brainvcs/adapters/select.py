"""Choosing an adapter: the registry, a class's own declaration, and the built-in kinds, in that order.

Kept apart from :mod:`.base` (what an adapter is) so that the adapters it can
choose (:mod:`.spec`, :mod:`.seed_brain`) build on the base without the base
importing them back. Nothing here reads a type name from a repository: the
choice is made from the live object or the class the caller passes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..errors import UsageError
from .base import Adapter, DictAdapter, MethodAdapter
from .graph import GraphAdapter
from .spec import Spec, SpecAdapter
from .trust import trust, untrust


# A registry filled by code (register()), never by anything read from a repository.
_REGISTRY: dict[type, Adapter] = {}


def register(cls: type, adapter: Adapter | None = None) -> None:
    """Trust ``cls`` for object-graph checkouts and, given ``adapter``, use it for instances of ``cls``.

    Without an adapter, ``cls`` is only made buildable: a checkout may then
    restore instances of it wherever they appear in a brain, even outside the
    brain class's own package.
    """
    if not isinstance(cls, type):
        raise UsageError(f"register() needs a class, not {cls!r}")
    trust(cls)
    if adapter is not None:
        _REGISTRY[cls] = adapter


def unregister(cls: type) -> None:
    """Forget what :func:`register` said about ``cls``."""
    _REGISTRY.pop(cls, None)
    untrust(cls)


def _declared(cls: type) -> Adapter | None:
    """A class's own adapter: the registry, or a ``__brainvcs_spec__`` class attribute."""
    for klass in cls.__mro__:
        if klass in _REGISTRY:
            return _REGISTRY[klass]
    declared = getattr(cls, "__brainvcs_spec__", None)
    if declared is None:
        return None
    if isinstance(declared, Spec):
        return SpecAdapter(declared)
    if isinstance(declared, Adapter):
        return declared
    raise UsageError(f"{cls.__qualname__}.__brainvcs_spec__ must be a brainvcs.adapters.spec.Spec or an Adapter")


def _has_methods(cls: type) -> bool:
    return callable(getattr(cls, "to_state", None)) and callable(getattr(cls, "from_state", None))


def adapter_for(obj: Any) -> Adapter:
    """The adapter for ``obj``: registered or declared spec, dict, to_state/from_state, else its object graph."""
    declared = _declared(type(obj))
    if declared is not None:
        return declared
    if isinstance(obj, Mapping):
        return DictAdapter()
    if _has_methods(type(obj)):
        return MethodAdapter(type(obj))
    return GraphAdapter(type(obj))


def adapter_for_class(cls: type) -> Adapter | None:
    """The adapter a class declares without making an instance (None: decide from an instance)."""
    declared = _declared(cls)
    if declared is not None:
        return declared
    if isinstance(cls, type) and issubclass(cls, Mapping):
        return DictAdapter()
    if isinstance(cls, type) and _has_methods(cls):
        return MethodAdapter(cls)
    return None


def restore_plan(adapter: Adapter | None, *, into: Any = None,
                 factory: Callable[..., Any] | type | None = None) -> tuple[Adapter, Any, Any]:
    """``(adapter, into, factory)`` for a restore: the adapter chosen from ``into`` or ``factory`` if not given.

    A factory class with no declared adapter gets the object-graph adapter,
    which makes the instance without calling its constructor; a factory
    function is called once to make the object restored into.
    """
    if into is not None and factory is not None:
        raise UsageError("give into= or factory=, not both")
    if adapter is not None:
        return adapter, into, factory
    if into is not None:
        return adapter_for(into), into, None
    if factory is None:
        return DictAdapter(), None, None
    if isinstance(factory, type):
        declared = adapter_for_class(factory)
        return (declared or GraphAdapter(factory)), None, factory
    try:
        instance = factory()
    except TypeError as exc:  # a function that needs arguments: say what to do, not a raw TypeError
        name = getattr(factory, "__qualname__", repr(factory))
        raise UsageError(f"factory={name} cannot be called without arguments ({exc})",
                         "pass the brain's class as factory=, or an instance with into=") from None
    return adapter_for(instance), instance, None
