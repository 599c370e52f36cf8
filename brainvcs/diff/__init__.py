"""Semantic diffs of brain snapshots: what was learned, forgotten and changed.

A pure engine (no repository access): :func:`diff_snapshots` compares two
snapshots read through :class:`~brainvcs.snapshot.layout.TreeReader` and returns a
:class:`BrainDiff`; :mod:`.render` shows it as text or JSON and :mod:`.summary`
turns it into one line. ``brainvcs.diff.api`` offers the same by revision name.
"""

from __future__ import annotations

from .engine import diff_snapshots
from .model import (BrainDiff, Change, CounterRecord, Endpoint, FloatRecord, KeyItem, KeysRecord, ListItem,
                    ListRecord, ModuleDiff, Record, TensorRecord, ValueRecord)
from .render import render_text, to_json
from .summary import brain_summary, module_summary, summarize_snapshots

__all__ = [
    "BrainDiff", "Change", "CounterRecord", "Endpoint", "FloatRecord", "KeyItem", "KeysRecord", "ListItem",
    "ListRecord", "ModuleDiff", "Record", "TensorRecord", "ValueRecord", "brain_summary", "diff_snapshots",
    "module_summary", "render_text", "summarize_snapshots", "to_json",
]
