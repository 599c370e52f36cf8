"""Importing the seed's JSON files and SQLite databases as history, exporting seed JSON back."""

from __future__ import annotations

import json
import shutil
import sqlite3
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from brainvcs import Repository
from brainvcs.seed.json_file import read_seed_json_file
from brainvcs.seed.sqlite_file import read_seed_sqlite
from brainvcs.errors import (InputFileError, InvalidRefNameError, InvalidStateError, RefConflict, RefExistsError,
                             UsageError)
from brainvcs.seed.api import export_seed_json, import_seed_json, import_seed_sqlite, seed_json_text
from brainvcs.storage.objects import pack_count

from .conftest import IDENTITY, git

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "seed"
JSON_FIXTURES = sorted(FIXTURES.glob("*.json"))
SEED_DB = FIXTURES / "brain_data.db"
# saved_at of the three files: the order the seed saved them in.
SAVE_ORDER = ["readme_after_20_inputs.json", "readme_after_80_inputs.json", "readme_after_200_inputs.json"]


def strict(value: Any) -> str:
    """A text that differs whenever two JSON documents differ, types included (1 vs 1.0)."""
    return json.dumps(value, sort_keys=True)


def snapshot(repo: Repository) -> tuple[dict[str, str], int, str | None]:
    """What an import that fails must leave as it was."""
    return repo.refs.all(), pack_count(repo.objects), repo.head()


def test_fixtures_are_the_shared_ones() -> None:
    assert [p.name for p in JSON_FIXTURES] == sorted(SAVE_ORDER) and SEED_DB.exists()


@pytest.mark.parametrize("path", JSON_FIXTURES, ids=lambda p: p.stem)
def test_each_file_imports_checks_out_and_exports_back(repo: Repository, path: Path, tmp_path: Path) -> None:
    results = import_seed_json(repo, [path], branch="seed")
    assert len(results) == 1 and results[0].ref == "refs/heads/seed"
    original = json.loads(path.read_text("utf-8"))
    assert strict(repo.checkout("seed")) == strict(original)  # one module per section, values unchanged
    out = tmp_path / "out.json"
    document = export_seed_json(repo, "seed", out)
    assert strict(json.loads(out.read_text("utf-8"))) == strict(original)
    assert strict(document) == strict(original)
    assert list(document) == list(original)  # sections in the seed's order
    assert out.read_text("ascii") == seed_json_text(document)
    assert repo.verify().ok


def test_files_become_one_commit_each_in_save_order(repo: Repository) -> None:
    results = import_seed_json(repo, list(reversed(JSON_FIXTURES)), branch="readme")
    assert [r.commit.trailers["Brain-Import-File"] for r in results] == SAVE_ORDER
    log = repo.log("readme")
    assert [c.id for c in log] == [r.commit.id for r in reversed(results)]
    assert [len(c.parents) for c in log] == [1, 1, 0]
    first = results[0].commit
    assert first.message.splitlines()[0] == "Import readme_after_20_inputs.json (seed JSON)"
    assert first.trailers == {
        "Brain-Fingerprint": results[0].fingerprint, "Brain-Source": "import",
        "Brain-Import-File": "readme_after_20_inputs.json", "Brain-Import-Format": "seed-json",
        "Brain-Session": "readme_after_20_inputs",
    }
    saved = datetime.fromisoformat("2026-11-24T05:25:27.526238").replace(tzinfo=timezone.utc)
    assert first.author_time == int(saved.timestamp()) == 1795497927
    assert first.author == IDENTITY  # the files name no user: the repository's identity
    assert [r.changed for r in results] == [True, True, True]
    for result, name in zip(results, SAVE_ORDER):
        assert strict(repo.checkout(result.commit.id)) == strict(json.loads((FIXTURES / name).read_text("utf-8")))
    # Every file's objects went into one pack, and refs moved once.
    assert pack_count(repo.objects) == 1
    assert repo.refs.branches() == {"readme": results[-1].commit.id}


