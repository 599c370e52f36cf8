"""Change detection with nothing declared: what differs between the last committed state and this one.

A commit of a live brain used to re-encode the whole state unless the caller
listed the paths it touched (``changed=``). :class:`Baseline` keeps the last
committed *logical* state in memory instead — containers copied, immutable
values (str, int, float, ...) shared with the live state — and :meth:`Baseline.changes`
compares the new state against it, producing the same path trie
:func:`brainvcs.snapshot.incremental.parse_changed` builds from declared paths.
Only what the trie names is then re-encoded.

Exactness matters more than speed: a difference the comparison missed would
not be recorded. Python's ``==`` is not strict enough (``1 == 1.0 == True``,
``0.0 == -0.0``, ``dict == OrderedDict``), so a value counts as unchanged only
when it is the *same object* as the one kept, or a container whose members
are, recursively, or a scalar of the same type with the same value (and the
same sign, for zeros). The fast paths are C loops: ``map(operator.is_, ...)``
over a list, ``compress`` over a dict's values to find the non-identical ones.
Unchanged scalars in a live brain are the very objects the baseline holds, so
the Python work is proportional to the containers and the changed values.
"""

from __future__ import annotations

import math
import operator
from itertools import chain, compress, islice
from typing import Any

from . import tensors
from .incremental import ALL

_SCALARS = (str, int, float, bool, type(None))
_CONTAINERS = (dict, list, tuple)
_TEXT = frozenset({str, type(None)})


class _Texts(list):  # type: ignore[type-arg]
    """A baseline copy of a list holding only str and None: equal to it under ``==`` means the same."""

    __slots__ = ()


class _TextMap(dict):  # type: ignore[type-arg]
    """A baseline copy of a dict whose values are only str and None."""

    __slots__ = ()


#: Baseline-only container types -> the state's type they stand for.
_PLAIN: dict[type, type] = {_Texts: list, _TextMap: dict}
_DICTS = (dict, _TextMap)


def copy_value(value: Any, *, marks: bool = True) -> Any:
    """A copy sharing immutable values: dicts, lists and tuples copied recursively, arrays copied, scalars shared.

    With ``marks`` (the baseline's own copies), containers holding only text
    are copied as :class:`_Texts`/:class:`_TextMap`, against which a later
    ``==`` is exact; such copies are never mutated afterwards. Without, every
    container keeps its type (the Autosaver's captures).
    """
    kind = type(value)
    if kind is dict:
        items: Any = value.values()
    elif kind is list or kind is tuple:
        items = value
    elif tensors.is_array(value):
        return value.copy()
    else:
        return value
    kinds = set(map(type, items))
    if marks and kinds <= _TEXT and kind is not tuple:
        return _TextMap(value) if kind is dict else _Texts(value)
    if _flat(kinds):
        return value.copy() if kind is not tuple else value
    if len(kinds) == 1 and (dict in kinds or list in kinds):
        # A map of records or of lists (the commonest shapes): copied in C.
        inner = set(map(type, chain.from_iterable(map(dict.values, items)) if dict in kinds
                        else chain.from_iterable(items)))
        if _flat(inner):
            text = marks and inner <= _TEXT
            copier: Any = (_TextMap if text else dict.copy) if dict in kinds else (_Texts if text else list.copy)
            copies = map(copier, items)
            return dict(zip(value, copies)) if kind is dict else kind(copies)
    if kind is dict:
        return {key: copy_value(item, marks=marks) for key, item in value.items()}
    return kind(copy_value(item, marks=marks) for item in value)


def _flat(kinds: set[type]) -> bool:
    """True if no value of these types needs copying (no containers, no arrays)."""
    return kinds.isdisjoint(_CONTAINERS) and not any(map(tensors.is_array_type, kinds))


