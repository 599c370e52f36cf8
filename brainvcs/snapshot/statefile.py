"""State files: the JSON documents ``commit`` reads and ``checkout`` writes.

A state file is one JSON object mapping module names to values. numpy arrays
are written as ``{"$tensor": {"dtype": ..., "shape": ..., "values": [...]}}``
(complex values as ``[real, imaginary]`` pairs) and read back as arrays
(numpy required). A *state directory* holds one
``<module>.json`` file per module. Reading is strict: a malformed file is an
:class:`~brainvcs.errors.InputFileError` naming the file and the place, and
values that cannot be stored (NaN, ±Infinity) are refused with their path.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any


from . import canonical
from ..errors import InputFileError, InvalidStateError
from ..files import atomic_write
from .names import escape_name, unescape_name
from .tensors import is_array

#: Refuse state files larger than this (they are read into memory whole).
MAX_STATE_FILE_BYTES = 8 << 30


def _tensor_out(obj: Any) -> Any:
    if is_array(obj):
        if obj.dtype.kind == "c":  # JSON has no complex numbers: [real, imaginary] pairs
            import numpy as np

            values = np.stack([obj.real, obj.imag], axis=-1).tolist()
        else:
            values = obj.tolist()
        return {canonical.TENSOR_KEY: {"dtype": obj.dtype.str, "shape": list(obj.shape), "values": values}}
    raise TypeError(f"unsupported type {type(obj).__name__}")


def _array_in(spec: Any) -> Any:
    import numpy as np

    dtype = np.dtype(spec["dtype"])
    if dtype.kind != "c":
        return np.array(spec["values"], dtype=dtype).reshape(spec["shape"])
    try:  # an empty array's pairs decode as []: the shape says how they nest
        pairs = np.array(spec["values"], dtype=np.float64).reshape([*spec["shape"], 2])
    except ValueError:
        raise ValueError("complex values must be [real, imaginary] pairs, one per element") from None
    array = np.empty(pairs.shape[:-1], dtype=dtype)
    array.real, array.imag = pairs[..., 0], pairs[..., 1]  # assigned apart: signed zeros survive
    return array.reshape(spec["shape"])


def _tensors_in(value: Any, where: str) -> Any:
    if isinstance(value, dict):
        if canonical.TENSOR_KEY in value and len(value) == 1:
            spec = value[canonical.TENSOR_KEY]
            try:
                import numpy as np
            except ImportError:
                raise InputFileError(f"{where}: holds a tensor but numpy is not installed",
                                     "pip install 'brainvcs[numpy]'") from None
            try:
                return _array_in(spec)
            except (KeyError, TypeError, ValueError, OverflowError) as exc:  # OverflowError: 300 in an int8
                raise InputFileError(f"{where}: malformed tensor ({exc})",
                                     'write tensors as {"$tensor": {"dtype": "<f4", "shape": [2, 3], "values": [...]}}') from None
        return {k: _tensors_in(v, where) for k, v in value.items()}
    if isinstance(value, list):
        return [_tensors_in(v, where) for v in value]
    return value


def encode_state(state: dict[str, Any]) -> bytes:
    """Canonical bytes of a whole state (tensors as value lists), as ``checkout`` writes it."""
    return canonical.encode(state, default=_tensor_out)


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return result


def parse_state(data: bytes, where: str) -> dict[str, Any]:
    """Parse a state document; errors name ``where`` and the line/column or value path.

    Read with the standard library, exactly: a key given twice in one object is
    refused (a JSON reader would keep the last value and lose the other), and
    an integer beyond 64 bits stays an integer so the check can name it.
    """
    try:
        value = json.loads(data, object_pairs_hook=_unique_keys)
    except _DuplicateKey as dup:
        raise InputFileError(f"{where}: key {dup.key!r} appears more than once in one object",
                             "a JSON reader would keep only the last value; remove or rename the duplicates") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputFileError(f"{where}: not valid JSON: {exc}", "fix the file at that line and column") from None
    except RecursionError:
        raise InputFileError(f"{where}: nested deeper than {canonical.MAX_DEPTH} levels",
                             "a brain state nests at most that deep") from None
    if not isinstance(value, dict):
        raise InputFileError(f"{where}: expected a JSON object of modules, found {type(value).__name__}",
                             "a state file is one JSON object: {\"module\": value, ...}")
    if b'"' + canonical.TENSOR_KEY.encode() + b'"' in data:
        try:
            value = _tensors_in(value, where)
        except RecursionError:
            raise InputFileError(f"{where}: nested deeper than {canonical.MAX_DEPTH} levels",
                                 "a brain state nests at most that deep") from None
    if _NON_FINITE.search(data) or _LONG_INTEGER.search(data):
        # the stdlib let NaN, infinities or out-of-range integers through: name the value's path
        try:
            canonical.check(value, default=_tensor_out)
        except InvalidStateError as bad:
            raise InvalidStateError(bad.path, f"{bad.problem} (in {where})", bad.hint) from None
    state: dict[str, Any] = value
    return state


_NON_FINITE = re.compile(rb"NaN|Infinity")
_LONG_INTEGER = re.compile(rb"(?<![0-9.eE+-])-?[0-9]{19,}(?![0-9.eE])")


def read_state(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a state file, or a directory of ``<module>.json`` files."""
    source = Path(path)
    if source.is_dir():
        state: dict[str, Any] = {}
        files = sorted(source.glob("*.json"))
        if not files:
            raise InputFileError(f"{source}: directory holds no <module>.json files",
                                 "give a state file, or a directory written by `brainvcs checkout --split`")
        for file in files:
            try:
                module = unescape_name(file.stem)
            except Exception:
                module = file.stem
            state[module] = _parse_value(_read_bytes(file), str(file))
        return state
    return parse_state(_read_bytes(source), str(source))