def test_author_from_the_argument_or_the_file(repo: Repository, tmp_path: Path) -> None:
    doc = json.loads(JSON_FIXTURES[0].read_text("utf-8"))
    doc["metadata"]["user_id"] = "carol"
    carol = tmp_path / "carol.json"
    carol.write_text(json.dumps(doc), "utf-8")
    [result] = import_seed_json(repo, [carol], branch="carol")
    assert result.commit.author == "carol <carol@localhost>"
    [result] = import_seed_json(repo, [carol], branch="dave", author="Dave <dave@example.org>")
    assert result.commit.author == "Dave <dave@example.org>"
    with pytest.raises(UsageError):
        import_seed_json(repo, [carol], branch="eve", author="no email")
    with pytest.raises(UsageError):
        import_seed_json(repo, [], branch="eve")


def test_sqlite_sessions_become_branches(repo: Repository) -> None:
    results = import_seed_sqlite(repo, SEED_DB)
    assert sorted(results) == ["alice/alice_brain", "bob/bob_brain"]
    assert repo.refs.branches() == {name: r.commit.id for name, r in results.items()}
    sizes = {name: len(repo.checkout(name, modules=["vocabulary"])["vocabulary"]) for name in results}
    assert sizes == {"alice/alice_brain": 288, "bob/bob_brain": 223}
    alice = repo.checkout("alice/alice_brain")
    assert alice["session"] == {
        "session_name": "alice_brain", "user_id": "alice", "created_at": "2026-11-24 05:25:40",
        "updated_at": "2026-11-20T10:00:00", "version": "1.0.0",
        "metadata": {"vocabulary_size": 288, "cognitive_load": 0.45, "total_interactions": 50},
    }
    sessions = {s.session_name: s for s in read_seed_sqlite(SEED_DB)}
    assert strict(alice) == strict(sessions["alice_brain"].state)
    info = results["alice/alice_brain"].commit
    assert info.author == "alice <alice@localhost>" and info.parents == ()
    assert info.author_time == int(datetime(2026, 11, 20, 10, tzinfo=timezone.utc).timestamp())
    assert info.trailers["Brain-Source"] == "import" and info.trailers["Brain-Import-File"] == "brain_data.db"
    assert info.trailers["Brain-User"] == "alice" and info.trailers["Brain-Session"] == "alice_brain"
    assert info.trailers["Brain-Import-Format"] == "seed-sqlite"
    assert pack_count(repo.objects) == 1
    assert repo.verify().ok


def test_sqlite_prefix(repo: Repository) -> None:
    results = import_seed_sqlite(repo, SEED_DB, prefix="team/2026")
    assert sorted(results) == ["team/2026/alice/alice_brain", "team/2026/bob/bob_brain"]
    with pytest.raises(InvalidRefNameError):
        import_seed_sqlite(repo, SEED_DB, prefix="bad..prefix")


def test_git_accepts_what_an_import_writes(repo: Repository) -> None:
    import_seed_json(repo, JSON_FIXTURES, branch="readme")
    import_seed_sqlite(repo, SEED_DB)
    assert repo.gitdir is not None
    git("fsck", "--strict", cwd=repo.gitdir)
    out = git("log", "--format=%an|%ad|%s", "--date=iso-strict", "alice/alice_brain", cwd=repo.gitdir).stdout
    assert out == "alice|2026-11-20T10:00:00+00:00|Import session alice_brain (seed SQLite)\n"


# --- malformed inputs: a clear error, nothing written ------------------------------------------------


def _copy(tmp_path: Path, source: Path, name: str | None = None) -> Path:
    target = tmp_path / (name or source.name)
    shutil.copyfile(source, target)
    return target