def same(old: Any, new: Any) -> bool:
    """True if ``new`` (from a state) would be stored exactly as ``old`` (from the baseline) is.

    Strict: types, zero signs, arrays' dtype, shape and bytes; NaN is never the same.
    """
    if old is new:
        return True
    kind = type(new)
    old_kind = type(old)
    if old_kind in _PLAIN:
        if _PLAIN[old_kind] is not kind:
            return False
        try:
            return bool(old == new)  # only text inside: equal is the same
        except (ValueError, TypeError):  # an array came in: not text
            return False
    if old_kind is not kind:
        return False
    if kind is dict:
        if len(old) != len(new) or old.keys() != new.keys():
            return False
        keys = list(new)
        olds = list(map(old.__getitem__, keys))
        news = list(new.values())
        return all(map(operator.is_, olds, news)) or all(map(same, olds, news))
    if kind is list or kind is tuple:
        if len(old) != len(new):
            return False
        return all(map(operator.is_, old, new)) or all(map(same, old, new))
    if kind is float:
        # 0.0 is not -0.0; NaN != NaN, so a NaN is re-encoded (and refused where the format refuses it).
        return bool(old == new and (old != 0.0 or math.copysign(1.0, old) == math.copysign(1.0, new)))
    if tensors.is_array(new):
        return bool(old.dtype == new.dtype and old.shape == new.shape and old.tobytes() == new.tobytes())
    if kind in _SCALARS:
        return bool(old == new)
    return False  # an unknown type: never assume it is unchanged


class Baseline:
    """The last committed logical state of one branch, kept to find what the next commit changed."""

    def __init__(self, state: Any, *, adopt: bool = False) -> None:
        # ``adopt``: the caller will never change ``state`` (an Autosaver's private capture): keep it, uncopied.
        self.state = dict(state) if adopt else {module: copy_value(value) for module, value in state.items()}

    def changes(self, state: Any) -> dict[str, Any]:
        """The trie of paths (as :func:`~.incremental.parse_changed` makes) where ``state`` differs from the baseline."""
        return _diff(self.state, dict(state)) or {}

    def advance(self, state: Any, trie: dict[str, Any], *, adopt: bool = False) -> None:
        """Make the baseline equal ``state``, copying only the paths ``trie`` names (none if ``adopt``).

        Containers the baseline holds are never changed in place (a changed
        dict is replaced by a new one), so they may be shared with an adopted state.
        """
        base = {module: value for module, value in self.state.items() if module in state}
        for module, sub in trie.items():
            if module in state:
                base[module] = _apply(base.get(module), state[module], sub, adopt)
        self.state = base


def _diff(old: Any, new: Any) -> Any:
    """None if unchanged; ALL if ``new`` must be re-encoded whole; a sub-trie of changed keys for dicts."""
    if type(old) not in _DICTS or type(new) is not dict:
        return None if same(old, new) else ALL
    # Key order is not compared: a canonical blob sorts keys, and an object
    # graph keeps its dicts' insertion order in its own module (@types).
    sub: dict[Any, Any] = {}
    common: list[Any] = list(old)
    new_keys = list(new)
    kept = len(common)
    if common == new_keys[:kept]:
        # The same keys in the same order, perhaps with new ones appended (the usual shape of growth).
        olds = list(old.values())
        news = list(new.values()) if len(new_keys) == kept else list(islice(new.values(), kept))
        for key in new_keys[kept:]:
            sub[key] = ALL
        try:
            if not sub and old == new:  # one C pass (identical members skipped); only the strict check is left
                return None if _strictly_same(olds, news) else _diff_strict(old, new, common)
        except (ValueError, TypeError):  # a numpy array inside compares element-wise
            return _diff_strict(old, new, common)
    else:
        sub = {key: ALL for key in old.keys() ^ new.keys()}
        present = list(map(old.__contains__, new))  # (in the new order: both dicts are read in sequence)
        common = list(compress(new, present))
        news = list(compress(new.values(), present))
        olds = list(map(old.__getitem__, common))
    # One C pass finds what `==` calls different (identical members are not even looked at);
    # a second proves the rest strictly the same.
    try:
        differ = list(map(operator.truth, map(operator.ne, olds, news)))
    except (ValueError, TypeError):  # a numpy array inside compares element-wise
        sub.update(_diff_strict(old, new, common) or {})
        return sub or None
    for key in compress(common, differ):
        child = _diff(old[key], new[key])
        if child is not None:
            sub[key] = child
    equal = list(map(operator.not_, differ))
    if not _strictly_same(list(compress(olds, equal)), list(compress(news, equal))):
        sub.update(_diff_strict(old, new, compress(common, equal)) or {})
    return sub or None


def _diff_strict(old: dict[Any, Any], new: dict[Any, Any], keys: Any) -> dict[Any, Any] | None:
    """The slow path for keys whose values are equal under ``==``: which are not the same (1 vs 1.0)."""
    sub = {}
    for key in keys:
        if not same(old[key], new[key]):
            sub[key] = _diff(old[key], new[key]) or ALL
    return sub or None


