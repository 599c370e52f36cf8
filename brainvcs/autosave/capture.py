"""What the Autosaver hands between the learning thread and its own: copied states, and results to wait on."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import UsageError
from ..snapshot.tensors import is_array
from ..storage.commits import CommitInfo


def copy_state(value: Any) -> Any:
    """A deep copy of a state (dicts, lists, tuples and arrays are new; scalars are shared)."""
    if isinstance(value, dict):
        return {key: copy_state(item) for key, item in value.items()}
    if isinstance(value, list):
        return [copy_state(item) for item in value]
    if isinstance(value, tuple):
        return tuple(copy_state(item) for item in value)
    if is_array(value):
        return value.copy()
    return value


@dataclass(frozen=True)
class SaveResult:
    """One autosave commit that landed (the call returned: it is durable)."""

    seq: int
    commit: CommitInfo
    branch: str
    changes: int
    reason: str
    seconds: float

    def to_json(self) -> dict[str, Any]:
        """A stable JSON-ready dict."""
        return {"seq": self.seq, "commit": self.commit.to_json(), "branch": self.branch,
                "changes": self.changes, "reason": self.reason, "seconds": self.seconds}


@dataclass
class Waiter:
    """Lets a caller wait for the save of one capture."""

    done: threading.Event = field(default_factory=threading.Event)
    result: SaveResult | None = None
    error: BaseException | None = None

    def finish(self, result: SaveResult | None = None, error: BaseException | None = None) -> None:
        """Hand the caller the save's result (or its error) and wake it."""
        self.result, self.error = result, error
        self.done.set()


@dataclass
class Capture:
    """A state read from the brain at a quiescent point, waiting to be committed."""

    state: Mapping[str, Any]
    changes: int
    reason: str
    waiters: list[Waiter]
    seconds: float = 0.0  # spent reading (and copying) the state


def state_getter(brain: Any, get_state: Callable[[], Mapping[str, Any]] | None) -> Callable[[], Mapping[str, Any]]:
    """How to read a state from ``brain``: ``get_state``, its ``to_state()``, or the mapping itself."""
    if get_state is not None:
        return get_state
    to_state = getattr(brain, "to_state", None)
    if callable(to_state):
        return to_state  # type: ignore[no-any-return]
    if isinstance(brain, Mapping):
        return lambda: brain
    raise UsageError(f"cannot read a state from {type(brain).__name__}",
                     "pass an object with to_state(), a state dict, or get_state=callable")
