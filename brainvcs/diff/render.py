"""Showing a :class:`BrainDiff`: text for people (optionally coloured) and a stable JSON document.

JSON schema (every object has a ``type``)::

    {"type": "brain_diff", "old": {"rev", "commit"} | null, "new": {...} | null,
     "initial": bool, "path": str | null, "tolerance": float, "limit": int | null,
     "summary": str, "modules": [
       {"type": "module", "module": str, "status": "added|removed|modified", "summary": str,
        "records": [record, ...]}]}

Records (``path`` is the pattern, ``*`` standing for the keys of a map;
``items`` are cut to ``limit``, the counts are always complete):

* ``keys``: ``map``, ``added``, ``removed`` (counts), ``added_items``/``removed_items``: [{"path", "key", "value"}]
* ``counter``: ``changed``, ``increased``, ``decreased``, ``total_delta``,
  ``items``: [{"path", "old", "new", "delta"}] largest movers first
* ``float``: the same plus ``ignored`` (below tolerance), ``mean_delta``, ``mean_abs_delta``, ``max_abs_delta``
* ``list``: ``lists``, ``old_count``, ``new_count``, ``appended``, ``dropped``, ``inserted``, ``removed``,
  ``changed``, ``items``: [{"path", "op", "value"} | {"path", "op": "change", "old", "new"}]
* ``tensor``: ``old``/``new``: {"dtype", "shape"}, ``elements``, ``changed``, ``ignored``, ``l2``, ``max_abs``
* ``value``: ``changed``, ``items``: [{"path", "old", "new"}]
"""

from __future__ import annotations

import re
from typing import Any

from .model import (BrainDiff, Change, CounterRecord, Endpoint, FloatRecord, KeysRecord, ListRecord, ModuleDiff,
                    Record, TensorRecord, ValueRecord)
from .summary import number_pair, brain_summary, label, module_summary, plural, short, signed

#: Items shown per record unless told otherwise.
DEFAULT_LIMIT = 10
_LIST_OPS = ("append", "drop", "insert", "remove", "change")
_LIST_WORDS = {"append": "appended", "drop": "dropped from head", "insert": "inserted", "remove": "removed",
               "change": "changed"}


# --------------------------------------------------------------------------
# JSON


def cut_items(items: list[Any], limit: int | None) -> list[Any]:
    """The first ``limit`` items (all when ``limit`` is None or 0)."""
    return items if limit is None or limit <= 0 else items[:limit]


def _endpoint(end: Endpoint | None) -> dict[str, Any] | None:
    return None if end is None else {"rev": end.rev, "commit": end.commit}


def _change(item: Change, *, delta: bool) -> dict[str, Any]:
    out = {"path": item.path, "old": item.old, "new": item.new}
    if delta:
        out["delta"] = item.delta
    return out


def record_json(record: Record, *, limit: int | None = None) -> dict[str, Any]:
    """One record as a JSON-ready dict (see the module docstring for the schema)."""
    out: dict[str, Any] = {"type": record.type, "path": record.path}
    if isinstance(record, KeysRecord):
        out.update({"map": record.map_like, "added": len(record.added), "removed": len(record.removed),
                    "added_items": [{"path": i.path, "key": i.key, "value": i.value} for i in cut_items(record.added, limit)],
                    "removed_items": [{"path": i.path, "key": i.key, "value": i.value}
                                      for i in cut_items(record.removed, limit)]})
    elif isinstance(record, CounterRecord):
        out.update({"changed": len(record.items), "increased": record.increased, "decreased": record.decreased,
                    "total_delta": record.total_delta,
                    "items": [_change(i, delta=True) for i in cut_items(record.movers(), limit)]})
    elif isinstance(record, FloatRecord):
        out.update({"changed": len(record.items), "increased": record.increased, "decreased": record.decreased,
                    "ignored": record.ignored, "mean_delta": record.mean_delta,
                    "mean_abs_delta": record.mean_abs_delta, "max_abs_delta": record.max_abs_delta,
                    "items": [_change(i, delta=True) for i in cut_items(record.movers(), limit)]})
    elif isinstance(record, ListRecord):
        out.update({"lists": record.lists, "old_count": record.old_count, "new_count": record.new_count})
        out.update({_LIST_WORDS[op].split()[0]: record.count(op) for op in _LIST_OPS})
        out["items"] = [{"path": i.path, "op": i.op, "old": i.old, "new": i.value} if i.op == "change"
                        else {"path": i.path, "op": i.op, "value": i.value} for i in cut_items(record.items, limit)]
    elif isinstance(record, TensorRecord):
        out.update({"old": record.old, "new": record.new, "elements": record.elements, "changed": record.changed,
                    "ignored": record.ignored, "l2": record.l2, "max_abs": record.max_abs})
    else:
        assert isinstance(record, ValueRecord)
        out.update({"changed": len(record.items),
                    "items": [_change(i, delta=False) for i in cut_items(sorted(record.items, key=lambda c: c.path),
                                                                    limit)]})
    return out


