"""numpy arrays as snapshot tensors (docs/format.md §4).

An array is stored as raw little-endian, C-order bytes split into fixed-size
chunks, each named by its BLAKE3 digest; the JSON tree holds a descriptor with
dtype, shape and the chunk digests. numpy is optional: it is imported only when
an array is met.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from .canonical import TENSOR_KEY, Blake3Digest, blake3_hex
from ..errors import CorruptObjectError, InvalidStateError, UsageError

#: What a blob holding a tensor descriptor contains (a cheap test before decoding it).
NEEDLE = f'"{TENSOR_KEY}"'.encode()
#: dtype kinds that round-trip exactly as raw bytes: bool, ints, unsigned, floats, complex.
_KINDS = "biufc"
#: Refuse descriptors claiming more than this many bytes (hostile snapshots).
MAX_TENSOR_BYTES = 1 << 40
#: Most dimensions a stored tensor may have (numpy 1.x allows 32, numpy 2 allows 64).
MAX_TENSOR_DIMS = 32
_DESCRIPTOR_KEYS = frozenset({"bytes", "chunks", "dtype", "shape"})
#: A dtype as ``describe`` writes it: byte order, kind, item size (numpy's ``dtype.str``).
_DTYPE = re.compile(r"([<>|=])([biufc])([0-9]{1,2})")
_ITEM_SIZES = {"b": {1}, "i": {1, 2, 4, 8}, "u": {1, 2, 4, 8}, "f": {2, 4, 8, 16}, "c": {8, 16, 32}}
_CHUNK_DIGEST = re.compile(r"[0-9a-f]{64}")


def is_array(obj: Any) -> bool:
    """True for a numpy ndarray (without importing numpy if it is not loaded)."""
    return is_array_type(type(obj))


def is_array_type(kind: type) -> bool:
    """True for numpy's ndarray class (without importing numpy if it is not loaded)."""
    return kind.__module__ == "numpy" and kind.__name__ == "ndarray"


def descriptors(value: Any) -> Iterator[Any]:
    """The body of every tensor descriptor (a dict holding ``$tensor``) in a decoded value, unchecked."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            if TENSOR_KEY in node:
                yield node[TENSOR_KEY]
            else:
                stack.extend(node.values())


def describe(array: Any, chunk_size: int) -> tuple[dict[str, Any], list[tuple[Blake3Digest, bytes]]]:
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


@dataclass(frozen=True)
class TensorSpec:
    """A tensor descriptor that passed every check: what its bytes must be."""

    dtype: str
    shape: tuple[int, ...]
    size: int
    chunks: tuple[str, ...]


def validate(descriptor: Any, path: str) -> TensorSpec:
    """Check a stored tensor descriptor without numpy; :class:`CorruptObjectError` names what is wrong.

    ``verify`` and ``checkout`` share this, so verify reports every descriptor checkout would refuse.
    """
    if not isinstance(descriptor, dict) or set(descriptor) != _DESCRIPTOR_KEYS:
        raise CorruptObjectError(f"{path}: malformed tensor descriptor (expected the keys {sorted(_DESCRIPTOR_KEYS)})")
    dtype, shape, size, chunks = (descriptor[key] for key in ("dtype", "shape", "bytes", "chunks"))
    match = _DTYPE.fullmatch(dtype) if isinstance(dtype, str) else None
    if match is None or int(match.group(3)) not in _ITEM_SIZES[match.group(2)]:
        raise CorruptObjectError(f"{path}: tensor dtype {dtype!r} is not one brainvcs stores")
    if (not isinstance(shape, list) or len(shape) > MAX_TENSOR_DIMS
            or any(type(n) is not int or n < 0 for n in shape)):
        raise CorruptObjectError(f"{path}: tensor shape {str(shape)[:80]} is malformed "
                                 f"(at most {MAX_TENSOR_DIMS} non-negative whole numbers)")
    count = 1
    for n in shape:
        count *= n
        if count > MAX_TENSOR_BYTES:  # stop before a hostile product grows without bound
            break
    expected = count * int(match.group(3))
    if type(size) is not int or size != expected or size > MAX_TENSOR_BYTES:
        raise CorruptObjectError(f"{path}: tensor descriptor declares {size} bytes for shape {shape} of {dtype}")
    if not isinstance(chunks, list) or any(type(d) is not str or not _CHUNK_DIGEST.fullmatch(d) for d in chunks):
        raise CorruptObjectError(f"{path}: tensor chunk list is malformed")
    return TensorSpec(dtype, tuple(shape), size, tuple(chunks))


def restore(descriptor: Any, fetch: Callable[[str], bytes], path: str) -> Any:
    """Rebuild an array from its descriptor, fetching (verified) chunks by digest."""
    spec = validate(descriptor, path)
    try:
        import numpy as np
    except ImportError:
        raise UsageError(f"{path}: this snapshot holds numpy arrays but numpy is not installed",
                         "pip install 'brainvcs[numpy]'") from None
    data = b"".join(fetch(digest) for digest in spec.chunks)
    if len(data) != spec.size:
        raise CorruptObjectError(f"{path}: tensor has {len(data)} bytes, descriptor says {spec.size}")
    try:
        return np.frombuffer(data, dtype=np.dtype(spec.dtype)).reshape(spec.shape).copy()
    except (TypeError, ValueError) as exc:  # numpy's own limits (dimensions, sizes) on this machine
        raise CorruptObjectError(f"{path}: numpy cannot build this tensor ({exc})") from None


def check_storable(array: Any, path: str) -> None:
    """Raise InvalidStateError if ``array`` has a dtype that cannot be stored."""
    if array.dtype.kind not in _KINDS or array.dtype.fields is not None:
        raise InvalidStateError(path, f"numpy dtype {array.dtype} cannot be stored (only bool, int, uint, float, complex)",
                                "convert the array with .astype(), or store its items as a list")
