"""Whole-object-graph equality for restored brains: types, dict order, aliasing, RNG state, exact floats.

``assert_graph_equal(a, b)`` walks both graphs in step and fails with the
path of the first difference. Two objects are "the same" only if the mapping
between the graphs is one-to-one: an object reachable from two places in
``a`` must be one object in ``b`` too (and vice versa), so lost sharing and
broken back-references fail, not just different values.
"""

from __future__ import annotations

import collections
import math
import random
import struct
from typing import Any

_ATOMS = (str, bytes, int, bool, type(None), complex)


def _float_bits(x: float) -> bytes:
    return struct.pack("<d", x)


def _slots(cls: type) -> list[str]:
    names: list[str] = []
    for klass in cls.__mro__:
        slots = klass.__dict__.get("__slots__", ())
        for name in (slots,) if isinstance(slots, str) else slots:
            if name not in ("__dict__", "__weakref__") and name not in names:
                names.append(name)
    return names


class _Walker:
    def __init__(self) -> None:
        self.forward: dict[int, int] = {}
        self.backward: dict[int, int] = {}
        self.keep: list[Any] = []

    def fail(self, path: str, why: str) -> None:
        raise AssertionError(f"{path or '<root>'}: {why}")

    def same(self, a: Any, b: Any, path: str) -> None:
        if type(a) is not type(b):
            self.fail(path, f"type {type(a).__qualname__} != {type(b).__qualname__}")
        if isinstance(a, float):
            if _float_bits(a) != _float_bits(b) and not (math.isnan(a) and math.isnan(b)):
                self.fail(path, f"{a!r} != {b!r}")
            return
        if isinstance(a, _ATOMS) or a is None:
            if a != b:
                self.fail(path, f"{a!r} != {b!r}")
            return
        mod = type(a).__module__
        if mod == "numpy" or mod.startswith("numpy."):
            self._numpy(a, b, path)
            return
        if isinstance(a, (tuple, frozenset)) or type(a).__module__ in ("datetime", "decimal", "enum") \
                or hasattr(type(a), "_member_map_"):
            pass  # immutables: compared below, identity not required
        elif self._met(a, b, path):
            return
        self._compare(a, b, path)

    def _met(self, a: Any, b: Any, path: str) -> bool:
        """Pair ``a`` with ``b``; True if either was met before (then they must have been paired)."""
        fa, fb = self.forward.get(id(a)), self.backward.get(id(b))
        if fa is not None or fb is not None:
            if fa != id(b) or fb != id(a):
                self.fail(path, "shared references differ (an object is aliased on one side only)")
            return True
        self.forward[id(a)] = id(b)
        self.backward[id(b)] = id(a)
        self.keep += [a, b]
        return False

    def _compare(self, a: Any, b: Any, path: str) -> None:
        if isinstance(a, dict):
            if isinstance(a, collections.defaultdict) and a.default_factory is not b.default_factory:
                self.fail(path, "defaultdict factories differ")
            ka, kb = list(a), list(b)
            if len(ka) != len(kb):
                self.fail(path, f"{len(ka)} keys != {len(kb)} keys")
            for i, (x, y) in enumerate(zip(ka, kb)):
                self.same(x, y, f"{path}<key {i}>")
            for x, y in zip(ka, kb):
                self.same(a[x], b[y], f"{path}[{x!r}]")
        elif isinstance(a, (list, tuple, collections.deque)):
            if isinstance(a, collections.deque) and a.maxlen != b.maxlen:
                self.fail(path, f"maxlen {a.maxlen} != {b.maxlen}")
            if len(a) != len(b):
                self.fail(path, f"length {len(a)} != {len(b)}")
            for i, (x, y) in enumerate(zip(a, b)):
                self.same(x, y, f"{path}[{i}]")
            if isinstance(a, tuple) and hasattr(type(a), "_fields"):
                return
        elif isinstance(a, (set, frozenset)):
            if a != b:
                self.fail(path, f"sets differ: {a!r} != {b!r}")
        elif isinstance(a, random.Random):
            if a.getstate() != b.getstate():
                self.fail(path, "random.Random state differs")
        elif type(a).__module__ in ("datetime", "decimal") or hasattr(type(a), "_member_map_"):
            if a != b or str(a) != str(b):
                self.fail(path, f"{a!r} != {b!r}")
        elif isinstance(a, (bytearray,)):
            if a != b:
                self.fail(path, "bytes differ")
        else:
            self._object(a, b, path)

    def _object(self, a: Any, b: Any, path: str) -> None:
        va = getattr(a, "__dict__", None)
        vb = getattr(b, "__dict__", None)
        if (va is None) != (vb is None):
            self.fail(path, "one object has a __dict__, the other not")
        if va is not None:
            ka, kb = list(va), list(vb)
            if ka != kb:
                self.fail(path, f"attributes {ka} != {kb}")
            for k in ka:
                self.same(va[k], vb[k], f"{path}.{k}")
        for name in _slots(type(a)):
            ha, hb = hasattr(a, name), hasattr(b, name)
            if ha != hb:
                self.fail(f"{path}.{name}", "slot set on one side only")
            if ha:
                self.same(getattr(a, name), getattr(b, name), f"{path}.{name}")
        for extra in ("__pydantic_private__", "__pydantic_extra__", "__pydantic_fields_set__"):
            if hasattr(type(a), "model_fields"):
                self.same(getattr(a, extra, None), getattr(b, extra, None), f"{path}.{extra}")

    def _numpy(self, a: Any, b: Any, path: str) -> None:
        import numpy as np

        if isinstance(a, np.ndarray):
            if self._met(a, b, path):
                return
            if a.dtype != b.dtype or a.shape != b.shape or a.tobytes() != b.tobytes():
                self.fail(path, "arrays differ (dtype, shape or bytes)")
            if a.flags.writeable != b.flags.writeable:
                self.fail(path, "array writeable flag differs")
        elif isinstance(a, np.generic):
            if a.dtype != b.dtype or a.tobytes() != b.tobytes():
                self.fail(path, f"numpy scalars differ: {a!r} != {b!r}")
        elif isinstance(a, np.random.Generator):
            if repr(a.bit_generator.state) != repr(b.bit_generator.state):
                self.fail(path, "numpy Generator state differs")
        elif isinstance(a, np.random.RandomState):
            sa, sb = a.get_state(legacy=False), b.get_state(legacy=False)
            if repr(sa) != repr(sb):
                self.fail(path, "numpy RandomState differs")
        else:
            self.fail(path, f"unexpected numpy value {type(a)}")


def assert_graph_equal(a: Any, b: Any) -> None:
    """Fail (naming the path) unless ``a`` and ``b`` are equal, isomorphic object graphs."""
    _Walker().same(a, b, "")
