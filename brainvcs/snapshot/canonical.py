"""The one canonical encoder: JSON-like value -> bytes, bytes -> value.

``docs/format.md`` §2 is the normative definition of the bytes; this module is
its fast implementation. In short: UTF-8 JSON, objects with keys sorted by code
point, two-space indentation with one value per line, ``": "`` after keys, no
trailing spaces, a final newline; floats in Python ``repr`` layout (shortest
round-trip digits); integers in [-2**63, 2**64-1]; no NaN or infinities.

The fast path is orjson. orjson's float layout has changed between releases,
so its output is normalised to the spec (only floats below 1e-4 or written
with an exponent can differ, and those are rewritten) and checked against
golden vectors at import; if the installed orjson disagrees anyway, every
encode falls back to the standard library's ``json`` module, which follows
the spec natively. Whatever the path, invalid input is refused with an
:class:`~brainvcs.errors.InvalidStateError` naming the offending path.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any, NewType

import blake3
import orjson

from ..errors import InvalidStateError

#: A BLAKE3-256 digest as 64 lowercase hex characters. Never a git object id.
Blake3Digest = NewType("Blake3Digest", str)

#: Deepest nesting a stored value may have (a scalar at the top is depth 0).
MAX_DEPTH = 128
INT_MIN = -(2**63)
INT_MAX = 2**64 - 1
#: Outputs shorter than this are copied to an exact-size bytes object (see encode).
_TIGHT_COPY_LIMIT = 1 << 20
#: Dict key reserved for tensor descriptors (see docs/format.md §4).
TENSOR_KEY = "$tensor"

#: A hook the layout layer passes in: turns an object the JSON model does not
#: know (a numpy array) into a JSON-like replacement, or raises TypeError.
DefaultHook = Callable[[Any], Any]

_ORJSON_OPTS = (
    orjson.OPT_INDENT_2
    | orjson.OPT_SORT_KEYS
    | orjson.OPT_APPEND_NEWLINE
    | orjson.OPT_PASSTHROUGH_SUBCLASS
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
)

# A number at the end of a line (values are one per line in this layout) that
# uses an exponent or is a small fixed-point fraction: the only floats whose
# orjson layout may differ from repr. Strings always end in a quote, so they
# never match.
_FLOAT_FIXUP = re.compile(rb"(?<![^ ])(-?(?:[0-9][0-9.]*e[-+]?[0-9]+|0\.0000[0-9]*))(?=,?$)")
# Substrings every such float contains; lines without them are left alone.
_FLOAT_NEEDLES = (b"e-", b"e+", b"0.0000")


def blake3_hex(data: bytes) -> Blake3Digest:
    """The BLAKE3-256 digest of ``data`` as lowercase hex."""
    return Blake3Digest(blake3.blake3(data).hexdigest())


def format_float(x: float) -> str:
    """The canonical text of a finite float (Python ``repr`` layout)."""
    return repr(float(x))


def _fix_float(match: re.Match[bytes]) -> bytes:
    return repr(float(match.group(1))).encode("ascii")


def _normalise_floats(out: bytes) -> bytes:
    """Rewrite the (rare) lines whose float layout may differ from repr's.

    Scanning for a few substrings with ``bytes.find`` is far faster than
    running the regex over megabytes of output.
    """
    starts: set[int] = set()
    for needle in _FLOAT_NEEDLES:
        i = out.find(needle)
        while i != -1:
            starts.add(out.rfind(b"\n", 0, i) + 1)
            end = out.find(b"\n", i)
            i = out.find(needle, end) if end != -1 else -1
    if not starts:
        return out
    pieces: list[bytes] = []
    prev = 0
    for start in sorted(starts):
        end = out.find(b"\n", start)
        pieces.append(out[prev:start])
        pieces.append(_FLOAT_FIXUP.sub(_fix_float, out[start:end]))
        prev = end
    pieces.append(out[prev:])
    return b"".join(pieces)


def _numpy_scalar(obj: Any) -> Any:
    """numpy scalars become Python numbers (exact: float32 ⊂ float64)."""
    mod = type(obj).__module__
    # A 0-d ndarray also has shape () and .item(), but it is an array: it must
    # reach the tensor hook so it comes back as an array, not a bare number.
    if (mod == "numpy" and type(obj).__name__ != "ndarray" and hasattr(obj, "item")
            and getattr(obj, "shape", None) == ()):
        value = obj.item()
        if isinstance(value, (bool, int, float)):
            return value
    raise TypeError


def _make_default(hook: DefaultHook | None) -> Callable[[Any], Any]:
    def default(obj: Any) -> Any:
        try:
            return _numpy_scalar(obj)
        except TypeError:
            pass
        if hook is not None:
            return hook(obj)
        raise TypeError(f"unsupported type {type(obj).__name__}")

    return default


def _deep_line(depth_budget: int) -> bytes:
    return b"\n" + b" " * (2 * (depth_budget + 1))


def encode(value: Any, *, default: DefaultHook | None = None, depth_budget: int = MAX_DEPTH,
           path: str = "") -> bytes:
    """Encode ``value`` to canonical bytes, or raise InvalidStateError naming the path.

    ``default`` converts objects outside the JSON model (tensors) into JSON-like
    replacements; ``depth_budget`` is how deep the value may nest (callers that
    encode a piece of a larger value pass what is left); ``path`` prefixes
    error messages.
    """
    if not _FAST_PATH_OK:
        return _encode_stdlib(value, default=default, depth_budget=depth_budget, path=path)
    try:
        out = orjson.dumps(value, default=_make_default(default), option=_ORJSON_OPTS)
    except (TypeError, orjson.JSONEncodeError) as exc:
        check(value, default=default, depth_budget=depth_budget, path=path)
        raise InvalidStateError(path, f"cannot be encoded ({exc})",
                                "convert it to dict/list/str/int/float/bool/None, or use an adapter") from exc
    # orjson writes NaN and infinities as null, and accepts tuples and keys
    # that only a full walk can tell apart: walk only when the output could hide them.
    if b"null" in out or _deep_line(depth_budget) in out or TENSOR_KEY.encode() in out:
        check(value, default=default, depth_budget=depth_budget, path=path)
    out = _normalise_floats(out)
    # orjson's result keeps its growth buffer (often 4x the content for a few-KB
    # shard); snapshots hold thousands of these, so keep an exact-size copy.
    return bytes(memoryview(out)) if len(out) < _TIGHT_COPY_LIMIT else out


def _encode_stdlib(value: Any, *, default: DefaultHook | None, depth_budget: int, path: str) -> bytes:
    check(value, default=default, depth_budget=depth_budget, path=path)
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False,
                      separators=(",", ": "), default=_make_default(default))
    return text.encode("utf-8") + b"\n"


def decode(data: bytes, *, what: str = "blob") -> Any:
    """Parse canonical (or any valid) JSON bytes; malformed input is an error naming ``what``."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        from ..errors import CorruptObjectError

        raise CorruptObjectError(f"{what}: not valid JSON ({exc})") from exc