def to_json(diff: BrainDiff, *, limit: int | None = None) -> dict[str, Any]:
    """The whole diff as a JSON-ready dict; ``limit`` cuts each record's items (None: all)."""
    return {
        "type": "brain_diff", "old": _endpoint(diff.old), "new": _endpoint(diff.new), "initial": diff.initial,
        "path": diff.path, "tolerance": diff.tolerance, "limit": limit if limit and limit > 0 else None,
        "summary": brain_summary(diff),
        "modules": [{"type": "module", "module": m.module, "status": m.status, "summary": module_summary(m),
                     "records": [record_json(r, limit=limit) for r in m.records]} for m in diff.modules],
    }


# --------------------------------------------------------------------------
# Text

_STYLES = {"bold": "1", "green": "32", "red": "31", "cyan": "36", "yellow": "33", "dim": "2"}


class Painter:
    """Colours text for a terminal, or leaves it plain."""

    def __init__(self, color: bool) -> None:
        self.color = color

    def __call__(self, text: str, style: str) -> str:
        if not self.color:
            return text
        return f"\x1b[{_STYLES[style]}m{text}\x1b[0m"


def stat_line(record: Record) -> str:
    """What one record counts, in one line."""
    if isinstance(record, KeysRecord):
        parts = []
        if record.added:
            parts.append(f"{len(record.added)} {plural('key', len(record.added))} added")
        if record.removed:
            parts.append(f"{len(record.removed)} {plural('key', len(record.removed))} removed")
        return ", ".join(parts)
    if isinstance(record, CounterRecord):
        n = len(record.items)
        return (f"{n} {plural('counter', n)} changed, total {record.total_delta:+d} "
                f"({record.increased} up, {record.decreased} down)")
    if isinstance(record, FloatRecord):
        n = len(record.items)
        below = f"{record.ignored} below tolerance" if record.ignored else ""
        if not n:
            return f"{record.ignored} {plural('change', record.ignored)} below tolerance"
        text = (f"{n} {plural('float', n)} changed ({record.increased} up, {record.decreased} down), "
                f"mean {signed(record.mean_delta)}, mean |Δ| {record.mean_abs_delta:.3g}, "
                f"max |Δ| {record.max_abs_delta:.3g}")
        return f"{text}; {below}" if below else text
    if isinstance(record, ListRecord):
        parts = [f"{'+' if op == 'append' else ''}{record.count(op)} {_LIST_WORDS[op]}"
                 for op in _LIST_OPS if record.count(op)]
        where = f" in {record.lists} lists" if record.lists > 1 else ""
        return f"{record.old_count} → {record.new_count} items: {', '.join(parts) or 'reordered'}{where}"
    if isinstance(record, TensorRecord):
        old, new = record.old or {}, record.new or {}
        shape = f"{old.get('dtype')} {tuple(old.get('shape', []))}"
        if old != new:
            shape += f" → {new.get('dtype')} {tuple(new.get('shape', []))}"
        if record.changed is None or record.l2 is None or record.max_abs is None:
            return f"tensor {shape}"
        text = (f"tensor {shape}: {record.changed} of {record.elements} elements changed, "
                f"L2 {record.l2:.4g}, max |Δ| {record.max_abs:.4g}")
        return text + (f"; {record.ignored} below tolerance" if record.ignored else "")
    n = len(record.items)
    return f"{n} {plural('value', n)} changed"


