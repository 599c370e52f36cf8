"""numpy arrays as snapshot tensors (docs/format.md §4).

An array is stored as raw little-endian, C-order bytes split into fixed-size
chunks, each named by its BLAKE3 digest; the JSON tree holds a descriptor with
dtype, shape and the chunk digests. numpy is optional: it is imported only when
an array is met.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .canonical import blake3_hex
from .errors import CorruptObjectError, InvalidStateError, UsageError

#: dtype kinds that round-trip exactly as raw bytes: bool, ints, unsigned, floats, complex.
_KINDS = "biufc"
#: Refuse descriptors claiming more than this many bytes (hostile snapshots).
MAX_TENSOR_BYTES = 1 << 40


def is_array(obj: Any) -> bool:
    """True for a numpy ndarray (without importing numpy if it is not loaded)."""
    return type(obj).__module__ == "numpy" and type(obj).__name__ == "ndarray"


def describe(array: Any, chunk_size: int) -> tuple[dict[str, Any], list[tuple[str, bytes]]]:
    """The descriptor and ``(digest, bytes)`` chunks of ``array``."""
    import numpy as np

    dtype = array.dtype
    if dtype.kind not in _KINDS or dtype.fields is not None:
        raise TypeError(f"numpy dtype {dtype} cannot be stored (only bool, int, uint, float, complex)")
    little = dtype.newbyteorder("<") if dtype.byteorder == ">" else dtype
    data = np.ascontiguousarray(array, dtype=little).tobytes()
    chunks = [(blake3_hex(data[i:i + chunk_size]), data[i:i + chunk_size]) for i in range(0, len(data), chunk_size)]
    descriptor = {
        "bytes": len(data),
        "chunks": [digest for digest, _ in chunks],
        "dtype": little.str,
        "shape": list(array.shape),
    }
    return descriptor, chunks


def restore(descriptor: Any, fetch: Callable[[str], bytes], path: str) -> Any:
    """Rebuild an array from its descriptor, fetching (verified) chunks by digest."""
    try:
        import numpy as np
    except ImportError:
        raise UsageError(f"{path}: this snapshot holds numpy arrays but numpy is not installed",
                         "pip install 'brainvcs[numpy]'") from None
    if not isinstance(descriptor, dict):
        raise CorruptObjectError(f"{path}: malformed tensor descriptor")
    try:
        dtype = np.dtype(descriptor["dtype"])
        shape = tuple(int(n) for n in descriptor["shape"])
        size = int(descriptor["bytes"])
        digests = list(descriptor["chunks"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CorruptObjectError(f"{path}: malformed tensor descriptor ({exc})") from None
    if dtype.kind not in _KINDS or dtype.fields is not None or any(n < 0 for n in shape):
        raise CorruptObjectError(f"{path}: tensor descriptor has an unsupported dtype or shape")
    count = 1
    for n in shape:
        count *= n
    if size != count * dtype.itemsize or size > MAX_TENSOR_BYTES:
        raise CorruptObjectError(f"{path}: tensor descriptor declares {size} bytes for shape {shape} of {dtype}")
    data = b"".join(fetch(digest) for digest in digests)
    if len(data) != size:
        raise CorruptObjectError(f"{path}: tensor has {len(data)} bytes, descriptor says {size}")
    return np.frombuffer(data, dtype=dtype).reshape(shape).copy()


def check_storable(array: Any, path: str) -> None:
    """Raise InvalidStateError if ``array`` has a dtype that cannot be stored."""
    if array.dtype.kind not in _KINDS or array.dtype.fields is not None:
        raise InvalidStateError(path, f"numpy dtype {array.dtype} cannot be stored (only bool, int, uint, float, complex)",
                                "convert the array with .astype(), or store its items as a list")
