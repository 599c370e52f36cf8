"""Which classes a checkout may build: code decides, the repository only names.

The object-graph codec (:mod:`.graph_encode`, :mod:`.graph_decode`) records a
stored object's class as ``"module:qualname"``. On checkout such a name is
resolved only against

* the *roots*: the modules of the class passed as ``factory=``/``into=`` and
  every module of the top-level package that holds it;
* classes registered with :func:`brainvcs.adapters.register` (with or without
  an adapter) or :func:`trust`;
* ``builtins`` types usable as a ``defaultdict`` factory (the codec handles
  the standard-library and numpy types it knows by tag, not by name).

Modules are looked up in :data:`sys.modules` only: a module named by a
repository is never imported, and a name that does not resolve to a class
defined exactly there (``__module__`` and ``__qualname__`` equal to the stored
name) is refused. ``os:system`` or ``subprocess:Popen`` therefore fail even if
a trusted module imported them.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable

from ..errors import CorruptObjectError, UsageError

__all__ = ["TypeResolver", "class_name", "trust", "untrust"]

_REGISTERED: dict[str, type] = {}
#: ``defaultdict`` factories from builtins (collections' types are named by their module).
_BUILTIN_FACTORIES = {cls.__qualname__: cls for cls in (int, float, complex, str, bytes, list, dict, set,
                                                         frozenset, tuple, bool)}


def class_name(cls: type) -> str:
    """``module:qualname`` of a class, refused for classes a checkout could never find again."""
    qualname = cls.__qualname__
    if "<locals>" in qualname:
        raise UsageError(f"class {qualname} is defined inside a function, so a checkout could not name it",
                         "define the class at module level")
    return f"{cls.__module__}:{qualname}"


def trust(*classes: type) -> None:
    """Let checkouts build these classes wherever the brain's own class lives."""
    for cls in classes:
        if not isinstance(cls, type):
            raise UsageError(f"trust() needs classes, not {cls!r}")
        _REGISTERED[class_name(cls)] = cls


def untrust(*classes: type) -> None:
    """Undo :func:`trust` (and the trust :func:`~brainvcs.adapters.register` implies)."""
    for cls in classes:
        _REGISTERED.pop(f"{cls.__module__}:{cls.__qualname__}", None)


def _top_package(module: str) -> str:
    return module.split(".", 1)[0]


class TypeResolver:
    """Resolves stored class names for one checkout, against the roots it was given."""

    def __init__(self, roots: Iterable[type]) -> None:
        self.packages = {_top_package(cls.__module__) for cls in roots}
        self._cache: dict[str, type] = {}

    def trusted_module(self, module: str) -> bool:
        """Whether classes of ``module`` may be built (it is a root module or in a root's package)."""
        return _top_package(module) in self.packages

    def resolve(self, name: object, path: str) -> type:
        """The class stored as ``name`` at ``path``; UsageError if it is not trusted, Corrupt if malformed."""
        if not isinstance(name, str):
            raise CorruptObjectError(f"{path or 'the brain'}: class name {name!r} is not text")
        hit = self._cache.get(name)
        if hit is not None:
            return hit
        cls = _REGISTERED.get(name)
        if cls is None:
            cls = self._lookup(name, path)
        self._cache[name] = cls
        return cls

    def factory(self, name: str, path: str) -> type:
        """A ``defaultdict`` factory: a builtin type, or a class :meth:`resolve` accepts."""
        if name.startswith("builtins:") and name[9:] in _BUILTIN_FACTORIES:
            return _BUILTIN_FACTORIES[name[9:]]
        return self.resolve(name, path)

    def _lookup(self, name: str, path: str) -> type:
        module, sep, qualname = name.partition(":")
        where = path or "the brain"
        if not sep or not module or not qualname:
            raise CorruptObjectError(f"{where}: malformed class name {name!r} (expected module:qualname)")
        hint = (f"if {name} is part of your brain, import its module before the checkout and call "
                f"brainvcs.adapters.trust({qualname.rpartition('.')[2]}) (or pass factory= a class of its package)")
        if not self.trusted_module(module):
            raise UsageError(f"{where}: the repository names class {name}, which is outside the brain's own "
                             f"package(s) ({', '.join(sorted(self.packages)) or 'none'}) and not registered; "
                             "refusing to build it", hint)
        loaded = sys.modules.get(module)
        if loaded is None:
            raise UsageError(f"{where}: class {name} is in module {module}, which is not imported "
                             "(a checkout never imports modules a repository names)", hint)
        obj: object = loaded
        for part in qualname.split("."):
            if not part or (part.startswith("__") and part.endswith("__")):
                raise CorruptObjectError(f"{where}: malformed class name {name!r}")
            obj = getattr(obj, part, None)
            if obj is None:
                raise UsageError(f"{where}: module {module} has no class {qualname}", hint)
        if (not isinstance(obj, type) or obj.__module__ != module or obj.__qualname__ != qualname):
            raise UsageError(f"{where}: {name} does not name a class defined in {module}; refusing it", hint)
        return obj


def registered_names() -> frozenset[str]:
    """The class names :func:`trust` (or ``register``) has made buildable, for messages and tests."""
    return frozenset(_REGISTERED)
