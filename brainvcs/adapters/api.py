"""Commit a live brain object, check one out: the adapter layer's API over :class:`Repository`.

>>> from brainvcs import Repository
>>> from brainvcs.adapters import api
>>> from brainvcs.brains import ReferenceBrain
>>> repo = Repository.memory()
>>> brain = ReferenceBrain()
>>> _ = brain.learn("The garden was quiet.")
>>> result = api.commit(repo, brain, "first words")
>>> api.checkout(repo, "HEAD", factory=ReferenceBrain).step
1

:func:`install_repository_hook` (run when ``brainvcs`` is imported) lets
``Repository.commit`` take the object itself and ``Repository.checkout`` take
``into=``/``factory=``; ``repo.py`` never imports this layer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from brainvcs.errors import InvalidStateError
from brainvcs.repo import CommitResult, Repository

from .base import Adapter, DictAdapter, State, modules_of
from .select import adapter_for, restore_plan

__all__ = ["ADAPTER_TRAILER", "checkout", "commit", "install_repository_hook", "state_of"]

#: Commit trailer naming the adapter that produced the state (informative only: never used to pick code).
ADAPTER_TRAILER = "Brain-Adapter"


def state_of(obj: Any, *, adapter: Adapter | None = None) -> tuple[State, Adapter]:
    """The state of ``obj`` and the adapter that made it."""
    chosen = adapter or adapter_for(obj)
    return chosen.to_state(obj), chosen


def _trailers(adapter: Adapter, given: Mapping[str, str] | None) -> dict[str, str]:
    trailers = dict(given or {})
    if not isinstance(adapter, DictAdapter):
        trailers.setdefault(ADAPTER_TRAILER, adapter.name)
    return trailers


def commit(repo: Repository, obj: Any, message: str, *, adapter: Adapter | None = None,
           **kw: Any) -> CommitResult:
    """Commit the state of a live object (or a dict state); ``kw`` goes to :meth:`Repository.commit`."""
    state, chosen = state_of(obj, adapter=adapter)
    kw["trailers"] = _trailers(chosen, kw.get("trailers"))
    return repo.commit(state, message, **kw)


def checkout(repo: Repository, ref: str = "HEAD", *, into: Any = None,
             factory: Callable[..., Any] | type | None = None, adapter: Adapter | None = None) -> Any:
    """The brain stored at ``ref``: restored ``into`` an object, made by ``factory``, or a dict state.

    Only the modules the adapter needs are read. A failed restore leaves
    ``into`` unchanged (spec adapters convert everything before assigning).
    """
    chosen, target, make = restore_plan(adapter, into=into, factory=factory)
    modules = modules_of(chosen)
    if modules is not None:
        stored = repo.manifest(ref)["modules"]
        missing = [m for m in modules if m not in stored]
        if missing:
            raise InvalidStateError(missing[0], f"module is missing at {ref} (the {chosen.name!r} adapter needs it)",
                                    f"modules there: {', '.join(sorted(stored)) or '(none)'}")
    state = repo.checkout(ref, modules=modules)
    return chosen.restore(state, into=target, factory=make)


class _RepositoryHook:
    """What ``Repository.commit``/``checkout`` call for live objects (see :func:`install_repository_hook`)."""

    def to_state(self, obj: Any, trailers: Mapping[str, str] | None,
                 fresh: bool = False) -> tuple[State, dict[str, str], bool]:
        """The state of ``obj``, the trailers to commit it with, and whether the state is the caller's own.

        With ``fresh`` (the repository will keep the state for its next comparison) an adapter that
        can (the object-graph adapter's ``fresh_states``) gives a state sharing no container with
        ``obj``, which the repository then keeps without copying it.
        """
        chosen = adapter_for(obj)
        own = fresh and bool(getattr(chosen, "fresh_states", False))
        state = chosen.to_state(obj, fresh=True) if own else chosen.to_state(obj)  # type: ignore[call-arg]
        return state, _trailers(chosen, trailers), own

    def restore(self, repo: Repository, rev: str, into: Any, factory: Any) -> Any:
        """:func:`checkout` with ``into``/``factory``."""
        return checkout(repo, rev, into=into, factory=factory)


def install_repository_hook() -> None:
    """Let ``Repository.commit(obj)`` and ``Repository.checkout(rev, into=/factory=)`` use adapters."""
    from brainvcs.repo import repository as repo_module

    setattr(repo_module, "object_hook", _RepositoryHook())
