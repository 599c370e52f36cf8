"""What the Autosaver hands between the learning thread and its own: copied states, and results to wait on."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import UsageError
from ..snapshot.changes import copy_value
from ..storage.commits import CommitInfo


def copy_state(value: Any) -> Any:
    """A deep copy of a state (dicts, lists, tuples and arrays are new; scalars are shared)."""
    return copy_value(value, marks=False)


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
    #: Team sync: the state the brain descended from when it was read, and the commit holding it (None: not
    #: committed yet, or no team sync).
    base_state: Mapping[str, Any] | None = None
    base: str | None = None


def state_getter(brain: Any, get_state: Callable[[], Mapping[str, Any]] | None) -> Callable[[], Mapping[str, Any]]:
    """How to read a state from ``brain``: ``get_state``, its ``to_state()``, or the mapping itself."""
    if get_state is not None:
        return get_state
    to_state = getattr(brain, "to_state", None)
    if callable(to_state):
        return to_state  # type: ignore[no-any-return]
    if isinstance(brain, Mapping):
        return lambda: brain
    if brain is None:
        raise UsageError("nothing to autosave", "pass the brain, or get_state=callable")
    from ..adapters import adapter_for

    adapter = adapter_for(brain)  # any object: its object graph (docs/adapters.md), checked on first save
    return lambda: adapter.to_state(brain)


def state_setter(brain: Any, set_state: Callable[[Mapping[str, Any]], None] | None) -> Callable[[Mapping[str, Any]], None]:
    """How to put a state back into ``brain`` (team sync): ``set_state``, else the brain's adapter, in place."""
    if set_state is not None:
        return set_state
    if brain is None:
        raise UsageError("team sync needs the brain to restore what other machines learned into it",
                         "pass the brain, or set_state=callable")
    from ..adapters import adapter_for

    adapter = adapter_for(brain)
    return lambda state: adapter.restore(state, into=brain)
