"""Members of a canonical JSON object found by their lines, without decoding the rest.

Canonical layout (docs/format.md §2) puts each top-level member of an object
on a line of its own at two spaces of indentation; nested lines are deeper and
strings never hold a raw newline, so ``,\n  "`` occurs only between members.
A map shard of thousands of keys can therefore be compared with another
(:func:`changed_members`, for diffs) or searched for a few keys
(:func:`member_values`, for a delta's old values) by byte operations in C.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from . import canonical
from ..errors import CorruptObjectError

_MISSING: Any = object()
_MEMBER_SEP = b',\n  "'


def top_members(data: bytes) -> list[bytes] | None:
    """The top-level members of a canonical JSON object as ``key": value`` byte runs.

    None if ``data`` does not have that shape (an empty object, or not canonical).
    """
    if not data.startswith(b'{\n  "') or not data.endswith(b"\n}\n"):
        return None
    return data[5:-3].split(_MEMBER_SEP)  # (each run without the opening quote of its key)


def changed_members(old: bytes, new: bytes, before: dict[str, Any], after: dict[str, Any], path: str) -> None:
    """Add the members that differ between two map shards to ``before``/``after``.

    Comparing the members' bytes finds the few changed keys of a large shard
    without decoding the rest; anything unexpected falls back to decoding both.
    """
    old_members, new_members = top_members(old), top_members(new)
    if old_members is not None and new_members is not None:
        gone, came = set(old_members), set(new_members)
        gone, came = gone - came, came - gone
        try:
            found_old = orjson.loads(b"{" + b"".join(b'"' + m + b"," for m in gone)[:-1] + b"}") if gone else {}
            found_new = orjson.loads(b"{" + b"".join(b'"' + m + b"," for m in came)[:-1] + b"}") if came else {}
        except orjson.JSONDecodeError:
            pass
        else:
            if isinstance(found_old, dict) and isinstance(found_new, dict):
                before.update(found_old)
                after.update(found_new)
                return
    old_value = _object(canonical.decode(old, what=path), path)
    new_value = _object(canonical.decode(new, what=path), path)
    for key, value in new_value.items():
        if old_value.get(key, _MISSING) != value:
            after[key] = value
    for key, value in old_value.items():
        if new_value.get(key, _MISSING) != value:
            before[key] = value


def member_values(shard: bytes, keys: Iterable[str]) -> dict[str, Any]:
    """The values of ``keys`` (those present) in a canonical map shard, decoding nothing else.

    A member starts at ``\n  "key": `` and ends at the separator (see the module docstring).
    """
    parts = []
    for key in keys:
        head = b"\n  " + canonical.encode(key)[:-1] + b": "
        start = shard.find(head)
        if start < 0:
            continue
        end = shard.find(_MEMBER_SEP, start + len(head))
        parts.append(shard[start + 3:end if end >= 0 else len(shard) - 3])
    return orjson.loads(b"{" + b",".join(parts) + b"}") if parts else {}


def _object(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise CorruptObjectError(f"{path}: map shard is not an object")
    return value