def decode_stored(data: bytes, *, what: str = "blob", depth_budget: int = MAX_DEPTH, trusted: bool = False) -> Any:
    """Decode a blob read from a snapshot, refusing any that is not in canonical form.

    Nothing brainvcs writes is refused; a hostile or foreign writer's blob is:
    duplicate keys (whose value would depend on the parser), another layout
    (which a git host would show differently from what loads), or nesting
    deeper than ``depth_budget`` levels (which recursive readers could not
    walk). Cheap: what was decoded is re-encoded once, in C, and compared
    (not for a ``trusted`` blob: one verified when it entered the repository).
    """
    value = decode(data, what=what)
    if trusted:
        if _deep_line(depth_budget) in data:
            from ..errors import CorruptObjectError

            raise CorruptObjectError(f"{what}: nested deeper than {MAX_DEPTH} levels in all; refusing it")
        return value
    try:
        # orjson's own layout is canonical for all but a few floats: compare it first, and
        # normalise floats only for the blobs that differ (the normalising scan costs more).
        again = orjson.dumps(value, option=_ORJSON_OPTS) if _FAST_PATH_OK else b""
        if again != data:
            again = _plain_encode(value)
    except (TypeError, ValueError):  # deeper than the encoder goes: certainly not canonical
        again = b""
    if again != data:
        from ..errors import CorruptObjectError

        raise CorruptObjectError(f"{what}: not in canonical form (duplicate or unsorted keys, or another "
                                 "writer's layout); refusing it", "run `brainvcs verify`; the snapshot was not "
                                 "written by brainvcs, or was altered")
    if _deep_line(depth_budget) in data:
        from ..errors import CorruptObjectError

        raise CorruptObjectError(f"{what}: nested deeper than {MAX_DEPTH} levels in all; refusing it")
    return value