def test_truncated_file_imports_nothing(repo: Repository, tmp_path: Path) -> None:
    import_seed_json(repo, [JSON_FIXTURES[0]], branch="earlier")
    before = snapshot(repo)
    good = [_copy(tmp_path, p) for p in JSON_FIXTURES]
    data = good[1].read_bytes()
    good[1].write_bytes(data[: len(data) // 2])
    with pytest.raises(InputFileError) as info:
        import_seed_json(repo, good, branch="readme")
    assert info.value.message.startswith(f"{good[1]}: line ")
    assert "invalid JSON" in info.value.message and "cut off" in (info.value.hint or "")
    assert snapshot(repo) == before


def test_wrong_type_names_file_and_place(repo: Repository, tmp_path: Path) -> None:
    doc = json.loads(JSON_FIXTURES[0].read_text("utf-8"))
    doc["language_module"]["word_frequency"]["hasn"] = "four"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc), "utf-8")
    before = snapshot(repo)
    with pytest.raises(InputFileError) as info:
        import_seed_json(repo, [JSON_FIXTURES[0], bad], branch="readme")
    assert info.value.message == f"{bad}: language_module.word_frequency.hasn: expected an integer, got a string"
    assert snapshot(repo) == before


def test_missing_table_imports_nothing(repo: Repository, tmp_path: Path) -> None:
    db = _copy(tmp_path, SEED_DB)
    with closing(sqlite3.connect(db)) as connection:
        connection.execute("DROP TABLE memory_states")
        connection.commit()
    before = snapshot(repo)
    with pytest.raises(InputFileError) as info:
        import_seed_sqlite(repo, db)
    assert info.value.message == f"{db}: table 'memory_states' is missing"
    assert snapshot(repo) == before


def test_wrong_cell_type_names_row_and_column(repo: Repository, tmp_path: Path) -> None:
    db = _copy(tmp_path, SEED_DB)
    with closing(sqlite3.connect(db)) as connection:
        row = connection.execute("SELECT max(id) FROM vocabulary").fetchone()[0]
        connection.execute("UPDATE vocabulary SET frequency = 'many' WHERE id = ?", (row,))
        connection.commit()
    before = snapshot(repo)
    with pytest.raises(InputFileError) as info:
        import_seed_sqlite(repo, db)
    assert info.value.message == f"{db}: vocabulary row {row}, column frequency: expected an integer, got text"
    assert snapshot(repo) == before


def test_existing_branch_is_refused_before_reading(repo: Repository, tmp_path: Path) -> None:
    import_seed_json(repo, [JSON_FIXTURES[0]], branch="readme")
    before = snapshot(repo)
    with pytest.raises(RefExistsError) as info:
        import_seed_json(repo, [tmp_path / "does-not-exist.json"], branch="readme")
    assert "already exists" in info.value.message
    with pytest.raises(RefExistsError) as clash:
        import_seed_json(repo, [JSON_FIXTURES[0]], branch="readme/more")
    assert "cannot coexist with branch 'readme'" in clash.value.message
    repo.create_branch("alice", "readme")
    before = snapshot(repo)
    with pytest.raises(RefExistsError):
        import_seed_sqlite(repo, SEED_DB)  # alice/alice_brain would sit under the branch alice
    assert snapshot(repo) == before


def test_a_lost_ref_race_takes_back_the_branches_already_created(repo: Repository,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    before = snapshot(repo)
    real_move = repo.refs.move

    def racy_move(ref: str, expected: Any, new: Any, message: str) -> None:
        if ref == "refs/heads/bob/bob_brain":
            raise RefConflict(ref, expected, "0" * 40)
        real_move(ref, expected, new, message)

    monkeypatch.setattr(repo.refs, "move", racy_move)
    with pytest.raises(RefConflict):
        import_seed_sqlite(repo, SEED_DB)
    assert snapshot(repo)[0] == before[0] and repo.refs.branches() == {}


def test_export_refuses_a_state_that_is_not_a_seed_document(repo: Repository) -> None:
    repo.commit({"language_module": {"vocabulary": {}}}, "not a seed document")
    with pytest.raises(InvalidStateError) as info:
        export_seed_json(repo, "HEAD")
    assert "missing required field 'word_frequency'" in info.value.message


def test_read_seed_json_file_matches_what_is_stored(repo: Repository) -> None:
    [result] = import_seed_json(repo, [JSON_FIXTURES[1]], branch="one")
    stored = repo.checkout("one")
    assert strict(stored) == strict(read_seed_json_file(JSON_FIXTURES[1]).state)
    assert result.fingerprint == repo.manifest("one")["fingerprint"]
