"""Converters between the seed's JSON/SQLite formats and brainvcs states."""

from __future__ import annotations

import hashlib
import json
import math
import re
import shutil
import sqlite3
import struct
import tempfile
from contextlib import closing
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brainvcs.seed.json_file import (SeedJsonImport, loads_json_value, read_seed_json_file, seed_json_from_state,
                                     state_from_seed_json, write_seed_json_file)
from brainvcs.seed.sqlite_file import SeedSession, read_seed_sqlite
from brainvcs.errors import BrainVCSError, InputFileError, InvalidStateError

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "seed"
JSON_FIXTURES = sorted(FIXTURES.glob("*.json"))
SEED_DB = FIXTURES / "brain_data.db"
FIXTURE_80 = FIXTURES / "readme_after_80_inputs.json"
MODULE_NAME = re.compile(r"[a-z0-9][a-z0-9_]*")
INT64 = (-(2**63), 2**63 - 1)


# --- helpers -----------------------------------------------------------------


def assert_state_value(value: Any, path: str = "<state>") -> None:
    """Fail unless ``value`` is made only of the types a brainvcs state may hold."""
    if value is None or type(value) in (bool, str):
        if isinstance(value, str):
            value.encode("utf-8")  # no lone surrogates
        return
    if type(value) is int:
        assert INT64[0] <= value <= INT64[1], f"{path}: {value} does not fit in 64 bits"
    elif type(value) is float:
        assert math.isfinite(value), f"{path}: {value!r} is not finite"
    elif type(value) is list:
        for index, item in enumerate(value):
            assert_state_value(item, f"{path}[{index}]")
    elif type(value) is dict:
        for key, item in value.items():
            assert type(key) is str, f"{path}: key {key!r} is not a str"
            assert_state_value(item, f"{path}.{key}")
    else:
        pytest.fail(f"{path}: {type(value).__name__} is not a state type")


def assert_state(state: dict[str, Any]) -> None:
    """Fail unless ``state`` is a valid brainvcs state."""
    assert type(state) is dict
    for name, module in state.items():
        assert MODULE_NAME.fullmatch(name), f"bad module name {name!r}"
        assert_state_value(module, name)


