"""The seed's option 1 (``BrainStateSerializer`` JSON files) <-> brainvcs states.

State layout: every top-level section of the document becomes a module of the
same name with its value unchanged (``metadata``, ``language_module``,
``memory_module``, ``response_generator``, ``brain_history``,
``cognitive_metrics``, ``learning_stats``, and any extra section the file has).
Nothing is converted, so export is the identity: strings that the seed wrote
with ``default=str`` stay strings, and floats keep every bit.

This module also holds the JSON-value checks that ``seed_sqlite`` reuses for the
JSON columns of the seed's database.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Union

from brainvcs.errors import BrainVCSError, InputFileError, InvalidStateError
from brainvcs.files import atomic_write

__all__ = [
    "SeedJsonImport",
    "read_seed_json_file",
    "seed_json_from_state",
    "state_from_seed_json",
    "write_seed_json_file",
]

JsonPath = tuple[Union[str, int], ...]

MODULE_NAME = re.compile(r"[a-z0-9][a-z0-9_]*")
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


class JsonValueProblem(Exception):
    """A value that cannot be part of a state; callers prefix the file or state name."""

    def __init__(self, path: JsonPath, problem: str, hint: str | None = None) -> None:
        super().__init__(f"{format_json_path(path)}: {problem}")
        self.path = path
        self.problem = problem
        self.hint = hint

    def located(self, source: str) -> str:
        """The message with ``source`` (a file name) in front of the path."""
        if not self.path:
            return f"{source}: {self.problem}"
        return f"{source}: {format_json_path(self.path)}: {self.problem}"


def format_json_path(path: JsonPath) -> str:
    """``('language_module', 'word_frequency', 'hello')`` -> ``language_module.word_frequency.hello``."""
    out: list[str] = []
    for part in path:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif part and all(c.isalnum() or c in "_-" for c in part):  # the same rule as canonical's paths
            out.append(f".{part}" if out else part)
        else:
            out.append(f"[{json.dumps(part, ensure_ascii=False)}]")
    return "".join(out) or "<top level>"


def kind_of(value: Any) -> str:
    """The JSON name of a value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return f"a Python {type(value).__name__}"


class _Refused:
    """Left by the parser where a value cannot be stored, so the walker can name its path."""

    __slots__ = ("problem", "hint")

    def __init__(self, problem: str, hint: str | None = None) -> None:
        self.problem = problem
        self.hint = hint


NON_FINITE_HINT = "replace it with null or a finite number, then import again"


def _refuse_constant(name: str) -> _Refused:
    # Python's json writes float('nan') as the bare literal NaN; brainvcs cannot store it.
    return _Refused(f"{name} is not allowed: brainvcs stores only finite numbers", NON_FINITE_HINT)


def _parse_float(text: str) -> float | _Refused:
    value = float(text)
    if math.isfinite(value):
        return value
    return _Refused(f"{text} does not fit in a 64-bit float", NON_FINITE_HINT)


def _parse_int(text: str) -> int | _Refused:
    # Past 19 digits it cannot fit in 64 bits; converting could even hit Python's digit limit.
    if len(text.lstrip("-")) > 19:
        return _Refused(f"integer {text[:24]}{'...' if len(text) > 24 else ''} does not fit in 64 bits")
    return int(text)


def _pairs_to_dict(pairs: list[tuple[str, Any]]) -> dict[str, Any] | _Refused:
    result = dict(pairs)
    if len(result) == len(pairs):
        return result
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            # json.loads would keep the last value silently: importing would lose data.
            return _Refused(f"key {key!r} appears more than once",
                            "a JSON reader keeps only the last value; remove or rename the duplicates")
        seen.add(key)
    raise AssertionError("unreachable")  # pragma: no cover


def parse_json_text(text: str) -> Any:
    """Parse JSON like ``json.loads`` but leave unstorable values for ``copy_json_value`` to report."""
    return json.loads(
        text,
        parse_constant=_refuse_constant,
        parse_float=_parse_float,
        parse_int=_parse_int,
        object_pairs_hook=_pairs_to_dict,
    )


