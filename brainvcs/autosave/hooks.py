"""Hooked learning methods: each call of a brain's method runs holding a lock, then reports one change.

The Autosaver reads the brain only while holding the same lock, so what it
captures is never half of a learning step.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from ..errors import UsageError


class MethodHooks:
    """The methods wrapped on brain objects, and how to put them back."""

    def __init__(self, lock: Any, on_change: Callable[[], None]) -> None:
        self.lock = lock
        self.on_change = on_change
        self._hooked: list[tuple[Any, str, bool, Any]] = []

    def hook(self, obj: Any, *method_names: str) -> None:
        """Wrap ``obj``'s learning methods: each call runs holding :attr:`lock` and counts as a change."""
        if not method_names:
            raise UsageError("hook() needs at least one method name")
        for name in method_names:
            original = getattr(obj, name, None)
            if not callable(original):
                raise UsageError(f"{type(obj).__name__} has no method {name!r} to hook")
            if any(hooked is obj and hooked_name == name for hooked, hooked_name, _, _ in self._hooked):
                raise UsageError(f"{type(obj).__name__}.{name} is already hooked")
            # Never read obj.__dict__ to find out: on CPython 3.11+ that materialises the
            # instance dict and slows every attribute access in the brain's hot loop (~7%).
            from_class = (inspect.ismethod(original) and original.__self__ is obj
                          and original.__func__ is getattr(getattr(type(obj), name, None), "__func__",
                                                           getattr(type(obj), name, None)))
            try:
                setattr(obj, name, self._wrap(original))
            except AttributeError:
                raise UsageError(f"cannot hook {type(obj).__name__}.{name}: its instances take no new attributes",
                                 "call notify_change() after each learning step instead") from None
            self._hooked.append((obj, name, not from_class, None if from_class else original))

    def _wrap(self, original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def hooked(*args: Any, **kwargs: Any) -> Any:
            with self.lock:
                result = original(*args, **kwargs)
            # Outside the lock, so that a plain (non re-entrant) lock= works too.
            self.on_change()
            return result

        return hooked

    def unhook(self) -> None:
        """Put every hooked method back as it was."""
        while self._hooked:
            obj, name, had_own, previous = self._hooked.pop()
            if had_own:
                setattr(obj, name, previous)
            else:
                delattr(obj, name)
