"""Dotted paths into a state: the one grammar every command reads, and :func:`format_path` writes.

``language_module.word_frequency.hello``, ``memory.episodic[3]``,
``language_module.vocabulary["odd.key"]``: keys are separated by ``.``; a
key that is not a plain name (letters, digits, ``_``, ``-``, and the wildcard
characters ``*`` and ``?`` that merge rules give a meaning) is written as a
JSON string in brackets; ``[N]`` is a list index (``[-1]``: the last item). History queries, merge
rules, ``--resolve``, diffs restricted to a path and the ``changed=`` hint
all read paths here; :func:`brainvcs.snapshot.canonical.join_path` writes
them in every message.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Union

from ..errors import UsageError
from .canonical import join_path

#: A dict key or a list index.
Segment = Union[str, int]

_SYNTAX_HINT = 'paths look like language_module.word_frequency.hello, memory.episodic[3] or a["odd key"]'


def _bare(ch: str) -> bool:
    return ch.isalnum() or ch in "_-*?"


def split_path(text: str, *, what: str = "path", indices: bool = True) -> list[tuple[Segment, bool]]:
    """``(segment, quoted)`` pairs of a dotted path (UsageError naming ``what`` on bad syntax).

    ``quoted`` is True for a ``["..."]`` key (so a quoted ``"*"`` is a literal
    key, never a wildcard). With ``indices=False``, ``[N]`` is refused.
    """
    out: list[tuple[Segment, bool]] = []
    i = 0
    expect_key = True
    while i < len(text):
        ch = text[i]
        if ch == "[":
            end = _bracket_end(text, i)
            if end is None:
                raise UsageError(f"{what} {text!r}: malformed [...] segment at position {i}", _SYNTAX_HINT)
            inner = text[i + 1:end - 1]
            if inner.startswith('"'):
                out.append((json.loads(inner), True))
            elif not indices:
                raise UsageError(f"{what} {text!r}: list items cannot be addressed, only dict keys",
                                 "name the list itself; merges decide lists as a whole")
            else:
                out.append((int(inner), False))
            i = end
            expect_key = False
        elif ch == "." and not expect_key:
            i += 1
            expect_key = True
        elif _bare(ch) and expect_key:
            start = i
            while i < len(text) and _bare(text[i]):
                i += 1
            out.append((text[start:i], False))
            expect_key = False
        else:
            raise UsageError(f"{what} {text!r}: unexpected {ch!r} at position {i}", _SYNTAX_HINT)
    if not out or (expect_key and text.endswith(".")):
        raise UsageError(f"{what} {text!r} is empty or ends with '.'", _SYNTAX_HINT)
    return out


def _bracket_end(text: str, start: int) -> int | None:
    """Index just past the ``]`` closing the segment that opens at ``start``: ``["json"]`` or ``[123]``."""
    if text[start + 1:start + 2] == '"':
        i = start + 2
        while i < len(text):
            if text[i] == "\\":
                i += 2
                continue
            if text[i] == '"':
                if text[i + 1:i + 2] != "]":
                    return None
                try:
                    json.loads(text[start + 1:i + 1])
                except json.JSONDecodeError:
                    return None
                return i + 2
            i += 1
        return None
    end = text.find("]", start)
    digits = text[start + 1:end].removeprefix("-") if end != -1 else ""  # [-1] counts from the end
    return end + 1 if digits.isdigit() else None


def parse_path(text: str) -> list[Segment]:
    """The segments of a path into a state; it starts with a module name."""
    segments = [segment for segment, _ in split_path(text.strip(), what="invalid path")]
    if not isinstance(segments[0], str):
        raise UsageError(f"invalid path {text!r}: it must start with a module name", _SYNTAX_HINT)
    return segments


def parse_keys(text: str, *, what: str = "path") -> tuple[str, ...]:
    """The dict keys a path names (``a.b["c d"]`` -> ``("a", "b", "c d")``); list indices are refused."""
    return tuple(str(segment) for segment, _ in split_path(text.strip(), what=what, indices=False))


def format_path(segments: Sequence[Segment]) -> str:
    """The inverse of :func:`parse_path`, as every brainvcs message writes a path."""
    out = ""
    for segment in segments:
        out = join_path(out, segment)
    return out