def assert_identical(a: Any, b: Any, path: str = "", *, key_order: bool = True) -> None:
    """Stricter than ``==``: same types (1 != 1.0 != True), same float bits, same key order."""
    assert type(a) is type(b), f"{path}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, dict):
        if key_order:
            assert list(a) == list(b), f"{path}: keys differ or are in another order"
        else:
            assert sorted(a) == sorted(b), f"{path}: keys differ"
        for key in a:
            assert_identical(a[key], b[key], f"{path}.{key}", key_order=key_order)
    elif isinstance(a, list):
        assert len(a) == len(b), f"{path}: length {len(a)} != {len(b)}"
        for index, (x, y) in enumerate(zip(a, b)):
            assert_identical(x, y, f"{path}[{index}]", key_order=key_order)
    elif isinstance(a, float):
        assert struct.pack("<d", a) == struct.pack("<d", b), f"{path}: {a!r} != {b!r}"
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def sorted_keys(value: Any) -> Any:
    """``value`` with every object's keys sorted, as brainvcs's canonical storage gives it back."""
    if isinstance(value, dict):
        return {key: sorted_keys(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [sorted_keys(item) for item in value]
    return value


def load_fixture(path: Path) -> tuple[bytes, dict[str, Any]]:
    raw = path.read_bytes()
    return raw, json.loads(raw)


def write_text(tmp_path: Path, text: str, name: str = "brain.json") -> Path:
    target = tmp_path / name
    target.write_text(text, encoding="utf-8")
    return target


# --- seed JSON: fixtures -------------------------------------------------------


def test_json_fixtures_are_present() -> None:
    assert [p.name for p in JSON_FIXTURES] == [
        "readme_after_200_inputs.json",
        "readme_after_20_inputs.json",
        "readme_after_80_inputs.json",
    ]


@pytest.mark.parametrize("path", JSON_FIXTURES, ids=lambda p: p.stem)
def test_json_fixture_imports(path: Path) -> None:
    _, doc = load_fixture(path)
    imported = read_seed_json_file(path)
    assert isinstance(imported, SeedJsonImport)
    assert_state(imported.state)
    assert list(imported.state) == [
        "metadata", "language_module", "memory_module", "response_generator",
        "brain_history", "cognitive_metrics", "learning_stats",
    ]
    assert imported.session_name == path.stem
    assert imported.saved_at == datetime.fromisoformat(doc["metadata"]["saved_at"])
    language = imported.state["language_module"]
    assert len(language["vocabulary"]) == doc["learning_stats"]["vocabulary_size"]
    assert sum(language["word_frequency"].values()) == doc["learning_stats"]["total_word_encounters"]
    assert language["neuron_states"]["lang_neuron_0"]["spike_count"] == 0


@pytest.mark.parametrize("path", JSON_FIXTURES, ids=lambda p: p.stem)
def test_json_round_trip_reproduces_the_document(path: Path) -> None:
    _, doc = load_fixture(path)
    exported = seed_json_from_state(state_from_seed_json(doc).state)
    assert exported == doc
    assert_identical(exported, doc)


@pytest.mark.parametrize("path", JSON_FIXTURES, ids=lambda p: p.stem)
def test_json_write_gives_the_seed_file_byte_for_byte(path: Path, tmp_path: Path) -> None:
    raw, _ = load_fixture(path)
    target = tmp_path / path.name
    write_seed_json_file(read_seed_json_file(path).state, target)
    assert target.read_bytes() == raw
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left


@pytest.mark.parametrize("path", JSON_FIXTURES, ids=lambda p: p.stem)
def test_json_export_restores_seed_key_order_after_sorted_storage(path: Path) -> None:
    _, doc = load_fixture(path)
    exported = seed_json_from_state(sorted_keys(state_from_seed_json(doc).state))
    assert_identical(exported, doc, key_order=False)
    assert list(exported) == list(doc)
    assert list(exported["metadata"]) == list(doc["metadata"])
    assert list(exported["learning_stats"]) == list(doc["learning_stats"])
    assert list(exported["language_module"]["neuron_states"]["lang_neuron_0"]) == list(
        doc["language_module"]["neuron_states"]["lang_neuron_0"])
    assert list(exported["brain_history"][0]) == list(doc["brain_history"][0])


def test_json_state_does_not_share_objects_with_the_document() -> None:
    _, doc = load_fixture(JSON_FIXTURES[0])
    state = state_from_seed_json(doc).state
    state["language_module"]["word_frequency"]["hasn"] += 1
    exported = seed_json_from_state(state)
    exported["brain_history"].clear()
    assert doc == load_fixture(JSON_FIXTURES[0])[1]
    assert state["brain_history"]


def test_json_keeps_unknown_sections_and_fields() -> None:
    _, doc = load_fixture(FIXTURE_80)
    doc["plugin_state"] = {"weights": [0.5, -0.0, 5e-324]}
    doc["brain_history"][0]["active_modules"] = ["sensory", "motor"]
    doc["response_generator"]["response_memory"][0]["neural_pattern"] = "NeuralPattern(intensity=0.5)"
    assert_identical(seed_json_from_state(state_from_seed_json(doc).state), doc)


# --- seed JSON: malformed input ----------------------------------------------


def fixture_text() -> str:
    return FIXTURE_80.read_text(encoding="utf-8")


def test_json_truncated_file_names_file_line_and_column(tmp_path: Path) -> None:
    text = fixture_text()
    target = write_text(tmp_path, text[: len(text) // 2])
    with pytest.raises(InputFileError) as caught:
        read_seed_json_file(target)
    message = str(caught.value)
    assert message.startswith(f"{target}: line ")
    assert " column " in message and "invalid JSON" in message
    assert caught.value.hint is not None and "cut off" in caught.value.hint


def test_json_syntax_error_in_the_middle(tmp_path: Path) -> None:
    target = write_text(tmp_path, '{\n  "metadata": {,\n}')
    with pytest.raises(InputFileError, match=r"brain\.json: line 2 column 16: invalid JSON"):
        read_seed_json_file(target)


@pytest.mark.parametrize(
    "content, expected",
    [
        (b"", "the file is empty"),
        (b"\xff\xfe{}", "not UTF-8 text"),
        (b"[1, 2]", "the top level must be a JSON object, got an array"),
    ],
)
def test_json_unreadable_files(tmp_path: Path, content: bytes, expected: str) -> None:
    target = tmp_path / "brain.json"
    target.write_bytes(content)
    with pytest.raises(InputFileError) as caught:
        read_seed_json_file(target)
    assert str(caught.value).startswith(f"{target}: {expected}")


def test_json_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="nothing.json: cannot read"):
        read_seed_json_file(tmp_path / "nothing.json")


def test_json_missing_section_is_named(tmp_path: Path) -> None:
    doc = json.loads(fixture_text())
    del doc["language_module"]
    target = write_text(tmp_path, json.dumps(doc))
    with pytest.raises(InputFileError) as caught:
        read_seed_json_file(target)
    assert str(caught.value) == f"{target}: missing required section 'language_module'"


def test_json_missing_field_is_named(tmp_path: Path) -> None:
    doc = json.loads(fixture_text())
    del doc["memory_module"]["module_active"]
    target = write_text(tmp_path, json.dumps(doc))
    with pytest.raises(InputFileError) as caught:
        read_seed_json_file(target)
    assert str(caught.value) == f"{target}: memory_module: missing required field 'module_active'"


@pytest.mark.parametrize(
    "edit, where, problem",
    [
        (lambda d: d["language_module"]["word_frequency"].update(hello="5"),
         "language_module.word_frequency.hello", "expected an integer, got a string"),
        (lambda d: d["language_module"]["word_frequency"].update(hello=True),
         "language_module.word_frequency.hello", "expected an integer, got a boolean"),
        (lambda d: d["language_module"]["word_frequency"].update(hello=2.0),
         "language_module.word_frequency.hello", "expected an integer, got a number"),
        (lambda d: d["language_module"].update(vocabulary=[]),
         "language_module.vocabulary", "expected an object, got an array"),
        (lambda d: d["language_module"]["neuron_states"]["lang_neuron_7"].update(threshold="0.7"),
         "language_module.neuron_states.lang_neuron_7.threshold", "expected a number, got a string"),
        (lambda d: d["language_module"]["context_associations"]["ai"].append(3),
         "language_module.context_associations.ai[13]", "expected a string, got an integer"),
        (lambda d: d["brain_history"].append("oops"),
         "brain_history[50]", "expected an object, got a string"),
        (lambda d: d["memory_module"].update(module_active=1),
         "memory_module.module_active", "expected a boolean, got an integer"),
        (lambda d: d["language_module"]["word_frequency"].update({"two words": None}),
         'language_module.word_frequency["two words"]', "expected an integer, got null"),
        (lambda d: d["metadata"].update(saved_at="yesterday"),
         "metadata.saved_at", "'yesterday' is not an ISO 8601 timestamp"),
        (lambda d: d["language_module"]["word_frequency"].update(hello=2**63),
         "language_module.word_frequency.hello", f"integer {2**63} does not fit in 64 bits"),
        (lambda d: d.update({"Bad-Name": {}}),
         None, "section 'Bad-Name' cannot be a brainvcs module name (it must match [a-z0-9][a-z0-9_]*)"),
    ],
)
def test_json_wrong_types_name_the_path(tmp_path: Path, edit: Any, where: str | None, problem: str) -> None:
    doc = json.loads(fixture_text())
    edit(doc)
    target = write_text(tmp_path, json.dumps(doc, indent=2))
    with pytest.raises(InputFileError) as caught:
        read_seed_json_file(target)
    located = f"{where}: " if where else ""
    assert str(caught.value) == f"{target}: {located}{problem}"


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_json_non_finite_numbers_are_refused_with_their_path(tmp_path: Path, literal: str) -> None:
    text = fixture_text().replace('"cognitive_load": 0.42333333333333334,\n    "attention_focus"',
                                  f'"cognitive_load": {literal},\n    "attention_focus"')
    assert literal in text
    target = write_text(tmp_path, text)
    with pytest.raises(InputFileError) as caught:
        read_seed_json_file(target)
    assert str(caught.value).startswith(f"{target}: cognitive_metrics.cognitive_load: {literal} ")
    assert caught.value.hint is not None


def test_json_huge_integer_literal_is_refused(tmp_path: Path) -> None:
    text = fixture_text().replace('"spike_count": 0', '"spike_count": ' + "9" * 5000, 1)
    target = write_text(tmp_path, text)
    expected = r"lang_neuron_0\.spike_count: integer 9{24}\.\.\. does not fit in 64 bits"
    with pytest.raises(InputFileError, match=expected):
        read_seed_json_file(target)


def test_json_write_failure_is_a_brainvcs_error(tmp_path: Path) -> None:
    state = read_seed_json_file(FIXTURE_80).state
    with pytest.raises(BrainVCSError, match="cannot write"):
        write_seed_json_file(state, tmp_path / "missing-folder" / "brain.json")


def test_json_python_written_nan_is_refused(tmp_path: Path) -> None:
    doc = json.loads(fixture_text())
    doc["language_module"]["neuron_states"]["lang_neuron_3"]["membrane_potential"] = float("nan")
    target = write_text(tmp_path, json.dumps(doc, indent=2))  # what the seed's json.dump writes
    with pytest.raises(InputFileError, match=r"lang_neuron_3\.membrane_potential: NaN is not allowed"):
        read_seed_json_file(target)


def test_json_duplicate_keys_are_refused(tmp_path: Path) -> None:
    text = fixture_text().replace('"module_active": true', '"module_active": true, "module_active": false')
    target = write_text(tmp_path, text)
    with pytest.raises(InputFileError, match=r"memory_module: key 'module_active' appears more than once"):
        read_seed_json_file(target)


def test_json_lone_surrogate_is_refused(tmp_path: Path) -> None:
    text = fixture_text().replace('"primary_focus": "language_processing"', '"primary_focus": "\\ud800"')
    target = write_text(tmp_path, text)
    with pytest.raises(InputFileError, match=r"attention_focus\.primary_focus: string holds a lone surrogate"):
        read_seed_json_file(target)


def test_json_in_memory_documents_are_checked_with_their_source_name() -> None:
    doc = json.loads(fixture_text())
    doc["cognitive_metrics"]["cognitive_load"] = math.inf
    with pytest.raises(InputFileError, match=r"^api: cognitive_metrics\.cognitive_load: inf is not allowed"):
        state_from_seed_json(doc, source="api")
    doc["cognitive_metrics"]["cognitive_load"] = (0.1, 0.2)
    with pytest.raises(InputFileError, match=r"^<document>: cognitive_metrics\.cognitive_load: a Python tuple"):
        state_from_seed_json(doc)
    with pytest.raises(InputFileError, match="top level must be a JSON object, got an array"):
        state_from_seed_json([])  # type: ignore[arg-type]


def test_json_export_refuses_states_that_are_not_seed_documents() -> None:
    state = read_seed_json_file(FIXTURE_80).state
    del state["cognitive_metrics"]
    with pytest.raises(InvalidStateError, match="missing required section 'cognitive_metrics'"):
        seed_json_from_state(state)
    state = read_seed_json_file(FIXTURE_80).state
    state["language_module"]["neuron_states"]["lang_neuron_1"]["connections"]["lang_neuron_2"] = math.nan
    with pytest.raises(InvalidStateError) as caught:
        seed_json_from_state(state)
    assert caught.value.path == "language_module.neuron_states.lang_neuron_1.connections.lang_neuron_2"


# --- seed JSON: generated round trips -----------------------------------------

int64s = st.integers(min_value=INT64[0], max_value=INT64[1])
finite_floats = st.floats(allow_nan=False, allow_infinity=False)
numbers = int64s | finite_floats
texts = st.text(max_size=12)
json_values = st.recursive(
    st.none() | st.booleans() | int64s | finite_floats | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)
def record(
    required: dict[str, st.SearchStrategy[Any]], optional: dict[str, st.SearchStrategy[Any]] | None = None
) -> st.SearchStrategy[dict[str, Any]]:
    """Objects with the given keys in the listed (the seed's) order; hypothesis shuffles them."""
    order = [*required, *(optional or {})]
    drawn = st.fixed_dictionaries(required, optional=optional) if optional else st.fixed_dictionaries(required)
    return drawn.map(lambda values: {key: values[key] for key in order if key in values})


seed_documents = record(
    {
        "metadata": record(
            {"session_name": texts, "saved_at": st.datetimes().map(datetime.isoformat)},
            {"version": texts, "brain_type": texts, "serializer": texts},
        ),
        "language_module": record({
            "vocabulary": st.dictionaries(texts, st.dictionaries(texts, json_values, max_size=4), max_size=6),
            "word_frequency": st.dictionaries(texts, int64s, max_size=6),
            "context_associations": st.dictionaries(texts, st.lists(texts, max_size=5), max_size=6),
            "neuron_states": st.dictionaries(texts, record(
                {"threshold": numbers, "membrane_potential": numbers,
                 "connections": st.dictionaries(texts, numbers, max_size=4), "learning_rate": numbers},
                {"spike_count": int64s}), max_size=4),
        }),
        "memory_module": record({
            "working_memory": st.lists(record(
                {"content": texts, "neural_pattern": json_values, "timestamp": numbers}), max_size=3),
            "episodic_memory": st.lists(json_values, max_size=3),
            "module_active": st.booleans(),
        }),
        "response_generator": record({
            "response_memory": st.lists(record(
                {"input": texts, "response": texts, "timestamp": numbers},
                {"neural_pattern": texts}), max_size=3),
            "conversation_context": st.dictionaries(texts, json_values, max_size=3),
        }),
        "brain_history": st.lists(record(
            {"timestamp": numbers, "input_text": texts, "neural_intensity": numbers, "cognitive_load": numbers},
            {"active_modules": st.lists(texts, max_size=3)}), max_size=3),
        "cognitive_metrics": record(
            {"cognitive_load": numbers,
             "attention_focus": record({}, {
                 "focus_strength": numbers, "focus_duration": numbers, "primary_focus": texts,
                 "secondary_focuses": st.lists(texts, max_size=3)})},
            {"current_timestamp": numbers}),
    },
    {
        "learning_stats": record({}, {name: int64s for name in (
            "vocabulary_size", "total_word_encounters", "unique_contexts", "total_interactions", "neuron_count")}),
        "extra_module": json_values,
    },
)


@settings(max_examples=150, deadline=None)
@given(seed_documents)
def test_json_round_trip_of_generated_documents(doc: dict[str, Any]) -> None:
    imported = state_from_seed_json(doc)
    assert_state(imported.state)
    assert_identical(seed_json_from_state(imported.state), doc)
    assert_identical(seed_json_from_state(sorted_keys(imported.state)), doc, key_order=False)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed_documents)
def test_json_file_round_trip_of_generated_documents(doc: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "generated.json"
        write_seed_json_file(state_from_seed_json(doc).state, target)
        assert target.read_bytes() == json.dumps(doc, indent=2).encode("ascii")
        assert_identical(read_seed_json_file(target).state, state_from_seed_json(doc).state)


@given(json_values)
def test_json_values_survive_text_bit_exactly(value: Any) -> None:
    assert_identical(loads_json_value(json.dumps(value)), value)


# --- seed SQLite ---------------------------------------------------------------


def sql_rows(query: str, *params: Any) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(f"{SEED_DB.as_uri()}?mode=ro", uri=True)) as connection:
        return connection.execute(query, params).fetchall()


def db_copy(tmp_path: Path, *statements: str) -> Path:
    """A writable copy of the fixture database with ``statements`` applied."""
    target = tmp_path / "brain_data.db"
    shutil.copyfile(SEED_DB, target)
    with closing(sqlite3.connect(target)) as connection:
        for statement in statements:
            connection.execute(statement)
        connection.commit()
    return target


@pytest.fixture(scope="module")
def sessions() -> list[SeedSession]:
    return read_seed_sqlite(SEED_DB)


def test_sqlite_fixture_sessions(sessions: list[SeedSession]) -> None:
    assert [(s.session_id, s.session_name, s.user_id) for s in sessions] == [
        (1, "alice_brain", "alice"), (2, "bob_brain", "bob")]
    for session in sessions:
        assert_state(session.state)
        assert list(session.state) == [
            "session", "vocabulary", "neural_connections", "context_associations",
            "memory_states", "response_history"]
        assert session.version == "1.0.0"
        assert session.created_at == datetime(2026, 11, 24, 5, 25, 40)
        assert session.updated_at == datetime(2026, 11, 20, 10, 0)
        assert session.state["session"]["updated_at"] == "2026-11-20T10:00:00"  # stored text kept
        assert session.metadata == session.state["session"]["metadata"]


def test_sqlite_counts_match_direct_sql(sessions: list[SeedSession]) -> None:
    for session in sessions:
        sid = session.session_id
        state = session.state

        def count(table: str) -> int:
            return int(sql_rows(f"SELECT COUNT(*) FROM {table} WHERE session_id = ?", sid)[0][0])

        assert len(state["vocabulary"]) == count("vocabulary") == session.metadata["vocabulary_size"]
        assert len(state["neural_connections"]) == count("neural_connections")
        assert sum(len(rows) for rows in state["context_associations"].values()) == count("context_associations")
        assert sum(len(rows) for rows in state["memory_states"].values()) == count("memory_states")
        assert len(state["response_history"]) == count("response_history")
    assert [len(s.state["vocabulary"]) for s in sessions] == [288, 223]


def test_sqlite_values_match_direct_sql(sessions: list[SeedSession]) -> None:
    alice = sessions[0].state
    for word, pattern, frequency, learned_at in sql_rows(
            "SELECT word, neural_pattern, frequency, learned_at FROM vocabulary WHERE session_id = 1"):
        assert alice["vocabulary"][word] == {
            "neural_pattern": json.loads(pattern), "frequency": frequency, "learned_at": learned_at}
    neuron, connections, threshold, potential, rate, spikes = sql_rows(
        "SELECT neuron_id, connections, threshold, membrane_potential, learning_rate, spike_count "
        "FROM neural_connections WHERE session_id = 1 ORDER BY id DESC LIMIT 1")[0]
    assert alice["neural_connections"][neuron] == {
        "connections": json.loads(connections), "threshold": threshold, "membrane_potential": potential,
        "learning_rate": rate, "spike_count": spikes}
    memory = sql_rows("SELECT content, timestamp FROM memory_states WHERE session_id = 1 ORDER BY id")
    assert alice["memory_states"]["working"] == [{"content": json.loads(c), "timestamp": t} for c, t in memory]
    assert alice["memory_states"]["episodic"] == []
    responses = sql_rows("SELECT input_text, response_text, neural_intensity, cognitive_load, created_at "
                         "FROM response_history WHERE session_id = 1 ORDER BY id")
    assert [tuple(r.values()) for r in alice["response_history"]] == responses


def test_sqlite_database_is_not_modified(tmp_path: Path) -> None:
    target = db_copy(tmp_path)
    before = hashlib.sha256(target.read_bytes()).hexdigest()
    read_seed_sqlite(target)
    assert hashlib.sha256(target.read_bytes()).hexdigest() == before
    assert [p.name for p in tmp_path.iterdir()] == ["brain_data.db"]  # no journal or WAL left behind


def test_sqlite_keeps_every_context_row_in_id_order_and_skips_orphans(tmp_path: Path) -> None:
    target = db_copy(
        tmp_path,
        "INSERT INTO context_associations (session_id, word, context_words, created_at) "
        "VALUES (1, 'hasn', '[\"later\", \"save\"]', '2026-11-25 00:00:00')",
        "INSERT INTO vocabulary (session_id, word, neural_pattern, frequency) VALUES (99, 'orphan', '{}', 1)",
        "INSERT INTO memory_states (session_id, memory_type, content, timestamp) "
        "VALUES (2, 'episodic', '{\"event\": 1}', 5.5)",
    )
    alice, bob = read_seed_sqlite(target)
    rows = alice.state["context_associations"]["hasn"]
    assert len(rows) == 2
    assert rows[1] == {"context_words": ["later", "save"], "created_at": "2026-11-25 00:00:00"}
    assert "orphan" not in alice.state["vocabulary"] and "orphan" not in bob.state["vocabulary"]
    assert bob.state["memory_states"]["episodic"] == [{"content": {"event": 1}, "timestamp": 5.5}]


@pytest.mark.parametrize(
    "statements, message",
    [
        (["DROP TABLE memory_states"], "table 'memory_states' is missing"),
        (["ALTER TABLE vocabulary DROP COLUMN frequency"], "table 'vocabulary' has no column 'frequency'"),
        (["UPDATE vocabulary SET neural_pattern = '{\"neuron_0\": tru' WHERE id = 5"],
         "vocabulary row 5, column neural_pattern: invalid JSON (Expecting value at character 13)"),
        (["UPDATE vocabulary SET neural_pattern = '[true]' WHERE id = 6"],
         "vocabulary row 6, column neural_pattern: expected an object, got an array"),
        (["UPDATE vocabulary SET frequency = 'many' WHERE id = 7"],
         "vocabulary row 7, column frequency: expected an integer, got text"),
        (["UPDATE neural_connections SET threshold = 'high' WHERE id = 150"],
         "neural_connections row 150, column threshold: expected a number, got text"),
        (["UPDATE neural_connections SET threshold = 1e999 WHERE id = 150"],
         "neural_connections row 150, column threshold: inf is not allowed"),
        (["UPDATE neural_connections SET connections = '{\"lang_neuron_2\": NaN}' WHERE id = 3"],
         "neural_connections row 3, column connections: lang_neuron_2: NaN is not allowed"),
        (["UPDATE context_associations SET context_words = '{\"a\": 1}' WHERE id = 300"],
         "context_associations row 300, column context_words: expected an array, got an object"),
        (["UPDATE memory_states SET content = 'not json' WHERE id = 20"],
         "memory_states row 20, column content: invalid JSON"),
        (["UPDATE memory_states SET memory_type = NULL WHERE id = 2"],
         "memory_states row 2, column memory_type: expected text, got null"),
        (["UPDATE response_history SET input_text = x'00ff' WHERE id = 9"],
         "response_history row 9, column input_text: expected text, got blob"),
        (["UPDATE brain_sessions SET metadata = '{\"vocabulary_size\": ' WHERE id = 2"],
         "brain_sessions row 2, column metadata: invalid JSON"),
        (["UPDATE brain_sessions SET updated_at = 'last tuesday' WHERE id = 1"],
         "brain_sessions row 1, column updated_at: 'last tuesday' is not an ISO 8601 timestamp"),
    ],
)
def test_sqlite_malformed_databases_name_the_place(tmp_path: Path, statements: list[str], message: str) -> None:
    target = db_copy(tmp_path, *statements)
    with pytest.raises(InputFileError) as caught:
        read_seed_sqlite(target)  # all or nothing: the other, intact session is not returned either
    assert str(caught.value).startswith(f"{target}: {message}")


def test_sqlite_duplicate_word_in_one_session_is_refused(tmp_path: Path) -> None:
    # CREATE TABLE ... AS drops the UNIQUE constraint, as an older schema might lack it.
    target = db_copy(
        tmp_path,
        "CREATE TABLE loose AS SELECT * FROM vocabulary",
        "DROP TABLE vocabulary",
        "ALTER TABLE loose RENAME TO vocabulary",
        "INSERT INTO vocabulary (id, session_id, word, neural_pattern, frequency) VALUES (9999, 1, 'ai', '{}', 3)",
    )
    with pytest.raises(InputFileError, match=r"vocabulary row 9999, column word: 'ai' already appears in row 2"):
        read_seed_sqlite(target)


@pytest.mark.parametrize(
    "content, message",
    [(b"", "not a SQLite database"), (b"SQLite format 2\x00" + b"\x00" * 100, "not a SQLite database"),
     (b'{"metadata": {}}', "not a SQLite database"),
     (b"SQLite format 3\x00" + b"\xff" * 4000, "cannot read the database")],
)
def test_sqlite_non_database_files(tmp_path: Path, content: bytes, message: str) -> None:
    target = tmp_path / "brain_data.db"
    target.write_bytes(content)
    with pytest.raises(InputFileError, match=rf"^{re.escape(str(target))}: {message}"):
        read_seed_sqlite(target)


def test_sqlite_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="nothing.db: cannot read"):
        read_seed_sqlite(tmp_path / "nothing.db")
    with pytest.raises(InputFileError, match="cannot read"):
        read_seed_sqlite(tmp_path)
    assert list(tmp_path.iterdir()) == []  # SQLite did not create an empty database


# The seed's BrainDatabase schema and save statements, to check generated sessions.
SEED_SCHEMA = [
    "CREATE TABLE brain_sessions (id INTEGER PRIMARY KEY AUTOINCREMENT, session_name TEXT UNIQUE NOT NULL, "
    "user_id TEXT, created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, "
    "version TEXT DEFAULT '1.0.0', metadata TEXT)",
    "CREATE TABLE vocabulary (id INTEGER PRIMARY KEY AUTOINCREMENT, session_id INTEGER, word TEXT NOT NULL, "
    "neural_pattern TEXT, frequency INTEGER DEFAULT 1, learned_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, "
    "UNIQUE(session_id, word))",
    "CREATE TABLE neural_connections (id INTEGER PRIMARY KEY AUTOINCREMENT, session_id INTEGER, "
    "neuron_id TEXT NOT NULL, connections TEXT, threshold REAL, membrane_potential REAL, learning_rate REAL, "
    "spike_count INTEGER DEFAULT 0, UNIQUE(session_id, neuron_id))",
    "CREATE TABLE context_associations (id INTEGER PRIMARY KEY AUTOINCREMENT, session_id INTEGER, "
    "word TEXT NOT NULL, context_words TEXT, created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP)",
    "CREATE TABLE memory_states (id INTEGER PRIMARY KEY AUTOINCREMENT, session_id INTEGER, memory_type TEXT, "
    "content TEXT, timestamp REAL)",
    "CREATE TABLE response_history (id INTEGER PRIMARY KEY AUTOINCREMENT, session_id INTEGER, input_text TEXT, "
    "response_text TEXT, neural_intensity REAL, cognitive_load REAL, "
    "created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP)",
]
words = st.text(min_size=1, max_size=10)
# SQLite keeps a REAL that equals an integer as an integer on disk, so -0.0 comes back as 0.0.
reals = finite_floats.map(lambda x: x + 0.0)
generated_brains = st.fixed_dictionaries({
    "vocabulary": st.dictionaries(words, st.tuples(st.dictionaries(words, st.booleans(), max_size=4), int64s),
                                  max_size=8),
    "neurons": st.dictionaries(words, st.tuples(st.dictionaries(words, finite_floats, max_size=3),
                                                reals, reals, reals, int64s), max_size=5),
    "contexts": st.lists(st.tuples(words, st.lists(words, max_size=4)), max_size=8),
    "memory": st.lists(st.tuples(st.sampled_from(["working", "episodic"]), json_values, reals), max_size=5),
    "responses": st.lists(st.tuples(texts, texts, reals, reals), max_size=4),
})


def save_like_the_seed(path: Path, brain: dict[str, Any]) -> None:
    with closing(sqlite3.connect(path)) as connection:
        for statement in SEED_SCHEMA:
            connection.execute(statement)
        connection.execute("INSERT INTO brain_sessions (session_name, user_id, updated_at, metadata) "
                           "VALUES ('gen', 'me', '2026-01-02T03:04:05.000006', '{}')")
        for word, (pattern, frequency) in brain["vocabulary"].items():
            connection.execute("INSERT INTO vocabulary (session_id, word, neural_pattern, frequency) "
                               "VALUES (1, ?, ?, ?)", (word, json.dumps(pattern), frequency))
        for neuron, (connections, threshold, potential, rate, spikes) in brain["neurons"].items():
            connection.execute("INSERT INTO neural_connections (session_id, neuron_id, connections, threshold, "
                               "membrane_potential, learning_rate, spike_count) VALUES (1, ?, ?, ?, ?, ?, ?)",
                               (neuron, json.dumps(connections), threshold, potential, rate, spikes))
        for word, contexts in brain["contexts"]:
            connection.execute("INSERT INTO context_associations (session_id, word, context_words) VALUES (1, ?, ?)",
                               (word, json.dumps(contexts)))
        for kind, content, stamp in brain["memory"]:
            connection.execute("INSERT INTO memory_states (session_id, memory_type, content, timestamp) "
                               "VALUES (1, ?, ?, ?)", (kind, json.dumps(content), stamp))
        for text_in, text_out, intensity, load in brain["responses"]:
            connection.execute("INSERT INTO response_history (session_id, input_text, response_text, "
                               "neural_intensity, cognitive_load) VALUES (1, ?, ?, ?, ?)",
                               (text_in, text_out, intensity, load))
        connection.commit()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(generated_brains)
def test_sqlite_reads_back_what_the_seed_saves(brain: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "brain_data.db"
        save_like_the_seed(target, brain)
        (session,) = read_seed_sqlite(target)
    state = session.state
    assert_state(state)
    assert session.updated_at == datetime(2026, 1, 2, 3, 4, 5, 6)
    assert {w: (v["neural_pattern"], v["frequency"]) for w, v in state["vocabulary"].items()} == brain["vocabulary"]
    for neuron, (connections, threshold, potential, rate, spikes) in brain["neurons"].items():
        assert_identical(state["neural_connections"][neuron], {
            "connections": connections, "threshold": threshold, "membrane_potential": potential,
            "learning_rate": rate, "spike_count": spikes})
    expected_contexts: dict[str, list[list[str]]] = {}
    for word, contexts in brain["contexts"]:
        expected_contexts.setdefault(word, []).append(contexts)
    assert {w: [r["context_words"] for r in rows] for w, rows in state["context_associations"].items()} \
        == expected_contexts
    for kind in ("working", "episodic"):
        expected = [{"content": c, "timestamp": t} for k, c, t in brain["memory"] if k == kind]
        assert_identical(state["memory_states"][kind], expected)
    assert_identical([[r["input_text"], r["response_text"], r["neural_intensity"], r["cognitive_load"]]
                      for r in state["response_history"]], [list(r) for r in brain["responses"]])
