"""Adapters between brains (live objects or other on-disk formats) and brainvcs states.

Live objects: :func:`commit` / :func:`checkout` (``api``), with the adapter
chosen by :func:`adapter_for` (``select``): registered adapters and declared
specs (``spec``), plain dict states, classes with ``to_state``/``from_state``,
and for everything else the zero-configuration object-graph adapter
(``graph``), which trusts classes by :func:`trust` (``trust``). The seed's
brain layout (``seed_brain``) maps imported seed files onto the seed's class.
See ``docs/adapters.md``.

Files: ``seed_json`` and ``seed_sqlite`` convert the seed document's JSON files
and SQLite databases; import them by module path.
"""

from __future__ import annotations

from .api import ADAPTER_TRAILER, checkout, commit, install_repository_hook, state_of
from .base import Adapter, DictAdapter, MethodAdapter
from .graph import GraphAdapter
from .select import adapter_for, adapter_for_class, register, unregister
from .seed_brain import seed_brain_adapter, seed_brain_spec
from .spec import Attr, Spec, SpecAdapter
from .trust import trust, untrust

__all__ = [
    "ADAPTER_TRAILER",
    "Adapter",
    "Attr",
    "DictAdapter",
    "GraphAdapter",
    "MethodAdapter",
    "Spec",
    "SpecAdapter",
    "adapter_for",
    "adapter_for_class",
    "checkout",
    "commit",
    "install_repository_hook",
    "register",
    "seed_brain_adapter",
    "seed_brain_spec",
    "state_of",
    "trust",
    "unregister",
    "untrust",
]

# Repository.commit(obj) / checkout(rev, into=...) reach this layer through a
# hook, so the repo layer never imports adapters.
install_repository_hook()
