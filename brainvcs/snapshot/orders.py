"""Key-order records of object-graph type tables shared between maps (docs/format.md §8, type tables version 2).

Written by the object-graph encoder and rebuilt by the merge of type tables;
kept below both so the merge engine need not import the adapters.
"""

from __future__ import annotations

from typing import Any

__all__ = ["expand_orders", "share_orders"]


def share_orders(table: dict[str, Any]) -> bool:
    """Store each large map's key order once per module: True if a record became an ``{"as": path}`` reference.

    Brains keep parallel maps (vocabulary, word_frequency, context_associations
    grow together), whose insertion orders are one long list recorded several
    times. Every key list recorded more than once is kept at the smallest of
    its paths (code point order, so the result does not depend on the walk)
    and the others refer to it.
    """
    order = table.get("order")
    if not order:
        return False
    lists = sorted((path, record) for path, record in order.items() if type(record) is list)
    if len(lists) < 2:
        return False
    kept: dict[tuple[int, str, str], list[tuple[str, list[str]]]] = {}
    shared = False
    for path, record in lists:
        same_shape = kept.setdefault((len(record), record[0], record[-1]), [])
        for first, keys in same_shape:
            if keys == record:
                order[path] = {"as": first}
                shared = True
                break
        else:
            same_shape.append((path, record))
    return shared


def expand_orders(order: dict[str, Any]) -> dict[str, Any]:
    """``order`` with every ``{"as": path}`` record replaced by the key list at that path; ValueError if malformed."""
    if not any(type(record) is dict for record in order.values()):
        return order
    out = dict(order)
    for path, record in order.items():
        if type(record) is dict:
            reference = record.get("as")
            target = order.get(reference) if set(record) == {"as"} and isinstance(reference, str) else None
            if type(target) is not list:
                raise ValueError(f"the key order at {path!r} refers to no recorded key list")
            out[path] = target
    return out
