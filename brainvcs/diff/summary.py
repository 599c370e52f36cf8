"""One-line learning summaries: per record, per module, for the whole brain.

"+37 words, 120 connections strengthened (mean +0.021), episodic memory +9".
Phrases come from each record's kind and the name at the end of its path
pattern; the brain summary puts the most telling changes first (keys learned
or forgotten, tensors, weights, counters, lists, other values).
"""

from __future__ import annotations

import json
from typing import Any

from ..errors import BrainVCSError
from ..snapshot.layout import TreeReader
from .model import (TYPE_ORDER, BrainDiff, CounterRecord, FloatRecord, KeysRecord, ListRecord, ModuleDiff, Record,
                    TensorRecord, ValueRecord)

#: At most this many phrases in a summary line; the rest is counted.
MAX_PHRASES = 6
_WEIGHT_NOUNS = ("connection", "weight", "synapse", "edge")


def segments_name(pattern: str) -> str:
    """The name a pattern ends with, wildcards skipped: ``neurons.*.connections.*`` -> ``connections``."""
    parts = [p for p in pattern.replace("[*]", ".*").split(".") if p and p != "*"]
    name = parts[-1] if parts else pattern
    if name.startswith('["') or name.startswith("["):
        try:
            name = str(json.loads(name.strip("[]")))
        except ValueError:
            pass
    return name.replace("_", " ")


def singular(noun: str) -> str:
    """``connections`` -> ``connection``, ``memories`` -> ``memory`` (English, roughly)."""
    if noun.endswith("ies") and len(noun) > 4:
        return noun[:-3] + "y"
    if noun.endswith("s") and not noun.endswith("ss") and len(noun) > 2:
        return noun[:-1]
    return noun


def plural(noun: str, count: int) -> str:
    """``noun`` for ``count`` things (``1 word``, ``2 words``)."""
    noun = singular(noun)
    if count == 1:
        return noun
    if noun.endswith("y") and noun[-2:-1] not in ("a", "e", "i", "o", "u"):
        return noun[:-1] + "ies"
    if noun.endswith(("s", "x", "ch", "sh")):
        return noun + "es"
    return noun + "s"


def signed(x: float) -> str:
    """A compact signed number: ``+0.021``, ``-1.5``, ``+1200``."""
    if abs(x) >= 1000:
        return f"{x:+.0f}"
    return f"{x:+.3g}"


def number_pair(old: float, new: float) -> tuple[str, str]:
    """Two floats in their shortest meaningful form: 4 significant digits, more only to tell them apart.

    ``0.57377 → 0.5726``, not ``0.5725994999999999``; ``1.00001 → 1.00002``
    keeps the digits that differ.
    """
    for digits in range(4, 18):
        a, b = f"{old:.{digits}g}", f"{new:.{digits}g}"
        if a != b or old == new:
            return a, b
    return repr(old), repr(new)


def short(value: Any, width: int = 40) -> str:
    """A value as compact JSON, cut to ``width`` characters."""
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= width else text[:width - 1] + "…"


def label(path: str, pattern: str) -> str:
    """A concrete path shown relative to its pattern (``hello`` for ``…word_frequency.*``)."""
    star = pattern.find("*")
    if star == -1:
        cut = max(pattern.rfind("."), pattern.rfind("["))
        prefix = pattern[:cut + 1] if cut >= 0 and pattern[cut] == "." else pattern[:max(cut, 0)]
    else:
        prefix = pattern[:star - 1] if pattern[star - 1:star] == "[" else pattern[:star]
    if prefix and path.startswith(prefix):
        return path[len(prefix):]
    if prefix.endswith(".") and path.startswith(prefix[:-1] + "["):  # a quoted key: keep its brackets
        return path[len(prefix) - 1:]
    return path


def _key_noun(record: KeysRecord) -> str:
    name = segments_name(record.path)
    if "vocab" in name or "word" in name:
        return "word"
    if not record.map_like or record.path.endswith("*"):
        return f"{name} key"
    return name


def record_phrases(record: Record) -> list[str]:
    """The summary phrases of one record (none when every change was below tolerance)."""
    name = segments_name(record.path)
    if isinstance(record, KeysRecord):
        noun = _key_noun(record)
        out = []
        if record.added:
            out.append(f"+{len(record.added)} {plural(noun, len(record.added))}")
        if record.removed:
            out.append(f"-{len(record.removed)} {plural(noun, len(record.removed))}")
        return out
    if isinstance(record, CounterRecord):
        if len(record.items) == 1:
            return [_single(name, record.path, record.items[0].path, record.items[0].old, record.items[0].new)]
        return [f"{name} {record.total_delta:+d} ({len(record.items)} changed)"]
    if isinstance(record, FloatRecord):
        return _float_phrases(name, record)
    if isinstance(record, ListRecord):
        return [_list_phrase(name, record)]
    if isinstance(record, TensorRecord):
        return [_tensor_phrase(name, record)]
    assert isinstance(record, ValueRecord)
    if len(record.items) == 1:
        item = record.items[0]
        return [_single(name, record.path, item.path, short(item.old, 24), short(item.new, 24))]
    return [f"{name}: {len(record.items)} values changed"]


def _single(name: str, pattern: str, path: str, old: Any, new: Any) -> str:
    """``step 10 → 11``; under a wildcard the concrete place: ``n2.threshold 0.75 → 0.625``."""
    if "*" not in pattern:
        return f"{name} {old} → {new}"
    where = label(path, pattern)
    if "." in where or "[" in where:  # the place already names what changed
        return f"{where} {old} → {new}"
    return f"{name} {where} {old} → {new}"