def _parse_value(data: bytes, where: str) -> Any:
    wrapped = parse_state(b'{"m":' + data + b"}", where)
    return wrapped["m"]


def _read_bytes(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_STATE_FILE_BYTES:
            raise InputFileError(f"{path}: {size} bytes is larger than the {MAX_STATE_FILE_BYTES}-byte limit",
                                 "split it into a directory of <module>.json files")
        return path.read_bytes()
    except FileNotFoundError:
        raise InputFileError(f"{path}: no such file", "check the path") from None
    except IsADirectoryError:
        raise InputFileError(f"{path}: is a directory", "give a state file, or a directory of <module>.json files") from None
    except PermissionError:
        raise InputFileError(f"{path}: permission denied", "check the file's permissions") from None


def encode_value(value: Any) -> bytes:
    """Canonical bytes of one value (tensors as value lists), as ``show REV:PATH`` prints it."""
    return canonical.encode(value, default=_tensor_out)


def write_state(state: dict[str, Any], path: str | os.PathLike[str], *, as_directory: bool = False,
                overwrite: bool = True) -> list[Path]:
    """Write a state as one file (or one file per module); returns the files written.

    Files are written to an unpredictable temporary name (``O_EXCL``) and
    renamed, so a reader never sees half a file and a planted symlink never
    redirects the write. With ``overwrite=False`` an existing file is refused (the CLI's default).
    """
    target = Path(path)
    written: list[Path] = []
    files = [target / f"{escape_name(module)}.json" for module in sorted(state)] if as_directory else [target]
    existing = [file for file in files if os.path.lexists(file)]
    if existing and not overwrite:
        raise InputFileError(f"{existing[0]} exists; nothing was written",
                             "pass --force to overwrite it, or write elsewhere with --output")
    if as_directory:
        target.mkdir(parents=True, exist_ok=True)
        for module in sorted(state):
            file = target / f"{escape_name(module)}.json"
            _atomic_write(file, canonical.encode(state[module], default=_tensor_out))
            written.append(file)
        return written
    _atomic_write(target, encode_state(state))
    return [target]


def _atomic_write(path: Path, data: bytes) -> None:
    try:
        atomic_write(path, data)
    except OSError as exc:
        raise InputFileError(f"{path}: cannot write ({exc.strerror})",
                             "check free space and permissions, or write elsewhere with --output") from None
