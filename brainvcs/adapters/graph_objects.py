"""How Python objects give up and take back their state: attributes, slots, ``__getstate__``/``__setstate__``.

Shared by the object-graph encoder (:mod:`.graph_encode`: what a live object
holds, what is not state) and decoder (:mod:`.graph_decode`: making an
object without ``__init__`` and setting its state the way pickle does).
"""

from __future__ import annotations

from typing import Any

from ..errors import CorruptObjectError, InvalidStateError, UsageError

__all__ = ["EXCLUDE_ATTRIBUTE", "NOT_STATE", "FreshValues", "NotStateError", "apply_state", "excluded", "heap_class", "new_instance",
           "object_parts", "plain_class", "set_attrs", "slot_names", "transplant"]

#: A class attribute listing attributes that are not state (they take a fresh instance's value on checkout).
EXCLUDE_ATTRIBUTE = "__brainvcs_exclude__"
_HEAPTYPE = 1 << 9
_NOT_STATE_HINT = ("exclude it: list the attribute in {owner}.__brainvcs_exclude__ (it then takes a fresh "
                   "instance's value on checkout), or give the class __getstate__/__setstate__")


def _custom(cls: type, name: str) -> bool:
    method = getattr(cls, name, None)
    return method is not None and method is not getattr(object, name, None)


def slot_names(cls: type) -> list[str]:
    """Every slot a class and its bases declare, base first (``__dict__``/``__weakref__`` left out)."""
    names: list[str] = []
    for klass in reversed(cls.__mro__):
        slots = klass.__dict__.get("__slots__", ())
        for name in (slots,) if isinstance(slots, str) else slots:
            if name in ("__dict__", "__weakref__") or name in names:
                continue
            if name.startswith("__") and not name.endswith("__"):
                name = f"_{klass.__name__.lstrip('_')}{name}"
            names.append(name)
    return names


def excluded(cls: type) -> frozenset[str]:
    """Attributes a class declares are not state (``__brainvcs_exclude__``)."""
    names = getattr(cls, EXCLUDE_ATTRIBUTE, ())
    if isinstance(names, str):
        names = (names,)
    return frozenset(names)


def object_parts(obj: Any) -> tuple[str, Any]:
    """``("state", obj.__getstate__())`` for classes with their own protocol, else ``("obj", {attr: value})``."""
    cls = type(obj)
    if _custom(cls, "__getstate__") or _custom(cls, "__setstate__"):
        getstate = getattr(obj, "__getstate__", None)
        return "state", getstate() if getstate is not None else dict(vars(obj))
    attrs: dict[str, Any] = {}
    own = getattr(obj, "__dict__", None)
    if isinstance(own, dict):
        attrs.update(own)
    for name in slot_names(cls):
        try:
            attrs[name] = object.__getattribute__(obj, name)
        except AttributeError:
            continue
    skip = excluded(cls)
    if skip:
        attrs = {k: v for k, v in attrs.items() if k not in skip}
    return "obj", attrs


class NotStateError(InvalidStateError):
    """A value that is not learnable state (a lock, a function, an open file...)."""

    def __init__(self, path: str, what: str, owner: str) -> None:
        super().__init__(path, f"{what} is not learnable state and cannot be stored",
                         _NOT_STATE_HINT.format(owner=owner))


def _not_state_types() -> tuple[type, ...]:
    import io
    import logging
    import queue
    import socket
    import threading
    import types
    import functools
    import weakref

    return (type(threading.Lock()), type(threading.RLock()), threading.Thread, threading.Event,
            threading.Condition, threading.Semaphore, threading.Barrier, logging.Logger, logging.Handler,
            io.IOBase, socket.socket, queue.Queue, types.FunctionType, types.BuiltinFunctionType,
            types.MethodType, types.GeneratorType, types.CoroutineType, types.AsyncGeneratorType,
            types.ModuleType, types.FrameType, types.TracebackType, types.CodeType, functools.partial,
            weakref.ref, memoryview, type)


#: Types whose instances are not learnable state (refused, or excluded by the class).
NOT_STATE = _not_state_types()