def _float_phrases(name: str, record: FloatRecord) -> list[str]:
    n = len(record.items)
    if n == 0:
        return []
    if n == 1:
        item = record.items[0]
        return [_single(name, record.path, item.path, *number_pair(item.old, item.new))]
    weights = any(w in name for w in _WEIGHT_NOUNS)
    if record.decreased == 0:
        verb = "strengthened" if weights else "increased"
    elif record.increased == 0:
        verb = "weakened" if weights else "decreased"
    else:
        verb = "changed"
    return [f"{n} {plural(name, n)} {verb} (mean {signed(record.mean_delta)})"]


def _list_phrase(name: str, record: ListRecord) -> str:
    parts = []
    appended, dropped = record.count("append"), record.count("drop")
    if appended:
        parts.append(f"+{appended}")
    if dropped:
        parts.append(f"{dropped} rolled off")
    for op, word in (("insert", "inserted"), ("remove", "removed"), ("change", "changed")):
        if record.count(op):
            parts.append(f"{record.count(op)} {word}")
    text = f"{name} {', '.join(parts)}" if parts else f"{name} changed"
    return text + (f" ({record.lists} lists)" if record.lists > 1 else "")


def _tensor_phrase(name: str, record: TensorRecord) -> str:
    old, new = record.old or {}, record.new or {}
    if old.get("shape") != new.get("shape"):
        return f"{name} reshaped {tuple(old.get('shape', []))} → {tuple(new.get('shape', []))}"
    if old.get("dtype") != new.get("dtype"):
        return f"{name} dtype {old.get('dtype')} → {new.get('dtype')}"
    if record.changed is None or record.l2 is None:
        return f"{name} changed"
    return f"{name}: {record.changed}/{record.elements} changed (L2 {record.l2:.3g})"


def _ranked(modules: list[ModuleDiff]) -> list[str]:
    """Every phrase of ``modules``, most telling first, identical key sets said once.

    Order: modules added or removed, words learned or forgotten, other keys,
    then every other change by how many values it covers (ties by kind).
    """
    entries: list[list[Any]] = []  # [group, -weight, kind, order, phrase]
    seen_keys: dict[tuple[tuple[str, ...], tuple[str, ...]], list[Any]] = {}
    for module in modules:
        if module.status != "modified":
            word = "new" if module.status == "added" else "removed"
            entries.append([0, 0, 0, len(entries), f"{word} module {module.module}"])
            continue
        for record in module.records:
            phrases = record_phrases(record)
            if not phrases:
                continue
            weight = _weight(record)
            if isinstance(record, KeysRecord):
                # Words learned show up in vocabulary, frequencies and contexts alike: say it once,
                # as words, and first: that is what a reader of a language brain looks for.
                words = _key_noun(record) == "word"
                entry = [1 if words else 2, -weight, 0, len(entries), ", ".join(phrases)]
                signature = (tuple(sorted(i.key for i in record.added)), tuple(sorted(i.key for i in record.removed)))
                earlier = seen_keys.get(signature)
                if earlier is None:
                    seen_keys[signature] = entry
                    entries.append(entry)
                elif words and earlier[0] != 1:
                    earlier[0], earlier[4] = entry[0], entry[4]
                continue
            for phrase in phrases:
                entries.append([3, -weight, TYPE_ORDER[record.type], len(entries), phrase])
    return [entry[4] for entry in sorted(entries)]


def _weight(record: Record) -> int:
    if isinstance(record, KeysRecord):
        return len(record.added) + len(record.removed)
    if isinstance(record, ListRecord):
        return len(record.items)
    if isinstance(record, TensorRecord):
        return record.changed or 0
    return len(record.items)


def _join(phrases: list[str], limit: int) -> str:
    if len(phrases) <= limit:
        return ", ".join(phrases)
    return ", ".join(phrases[:limit]) + f", and {len(phrases) - limit} more"


def module_summary(module: ModuleDiff, *, limit: int = MAX_PHRASES) -> str:
    """One line saying what changed in one module."""
    if module.status == "added":
        return "new module"
    if module.status == "removed":
        return "module removed"
    phrases = _ranked([module])
    if phrases:
        return _join(phrases, limit)
    if any(isinstance(r, (FloatRecord, TensorRecord)) and r.ignored for r in module.records):
        return "only changes below tolerance"
    return "no semantic change (same values, different encoding)"


def brain_summary(diff: BrainDiff, *, limit: int = MAX_PHRASES) -> str:
    """One line saying what changed in the whole brain."""
    if not diff.modules:
        return "no changes"
    if diff.initial and diff.path is None:
        names = [m.module for m in diff.modules]
        return f"new brain: {len(names)} {plural('module', len(names))} ({_join(names, limit)})"
    phrases = _ranked(diff.modules)
    if not phrases:
        return "; ".join(f"{m.module}: {module_summary(m)}" for m in diff.modules)
    return _join(phrases, limit)


def summarize_snapshots(old: TreeReader | None, new: TreeReader) -> str:
    """The learning summary of going from snapshot ``old`` (None: nothing) to ``new``.

    Used for commit messages, so it never fails a commit: if ``old`` cannot be
    read as a brainvcs snapshot, the summary says so instead.
    """
    from .engine import diff_snapshots

    try:
        result = diff_snapshots(old, new)
    except BrainVCSError as exc:
        if old is None:
            raise
        return f"no learning summary: the parent snapshot cannot be compared ({exc.message})"
    return brain_summary(result)
