"""numpy in the object-graph codec: arrays, scalars (``np.float64`` stays ``np.float64``) and random generators.

Imported only when a numpy value is met, so brainvcs works without numpy.
Arrays are stored as tensors (exact dtype, shape and bytes; big-endian data
comes back little-endian). A scalar is stored as the Python number it equals
under a ``numpy <dtype>`` tag. ``RandomState`` and ``Generator`` are stored as
their bit generator's state and rebuilt from a fixed list of bit generators,
so a restored brain draws the same numbers.
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import CorruptObjectError, InvalidStateError

__all__ = ["decode_numpy", "encode_numpy"]

#: Scalar dtypes whose Python value converts back exactly: bool, ints, floats up to 64 bits, complex up to 128.
_SCALAR_DTYPE = re.compile(r"[<>|=]?(b1|[iu][1248]|f[248]|c(8|16))")
_BIT_GENERATORS = ("MT19937", "PCG64", "PCG64DXSM", "Philox", "SFC64")


def encode_numpy(encoder: Any, v: Any, path: Any, depth: int) -> Any:
    """The stored form of a numpy value (tags recorded through ``encoder``, a GraphEncoder)."""
    import numpy as np

    if type(v) is np.ndarray:
        if v.dtype.kind not in "biufc" or v.dtype.fields is not None or not _SCALAR_DTYPE.fullmatch(v.dtype.str):
            raise InvalidStateError(encoder.where(path), f"a numpy array of dtype {v.dtype} cannot be stored",
                                    "only bool, integer, float (up to 64 bits) and complex arrays are stored")
        if encoder._seen(v, path):
            return encoder._ref_value(v)
        return v.copy() if encoder.fresh else v  # (fresh: the brain may change its array in place)
    if isinstance(v, np.generic):
        dtype = v.dtype.str
        if not _SCALAR_DTYPE.fullmatch(dtype):
            raise InvalidStateError(encoder.where(path), f"a numpy scalar of dtype {v.dtype} cannot be stored",
                                    "convert it to a float64, an integer or a bool")
        encoder.tag(path, f"numpy {dtype}")
        return encoder.value(v.item(), path, depth)
    if isinstance(v, np.random.RandomState):
        if encoder._seen(v, path):
            return encoder._ref_value(v)
        encoder.tag(path, "numpy RandomState")
        return encoder.value(v.get_state(legacy=False), path, depth)
    if isinstance(v, np.random.Generator):
        if encoder._seen(v, path):
            return encoder._ref_value(v)
        encoder.tag(path, "numpy Generator")
        return encoder.value(v.bit_generator.state, path, depth)
    t = type(v)
    raise InvalidStateError(encoder.where(path), f"a value of type {t.__module__}.{t.__qualname__} cannot be stored",
                            "numpy arrays, scalars, RandomState and Generator are stored; convert others")


def _bit_generator(state: Any, where: str) -> Any:
    import numpy as np

    name = state.get("bit_generator") if isinstance(state, dict) else None
    if name not in _BIT_GENERATORS:
        raise CorruptObjectError(f"{where}: unknown numpy bit generator {name!r}")
    return getattr(np.random, name)()


def decode_numpy(decoder: Any, kind: str, stored: Any, where: str) -> Any:
    """The numpy value a ``numpy ...`` tag describes (``stored`` already decoded by the inner tags)."""
    import numpy as np

    try:
        if kind == "RandomState":
            rs = np.random.RandomState(_bit_generator(stored, where))
            rs.set_state(stored)
            return rs
        if kind == "Generator":
            bits = _bit_generator(stored, where)
            bits.state = stored
            return np.random.Generator(bits)
        if not _SCALAR_DTYPE.fullmatch(kind):
            raise CorruptObjectError(f"{where}: unknown numpy scalar type {kind!r}")
        return np.dtype(kind).type(stored)
    except (TypeError, ValueError, KeyError, OverflowError) as exc:
        raise CorruptObjectError(f"{where}: stored numpy {kind} is malformed ({exc})") from None