def copy_json_value(value: Any, path: JsonPath) -> Any:
    """A deep copy of ``value`` made of state types only; raise ``JsonValueProblem`` otherwise."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise JsonValueProblem(path, "string holds a lone surrogate, which is not valid Unicode") from None
        return str(value)
    if isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            raise JsonValueProblem(path, f"integer {value} does not fit in 64 bits")
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise JsonValueProblem(
                path, f"{value!r} is not allowed: brainvcs stores only finite numbers", NON_FINITE_HINT)
        return float(value)
    if isinstance(value, dict):
        copied: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise JsonValueProblem(path, f"key {key!r} is not a string")
            copied[copy_json_value(key, path + (key,))] = copy_json_value(item, path + (key,))
        return copied
    if isinstance(value, list):
        return [copy_json_value(item, path + (index,)) for index, item in enumerate(value)]
    if isinstance(value, _Refused):
        raise JsonValueProblem(path, value.problem, value.hint)
    raise JsonValueProblem(path, f"{kind_of(value)} is not a JSON value")


def loads_json_value(text: str) -> Any:
    """Parse JSON text into a checked state value (``json.JSONDecodeError`` or ``JsonValueProblem``)."""
    try:
        return copy_json_value(parse_json_text(text), ())
    except RecursionError:
        raise JsonValueProblem((), "JSON is nested too deeply") from None


# --- the seed document's shape ------------------------------------------------
# A spec both checks a value and, on export, puts known keys back in the order
# the seed writes them (brainvcs stores objects with sorted keys).


class Spec:
    """What a JSON value must look like; the base class accepts any value."""

    def check(self, value: Any, path: JsonPath) -> None:
        """Raise ``JsonValueProblem`` if ``value`` does not fit."""

    def ordered(self, value: Any) -> Any:
        """``value`` with the keys of known objects in the seed's order."""
        return value


class Scalar(Spec):
    """A leaf of the given Python types (bool never counts as a number)."""

    def __init__(self, name: str, *types: type) -> None:
        self.name = name
        self.types = types

    def check(self, value: Any, path: JsonPath) -> None:
        if isinstance(value, bool) != (bool in self.types) or not isinstance(value, self.types):
            raise JsonValueProblem(path, f"expected {self.name}, got {kind_of(value)}")


class ListOf(Spec):
    """An array whose items all fit ``item``."""

    def __init__(self, item: Spec) -> None:
        self.item = item

    def check(self, value: Any, path: JsonPath) -> None:
        if not isinstance(value, list):
            raise JsonValueProblem(path, f"expected an array, got {kind_of(value)}")
        for index, item in enumerate(value):
            self.item.check(item, path + (index,))

    def ordered(self, value: Any) -> Any:
        return [self.item.ordered(item) for item in value]


class MapOf(Spec):
    """An object with free keys whose values all fit ``item``."""

    def __init__(self, item: Spec) -> None:
        self.item = item

    def check(self, value: Any, path: JsonPath) -> None:
        if not isinstance(value, dict):
            raise JsonValueProblem(path, f"expected an object, got {kind_of(value)}")
        for key, item in value.items():
            self.item.check(item, path + (key,))

    def ordered(self, value: Any) -> Any:
        return {key: self.item.ordered(item) for key, item in value.items()}


class Record(Spec):
    """An object with known fields, in the seed's order; unknown keys are kept as they are."""

    def __init__(self, *fields: tuple[str, Spec, bool]) -> None:
        self.fields = fields

    def check(self, value: Any, path: JsonPath) -> None:
        if not isinstance(value, dict):
            raise JsonValueProblem(path, f"expected an object, got {kind_of(value)}")
        for name, spec, required in self.fields:
            if name in value:
                spec.check(value[name], path + (name,))
            elif required:
                what = "section" if not path else "field"
                raise JsonValueProblem(path, f"missing required {what} {name!r}")

    def ordered(self, value: Any) -> Any:
        known = {name: spec for name, spec, _ in self.fields}
        result = {name: known[name].ordered(value[name]) for name in known if name in value}
        result.update((key, item) for key, item in value.items() if key not in known)
        return result


ANY = Spec()
INTEGER = Scalar("an integer", int)
NUMBER = Scalar("a number", int, float)
STRING = Scalar("a string", str)
BOOLEAN = Scalar("a boolean", bool)

# Required = what the seed's own restore_brain_from_state reads with [];
# everything else is typed when present but may be missing.
NEURON = Record(
    ("threshold", NUMBER, True),
    ("membrane_potential", NUMBER, True),
    ("connections", MapOf(NUMBER), True),
    ("learning_rate", NUMBER, True),
    ("spike_count", INTEGER, False),
)
SEED_DOCUMENT = Record(
    ("metadata", Record(*((name, STRING, False) for name in (
        "session_name", "saved_at", "version", "brain_type", "serializer"))), False),
    ("language_module", Record(
        ("vocabulary", MapOf(MapOf(ANY)), True),
        ("word_frequency", MapOf(INTEGER), True),
        ("context_associations", MapOf(ListOf(STRING)), True),
        ("neuron_states", MapOf(NEURON), True),
    ), True),
    ("memory_module", Record(
        ("working_memory", ListOf(Record(
            ("content", STRING, False), ("neural_pattern", ANY, False), ("timestamp", NUMBER, False))), True),
        ("episodic_memory", ListOf(ANY), True),
        ("module_active", BOOLEAN, True),
    ), True),
    ("response_generator", Record(
        ("response_memory", ListOf(Record(
            ("input", STRING, False), ("response", STRING, False), ("timestamp", NUMBER, False))), True),
        ("conversation_context", MapOf(ANY), True),
    ), True),
    ("brain_history", ListOf(Record(
        ("timestamp", NUMBER, False), ("input_text", STRING, False),
        ("neural_intensity", NUMBER, False), ("cognitive_load", NUMBER, False))), True),
    ("cognitive_metrics", Record(
        ("cognitive_load", NUMBER, True),
        ("attention_focus", Record(
            ("focus_strength", NUMBER, False), ("focus_duration", NUMBER, False),
            ("primary_focus", STRING, False), ("secondary_focuses", ListOf(STRING), False)), True),
        ("current_timestamp", NUMBER, False),
    ), True),
    ("learning_stats", Record(*((name, INTEGER, False) for name in (
        "vocabulary_size", "total_word_encounters", "unique_contexts", "total_interactions",
        "neuron_count"))), False),
)