def heap_class(cls: type) -> bool:
    """Whether ``cls`` was made by a class statement (or an extension's heap type), not built into Python."""
    return bool(cls.__flags__ & _HEAPTYPE)


def plain_class(v: Any, t: type) -> bool:
    """Whether ``v`` is an instance of a Python class whose state is its ``__dict__`` and slots.

    Subclasses of built-in types (a ``dict`` subclass, an exception) and
    extension types (``re.Pattern``) keep state where attributes do not show
    it, so they are refused rather than stored without it.
    """
    if not t.__flags__ & _HEAPTYPE:
        return False
    if any(base.__module__ == "builtins" and base is not object for base in t.__mro__):
        return False
    return isinstance(getattr(v, "__dict__", None), dict) or any("__slots__" in k.__dict__ for k in t.__mro__[:-1])


def new_instance(cls: type, where: str) -> Any:
    """An instance of ``cls`` made without ``__init__`` (``cls.__new__(cls)``, as pickle does)."""
    try:
        make: Any = cls.__new__
        if make is object.__new__:
            return object.__new__(cls)
        return make(cls)
    except TypeError as exc:
        raise UsageError(f"{where or 'the brain'}: cannot make a {cls.__qualname__} without arguments ({exc})",
                         "give the class __getstate__/__setstate__, or register an adapter for it") from None


def set_attrs(obj: Any, attrs: dict[str, Any], slots: frozenset[str]) -> None:
    """Assign restored attributes the way pickle does: ``__dict__`` directly, slots by setattr."""
    own = getattr(obj, "__dict__", None)
    for name, value in attrs.items():
        if name in slots or not isinstance(own, dict):
            object.__setattr__(obj, name, value)
        else:
            own[name] = value


def apply_state(obj: Any, state: Any, where: str) -> None:
    """``obj.__setstate__(state)`` if the class has one, else pickle's default for dict / (dict, slots) states."""
    cls = type(obj)
    setstate = getattr(cls, "__setstate__", None)
    if setstate is not None and setstate is not getattr(object, "__setstate__", None):
        obj.__setstate__(state)
        return
    slots: dict[str, Any] = {}
    if isinstance(state, tuple) and len(state) == 2:
        state, slots = state
    for part in (state, slots):
        if part is not None and not isinstance(part, dict):
            raise CorruptObjectError(f"{where or 'the brain'}: state of a {cls.__qualname__} is a {type(part).__name__}, not a dict")
    set_attrs(obj, dict(state or {}), frozenset(slots or ()))
    for name, value in (slots or {}).items():
        object.__setattr__(obj, name, value)


class FreshValues:
    """Fresh instances' values for excluded attributes, one construction per class."""

    def __init__(self) -> None:
        self.made: dict[type, Any] = {}

    def values(self, cls: type, names: frozenset[str], where: str) -> dict[str, Any]:
        """The values a fresh ``cls()`` has for ``names`` (UsageError if ``cls()`` fails)."""
        if cls not in self.made:
            try:
                self.made[cls] = cls()
            except Exception as exc:
                raise UsageError(f"{where or 'the brain'}: {cls.__qualname__} excludes {', '.join(sorted(names))} "
                                 f"from its state, but {cls.__qualname__}() fails ({exc}), so they have no fresh "
                                 "value", "give the class a constructor callable without arguments, or "
                                 "__getstate__/__setstate__ that rebuild them") from None
        fresh = self.made[cls]
        return {name: getattr(fresh, name) for name in names if hasattr(fresh, name)}


def transplant(source: Any, target: Any, cls: type) -> None:
    """Make ``target`` hold exactly ``source``'s attributes (its ``__dict__`` and slots)."""
    own = getattr(target, "__dict__", None)
    if isinstance(own, dict):
        own.clear()
        own.update(vars(source))
    for name in slot_names(cls):
        try:
            object.__setattr__(target, name, object.__getattribute__(source, name))
        except AttributeError:
            try:
                object.__delattr__(target, name)
            except AttributeError:
                pass