def encode_decoded(value: Any) -> bytes:
    """The canonical bytes of a value decoded from stored JSON (tensor descriptors and all), unchecked."""
    return _plain_encode(value)


def _plain_encode(value: Any) -> bytes:
    """The canonical layout of an already-valid decoded value (no checks: it came from JSON)."""
    if _FAST_PATH_OK:
        return _normalise_floats(orjson.dumps(value, option=_ORJSON_OPTS))
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False, separators=(",", ": "))
    return text.encode("utf-8") + b"\n"


def is_canonical(data: bytes) -> bool:
    """True when ``data`` is exactly the canonical encoding of what it decodes to."""
    try:
        value = orjson.loads(data)
        if b'"' + TENSOR_KEY.encode() + b'"' not in data:
            return encode(value) == data
        # Stored blobs hold tensor descriptors, written through the layout's hook; the
        # reserved key is refused in user values, so feed descriptors back through a hook too.
        return encode(_wrap_descriptors(value), default=_unwrap_descriptor) == data
    except (orjson.JSONDecodeError, InvalidStateError):
        return False


class _Descriptor:
    """A tensor descriptor read back from a blob (see :func:`is_canonical`)."""

    def __init__(self, body: Any) -> None:
        self.body = body


def _wrap_descriptors(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and TENSOR_KEY in value:
            return _Descriptor(value[TENSOR_KEY])
        return {k: _wrap_descriptors(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_wrap_descriptors(v) for v in value]
    return value


def _unwrap_descriptor(obj: Any) -> Any:
    if isinstance(obj, _Descriptor):
        return {TENSOR_KEY: obj.body}
    raise TypeError(f"unsupported type {type(obj).__name__}")


# --------------------------------------------------------------------------
# Validation: the slow walk that finds the path of a problem.


def join_path(path: str, key: str | int) -> str:
    """Append a dict key or list index to a dotted path, quoting awkward keys."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    if key and key.replace("_", "a").replace("-", "a").isalnum():  # every character alnum, _ or -
        return f"{path}.{key}" if path else key
    return f"{path}[{json.dumps(key, ensure_ascii=False)}]"


def check(value: Any, *, default: DefaultHook | None = None, depth_budget: int = MAX_DEPTH,
          path: str = "") -> None:
    """Raise InvalidStateError for the first value that cannot be stored exactly."""
    _check(value, default, depth_budget, path, set())


def _check(value: Any, default: DefaultHook | None, budget: int, path: str, seen: set[int]) -> None:
    if value is None or value is True or value is False:
        return
    kind = type(value)
    if kind is str:
        check_str(value, path)
        return
    if kind is int:
        if not INT_MIN <= value <= INT_MAX:
            raise InvalidStateError(path, f"integer {value} is outside the storable range [-2**63, 2**64-1]",
                                    "store it as a string, or split it")
        return
    if kind is float:
        if math.isnan(value):
            raise InvalidStateError(path, "NaN cannot be stored", "replace it with a number or null before committing")
        if math.isinf(value):
            raise InvalidStateError(path, f"{value} cannot be stored", "clip it to a finite number before committing")
        return
    if kind is dict or kind is list or kind is tuple:
        if budget <= 0:
            raise InvalidStateError(path, f"nested deeper than {MAX_DEPTH} levels",
                                    "flatten the value, e.g. store deep chains as a list of links")
        if id(value) in seen:
            raise InvalidStateError(path, "cycle: this value contains itself",
                                    "store references as keys or indexes instead of the objects themselves")
        seen.add(id(value))
        if kind is dict:
            for key, item in value.items():
                if type(key) is not str:
                    raise InvalidStateError(join_path(path, repr(key)),
                                            f"key {key!r} is a {type(key).__name__}; only string keys can be stored",
                                            "convert keys with str() (an adapter can restore them)")
                check_str(key, join_path(path, key))
                if key == TENSOR_KEY:
                    raise InvalidStateError(join_path(path, key), f"the key {TENSOR_KEY!r} is reserved for tensors",
                                            "rename the key; a tensor is written as {\"$tensor\": ...} alone")
                _check(item, default, budget - 1, join_path(path, key), seen)
        else:
            for index, item in enumerate(value):
                _check(item, default, budget - 1, join_path(path, index), seen)
        seen.discard(id(value))
        return
    if isinstance(value, (set, frozenset)):
        raise InvalidStateError(path, "a set cannot be stored (its order is not defined)",
                                "convert it to a sorted list, or use an adapter that restores the set")
    if isinstance(value, (bytes, bytearray, memoryview)):
        raise InvalidStateError(path, "bytes cannot be stored in JSON", "store binary data as a numpy uint8 array")
    try:
        replacement = _numpy_scalar(value)
    except TypeError:
        replacement = _NOTHING
    reason = ""
    if replacement is _NOTHING and default is not None:
        try:
            replacement = default(value)
        except TypeError as exc:
            replacement = _NOTHING
            reason = str(exc) if str(exc).startswith("numpy dtype") else ""
        else:
            if isinstance(replacement, dict) and TENSOR_KEY in replacement:
                return  # a tensor descriptor made by the layout layer
    if replacement is _NOTHING:
        raise InvalidStateError(path, reason or f"a value of type {type(value).__module__}.{type(value).__qualname__} "
                                "cannot be stored", "convert it to dict/list/str/int/float/bool/None, or use an adapter")
    _check(replacement, default, budget, path, seen)


_NOTHING = object()


def check_str(text: str, path: str) -> None:
    """Refuse a string that is not valid Unicode (a lone surrogate), naming ``path``."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidStateError(path, "string is not valid Unicode (it contains a lone surrogate)",
                                "decode the text with errors='replace', or store the raw bytes as a numpy uint8 array") from None


# --------------------------------------------------------------------------
# Self-check of the fast path against golden vectors (docs/format.md §2.6).

_GOLDEN: list[tuple[Any, bytes]] = [
    (0.1, b"0.1\n"), (1.0, b"1.0\n"), (-0.0, b"-0.0\n"), (1e16, b"1e+16\n"),
    (9999999999999998.0, b"9999999999999998.0\n"), (1e-4, b"0.0001\n"), (1e-5, b"1e-05\n"),
    (1.5e-7, b"1.5e-07\n"), (5e-324, b"5e-324\n"), (1.7976931348623157e308, b"1.7976931348623157e+308\n"),
    (123456789.125, b"123456789.125\n"), (2**64 - 1, b"18446744073709551615\n"),
    ({"b": [1, 2.5e-6, []], "a": {}, "é": "x\"\\\n\x01\u2028"},
     b'{\n  "a": {},\n  "b": [\n    1,\n    2.5e-06,\n    []\n  ],\n  "\xc3\xa9": "x\\"\\\\\\n\\u0001\xe2\x80\xa8"\n}\n'),
]


def _fast_path_agrees() -> bool:
    for value, expected in _GOLDEN:
        try:
            out = orjson.dumps(value, option=_ORJSON_OPTS)
        except orjson.JSONEncodeError:
            return False
        if _normalise_floats(out) != expected:
            return False
    return True


_FAST_PATH_OK = _fast_path_agrees()


def fast_path_enabled() -> bool:
    """Whether the installed orjson passed the golden-vector self-check."""
    return _FAST_PATH_OK