def item_lines(record: Record, paint: Painter) -> list[str]:
    """The item lines of one record (added/removed keys, moved values), largest changes first."""
    pattern = record.path
    if isinstance(record, KeysRecord):
        return ([paint(f"+ {label(i.path, pattern + '.*')}: {short(i.value, 60)}", "green") for i in record.added]
                + [paint(f"- {label(i.path, pattern + '.*')}: {short(i.value, 60)}", "red") for i in record.removed])
    if isinstance(record, CounterRecord):
        return [f"{label(i.path, pattern)}: {i.old} → {i.new} ({int(i.delta):+d})" for i in record.movers()]
    if isinstance(record, FloatRecord):
        return [f"{label(i.path, pattern)}: {' → '.join(number_pair(i.old, i.new))} ({signed(i.delta)})"
                for i in record.movers()]
    if isinstance(record, ListRecord):
        lines = []
        for item in record.items:
            where = f"{label(item.path, pattern)}: " if "*" in pattern else ""
            if item.op == "change":
                lines.append(paint(f"~ {where}{short(item.old, 40)} → {short(item.value, 40)}", "yellow"))
            elif item.op in ("append", "insert"):
                word = "" if item.op == "append" else "inserted "
                lines.append(paint(f"+ {where}{word}{short(item.value, 70)}", "green"))
            else:
                word = "" if item.op == "drop" else "removed "
                lines.append(paint(f"- {where}{word}{short(item.value, 70)}", "red"))
        return lines
    if isinstance(record, ValueRecord):
        return [f"{label(i.path, pattern)}: {short(i.old)} → {short(i.new)}"
                for i in sorted(record.items, key=lambda c: c.path)]
    return []


def shown_path(record: Record, module: ModuleDiff) -> str:
    """A record's path as shown under its module's heading."""
    prefix = record.path[:len(module.module)]
    rest = record.path[len(module.module):]
    if prefix == module.module and rest.startswith("."):
        return rest[1:]
    return record.path


def render_module(module: ModuleDiff, *, limit: int | None = DEFAULT_LIMIT, stat: bool = False,
                  color: bool = False) -> list[str]:
    """The lines of one module: a summary header, then one line per record (and its items)."""
    paint = Painter(color)
    lines = [f"{paint(module.module, 'bold')}: {module_summary(module)}"]
    for record in module.records:
        lines.append(f"  {paint(shown_path(record, module), 'cyan')}: {stat_line(record)}")
        if stat:
            continue
        items = item_lines(record, paint)
        shown = cut_items(items, limit)
        lines.extend(f"    {line}" for line in shown)
        if len(items) > len(shown):
            lines.append(paint(f"    … and {len(items) - len(shown)} more", "dim"))
    return lines


def render_text(diff: BrainDiff, *, limit: int | None = DEFAULT_LIMIT, stat: bool = False,
                color: bool = False) -> str:
    """The diff for a terminal: header, brain summary, then each module (``stat``: no items)."""
    paint = Painter(color)
    lines = []
    if diff.old is not None or diff.new is not None:
        lines.append(paint(f"diff {side_label(diff.old)} → {side_label(diff.new)}", "yellow"))
    lines.append(f"{paint('summary', 'bold')}: {brain_summary(diff)}")
    for module in diff.modules:
        lines.append("")
        lines.extend(render_module(module, limit=limit, stat=stat, color=color))
    return "\n".join(lines) + "\n"


def side_label(end: Endpoint | None) -> str:
    """One side of a diff as its header names it: ``v1 (9723f13)``, ``(empty)``."""
    if end is None:
        return "(empty)"
    if end.commit is None or end.rev == end.commit:
        return end.rev if end.commit is None else end.commit[:7]
    rev = _FULL_ID.sub(lambda m: m.group(0)[:7], end.rev)  # `<40 hex>^` reads better as `abc1234^`
    return f"{rev} ({end.commit[:7]})"


_FULL_ID = re.compile(r"\b[0-9a-f]{40}\b")