def _strictly_same(olds: list[Any], news: list[Any]) -> bool:
    """For values already equal under ``==``: True if they are also the same to the canonical form.

    Walks both sides level by level with C loops: identical objects are done;
    baseline text containers are done (equal text is the same text);
    containers are flattened into the next level; the few non-identical
    scalars left (a recomputed number) are compared with :func:`same`.
    """
    while olds:
        distinct = list(map(operator.is_not, olds, news))
        if not any(distinct):
            return True
        if not all(distinct):
            olds = list(compress(olds, distinct))
            news = list(compress(news, distinct))
        old_kinds = list(map(type, olds))
        kindset = set(old_kinds)
        if not kindset.isdisjoint(_PLAIN):
            plain = list(map(_PLAIN.get, old_kinds, old_kinds))
            new_kinds = list(map(type, news))
            if plain != new_kinds:
                return False
            pending = list(map(operator.is_, old_kinds, plain))  # text containers are settled
            olds = list(compress(olds, pending))
            news = list(compress(news, pending))
            old_kinds = list(compress(old_kinds, pending))
            kindset = set(old_kinds)
        elif old_kinds != list(map(type, news)):
            return False
        next_olds: list[Any] = []
        next_news: list[Any] = []
        for kind in kindset:
            if len(kindset) == 1:
                group_old, group_new = olds, news
            else:
                pick = [k is kind for k in old_kinds]
                group_old = list(compress(olds, pick))
                group_new = list(compress(news, pick))
            if kind is dict:
                next_olds.extend(chain.from_iterable(map(dict.values, group_old)))
                old_keys = list(chain.from_iterable(group_old))
                new_keys = list(chain.from_iterable(group_new))
                if old_keys == new_keys:
                    next_news.extend(chain.from_iterable(map(dict.values, group_new)))
                elif set(map(type, old_keys)) == set(map(type, new_keys)) == {str}:
                    # The same keys (== said so; str keys, so not 1 for 1.0) in another order somewhere:
                    # the new values read in the old order. (Order is not stored by a dict's own
                    # bytes; an object graph's orders are values of its type table.)
                    getters = map(operator.attrgetter("__getitem__"), group_new)
                    next_news.extend(chain.from_iterable(map(map, getters, group_old)))
                else:
                    return False  # other keys: let the slow path decide
            elif kind is list or kind is tuple:
                next_olds.extend(chain.from_iterable(group_old))
                next_news.extend(chain.from_iterable(group_new))
            elif kind is not str and not all(map(same, group_old, group_new)):
                return False  # (equal strs are the same str; numbers may be 1 vs 1.0 vs True)
        olds, news = next_olds, next_news
    return True


def _apply(old: Any, new: Any, sub: Any, adopt: bool) -> Any:
    """``old`` (from the baseline) made equal to ``new`` along the paths ``sub`` names, copy on write."""
    if adopt and (sub is ALL or type(old) is not dict or type(new) is not dict):
        return new
    if type(old) is list and type(new) is list and old and new:
        return _slide(old, new)
    if sub is ALL or type(old) is not dict or type(new) is not dict:
        return copy_value(new)  # (a _TextMap is re-copied whole: its new values may not be text)
    old = dict(old)
    for key, child in sub.items():
        if key not in new:
            old.pop(key, None)
        else:
            old[key] = _apply(old.get(key), new[key], child, adopt)
    if list(old) != list(new) and old.keys() == new.keys():  # keys added or moved: take the state's
        old = dict(zip(new, map(old.__getitem__, new)))  # order, so the next comparison's fast path holds
    return old


def _slide(old: list[Any], new: list[Any]) -> list[Any]:
    """A copy of ``new`` that reuses ``old``'s copies when ``new`` is ``old`` slid on (a window of memories:
    items dropped from the head, others appended), proved strictly the same; else a fresh copy."""
    try:
        start = old.index(new[0])
        kept = len(old) - start
        if kept <= len(new) and old[start:] == new[:kept] and _strictly_same(old[start:], new[:kept]):
            return old[start:] + [copy_value(item) for item in new[kept:]]
    except (ValueError, TypeError):  # not found, or an array inside compares element-wise
        pass
    return list(copy_value(new))
