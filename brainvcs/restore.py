"""``checkout REV -- PATH...``: put the values of some paths, as ``REV`` holds them, into a state file.

git's ``restore --source REV -- FILE`` for a brain: the rest of the state
file stays as it is. A path ``REV`` does not hold is removed from the file
(as git removes a file the source does not have).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .errors import PathNotFoundError, UsageError
from .query import value_at
from .repo import Repository
from .snapshot import statefile
from .snapshot.paths import Segment, format_path, parse_path


@dataclass(frozen=True)
class RestoreResult:
    """Which paths were set from the revision and which were removed (absent there)."""

    file: str
    rev: str
    restored: tuple[str, ...]
    removed: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """A stable JSON-ready dict."""
        return {"file": self.file, "rev": self.rev, "restored": list(self.restored), "removed": list(self.removed)}


def restore(repo: Repository, rev: str, paths: Sequence[str], file: str | os.PathLike[str]) -> RestoreResult:
    """Set each of ``paths`` in the state file ``file`` to its value at ``rev`` (the file is created if missing)."""
    if not paths:
        raise UsageError("name the paths to restore after --", "e.g. brainvcs checkout HEAD~1 -- language_module -o s.json")
    state: dict[str, Any] = statefile.read_state(file) if os.path.exists(file) else {}
    restored: list[str] = []
    removed: list[str] = []
    for text in paths:
        segments = parse_path(text)
        try:
            value = value_at(repo, rev, segments)
        except PathNotFoundError:
            if _remove(state, segments):
                removed.append(format_path(segments))
            continue
        _set(state, segments, value)
        restored.append(format_path(segments))
    statefile.write_state(state, file)
    return RestoreResult(os.fspath(file), rev, tuple(restored), tuple(removed))


def _container(state: dict[str, Any], segments: Sequence[Segment], create: bool) -> Any:
    node: Any = state
    for segment in segments[:-1]:
        if isinstance(node, dict) and isinstance(segment, str):
            if segment not in node:
                if not create:
                    return None
                node[segment] = {}
            node = node[segment]
        elif isinstance(node, list) and isinstance(segment, int) and -len(node) <= segment < len(node):
            node = node[segment]
        else:
            if not create:
                return None
            raise UsageError(f"{format_path(list(segments))}: the state file has no place for it "
                             f"({format_path(list(segments[:segments.index(segment) + 1]))} is not a dict)")
    return node


def _set(state: dict[str, Any], segments: Sequence[Segment], value: Any) -> None:
    parent = _container(state, segments, create=True)
    last = segments[-1]
    if isinstance(parent, dict) and isinstance(last, str):
        parent[last] = value
    elif isinstance(parent, list) and isinstance(last, int) and -len(parent) <= last < len(parent):
        parent[last] = value
    else:
        raise UsageError(f"{format_path(list(segments))}: the state file has no such place to restore into")


def _remove(state: dict[str, Any], segments: Sequence[Segment]) -> bool:
    parent = _container(state, segments, create=False)
    last = segments[-1]
    if isinstance(parent, dict) and isinstance(last, str) and last in parent:
        del parent[last]
        return True
    return False
