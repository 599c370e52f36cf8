"""ZODB as a peer: what people pick to persist a live Python object graph incrementally.

The same brain is held the way a ZODB user would hold it: the root maps module
names to ``PersistentMapping``s; every map of 1,000 keys or more is an
``OOBTree`` (persistent buckets, so a change rewrites the buckets it touched);
everything else is plain data pickled with its persistent parent. A change is
applied the way ZODB requires — by assigning the changed value to its
persistent container, which marks it — and only ``transaction.commit()`` is
timed, as brainvcs's commit is.

ZODB stores pickles; it is measured here and never used by brainvcs.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

BTREE_MIN_KEYS = 1000


def available() -> bool:
    """True if ZODB and BTrees can be imported (``pip install ZODB``)."""
    try:
        import BTrees  # noqa: F401
        import ZODB  # noqa: F401
    except ImportError:
        return False
    return True


class ZodbBrain:
    """A brain state held in a ZODB FileStorage at ``path``."""

    def __init__(self, path: Path) -> None:
        import ZODB
        import ZODB.FileStorage

        self.path = path
        self.db = ZODB.DB(ZODB.FileStorage.FileStorage(str(path)))
        self.connection = self.db.open()
        self.root = self.connection.root()

    def close(self) -> None:
        """Close the connection and the database."""
        self.connection.close()
        self.db.close()

    @staticmethod
    def convert(value: Any) -> Any:
        """``value`` as a ZODB user would store it (maps as OOBTrees, dicts as PersistentMappings)."""
        from BTrees.OOBTree import OOBTree
        from persistent.mapping import PersistentMapping

        if type(value) is dict and len(value) >= BTREE_MIN_KEYS:
            tree = OOBTree()
            tree.update(value)
            return tree
        if type(value) is dict:
            return PersistentMapping({key: ZodbBrain.convert(item) for key, item in value.items()})
        return value

    def store(self, state: dict[str, Any]) -> float:
        """Put the whole state in and commit; returns the commit's seconds."""
        for module, value in state.items():
            self.root[module] = self.convert(value)
        return self.commit()

    def apply(self, state: dict[str, Any], paths: Iterable[tuple[str, ...]]) -> None:
        """Mark what a learning step changed (paths as the workloads report them)."""
        from BTrees.OOBTree import OOBTree

        for path in paths:
            module = path[0]
            if len(path) == 1 or module not in self.root or not hasattr(self.root[module], "keys"):
                self.root[module] = self.convert(state[module])
                continue
            holder = self.root[module]
            source = state[module]
            if len(path) == 2 or not isinstance(holder.get(path[1]), OOBTree):
                holder[path[1]] = self.convert(source[path[1]])
                continue
            tree, values = holder[path[1]], source[path[1]]
            if path[2] in values:
                tree[path[2]] = values[path[2]]
            elif path[2] in tree:
                del tree[path[2]]

    def commit(self) -> float:
        """``transaction.commit()``, timed."""
        import transaction

        start = time.perf_counter()
        transaction.commit()
        return time.perf_counter() - start

    def size(self) -> int:
        """Bytes of the FileStorage (history kept: no pack)."""
        return self.path.stat().st_size


def full_load(path: Path) -> float:
    """Open the storage afresh and load every object (a full checkout); returns seconds."""
    import ZODB
    import ZODB.FileStorage

    start = time.perf_counter()
    db = ZODB.DB(ZODB.FileStorage.FileStorage(str(path), read_only=True))
    connection = db.open()
    try:
        _touch(connection.root())
    finally:
        connection.close()
        db.close()
    return time.perf_counter() - start


def _touch(value: Any) -> None:
    """Unghost every persistent object below ``value``."""
    from BTrees.OOBTree import OOBTree

    if isinstance(value, OOBTree):
        for _ in value.items():
            pass
    elif hasattr(value, "items"):
        for item in list(value.values()):
            _touch(item)