def _checked_document(doc: Any) -> dict[str, Any]:
    """A checked deep copy of a seed document (or of a state holding one)."""
    if isinstance(doc, _Refused):  # the top-level object itself could not be read (a duplicate key)
        raise JsonValueProblem((), doc.problem, doc.hint)
    if not isinstance(doc, Mapping):
        raise JsonValueProblem((), f"the top level must be a JSON object, got {kind_of(doc)}")
    for name in doc:
        if not isinstance(name, str) or not MODULE_NAME.fullmatch(name):
            raise JsonValueProblem(
                (), f"section {name!r} cannot be a brainvcs module name (it must match {MODULE_NAME.pattern})")
    try:
        copied: dict[str, Any] = copy_json_value(dict(doc), ())
    except RecursionError:
        raise JsonValueProblem((), "JSON is nested too deeply") from None
    SEED_DOCUMENT.check(copied, ())
    return copied


@dataclass(frozen=True)
class SeedJsonImport:
    """A seed JSON document as a brainvcs state, with the save time and session it names."""

    state: dict[str, Any]
    saved_at: datetime | None
    session_name: str | None


def state_from_seed_json(doc: Mapping[str, Any], *, source: str = "<document>") -> SeedJsonImport:
    """Check a parsed seed document and return it as a state (``InputFileError`` naming ``source``)."""
    try:
        state = _checked_document(doc)
        metadata = state.get("metadata", {})
        saved_at = None
        if "saved_at" in metadata:
            try:
                saved_at = datetime.fromisoformat(metadata["saved_at"])
            except ValueError:
                raise JsonValueProblem(
                    ("metadata", "saved_at"), f"{metadata['saved_at']!r} is not an ISO 8601 timestamp") from None
    except JsonValueProblem as problem:
        raise InputFileError(problem.located(source), problem.hint) from None
    return SeedJsonImport(state=state, saved_at=saved_at, session_name=metadata.get("session_name"))


def read_seed_json_file(path: str | os.PathLike[str]) -> SeedJsonImport:
    """Read a file written by the seed's ``BrainStateSerializer.save_brain_state``."""
    name = os.fspath(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise InputFileError(f"{name}: cannot read: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputFileError(f"{name}: not UTF-8 text (bad byte at offset {exc.start})") from None
    if not text.strip():
        raise InputFileError(f"{name}: the file is empty", "the save that wrote it was probably interrupted")
    try:
        doc = parse_json_text(text)
    except json.JSONDecodeError as exc:
        cut_off = exc.pos >= len(text.rstrip())
        raise InputFileError(
            f"{name}: line {exc.lineno} column {exc.colno}: invalid JSON: {exc.msg}",
            "the file ends early: it was probably cut off while being saved" if cut_off else None,
        ) from None
    except RecursionError:
        raise InputFileError(f"{name}: JSON is nested too deeply") from None
    return state_from_seed_json(doc, source=name)


_EXPORT_HINT = (
    "a seed JSON file needs the modules language_module, memory_module, response_generator, "
    "brain_history and cognitive_metrics, shaped as the seed writes them"
)


def seed_json_from_state(state: Mapping[str, Any]) -> dict[str, Any]:
    """The seed JSON document for a state, keys in the seed's order (``InvalidStateError`` if it cannot be one)."""
    try:
        doc = _checked_document(state)
    except JsonValueProblem as problem:
        raise InvalidStateError(
            format_json_path(problem.path) if problem.path else "", problem.problem, problem.hint or _EXPORT_HINT
        ) from None
    ordered: dict[str, Any] = SEED_DOCUMENT.ordered(doc)
    return ordered


def write_seed_json_file(state: Mapping[str, Any], path: str | os.PathLike[str]) -> None:
    """Write a state as the seed's JSON file, atomically (temporary file, fsync, rename)."""
    # indent=2 and ASCII escapes are what the seed's json.dump wrote: same bytes back.
    data = json.dumps(seed_json_from_state(state), indent=2, allow_nan=False).encode("ascii")
    try:
        atomic_write(path, data)  # mode 0o666 less the umask, as the seed's open() gave
    except OSError as exc:
        raise BrainVCSError(f"{os.fspath(path)}: cannot write: {exc.strerror or exc}") from None
