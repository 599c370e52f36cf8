"""CLI tests for import seed-json / seed-sqlite and export --format seed-json (checked through the API)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from brainvcs import Repository
from brainvcs.storage.objects import pack_count
from tests.conftest import run_cli

FIXTURES = Path(__file__).resolve().parent.parent.parent / "fixtures" / "seed"
JSON_FIXTURES = sorted(FIXTURES.glob("*.json"))
SEED_DB = FIXTURES / "brain_data.db"


@pytest.fixture
def repo_dir(tmp_path: Path) -> Path:
    """An empty repository."""
    Repository.init(tmp_path / "brain").close()
    return tmp_path / "brain"


def test_import_seed_json_then_export_each_commit(repo_dir: Path, tmp_path: Path) -> None:
    result = run_cli("import", "seed-json", "-C", repo_dir, "--branch", "readme", *reversed(JSON_FIXTURES))
    assert result.exit_code == 0, result.output
    with Repository.open(repo_dir) as repo:
        log = list(reversed(repo.log("readme")))
        assert result.stdout == "".join(f"[readme {c.id[:7]}] {c.summary}\n" for c in log)
        assert result.stderr.startswith("HEAD is on readme")  # the repository was empty: log shows the import
        assert [c.trailers["Brain-Import-File"] for c in log] == [
            "readme_after_20_inputs.json", "readme_after_80_inputs.json", "readme_after_200_inputs.json"]
    for rev, name in [("readme~2", "readme_after_20_inputs.json"), ("readme~1", "readme_after_80_inputs.json"),
                      ("readme", "readme_after_200_inputs.json")]:
        out = tmp_path / f"{name}.out"
        exported = run_cli("export", "-C", repo_dir, rev, "--format", "seed-json", "-o", out)
        assert exported.exit_code == 0, exported.output
        original = json.loads((FIXTURES / name).read_text("utf-8"))
        assert json.dumps(json.loads(out.read_text("utf-8")), sort_keys=True) == json.dumps(original, sort_keys=True)
        printed = run_cli("export", "-C", repo_dir, rev, "--format", "seed-json")
        assert printed.stdout == out.read_text("utf-8")


def test_import_seed_json_json_output(repo_dir: Path) -> None:
    result = run_cli("import", "seed-json", "-C", repo_dir, "--json", "--author", "Ann <ann@example.org>",
                     JSON_FIXTURES[0])
    assert result.exit_code == 0, result.output
    [doc] = json.loads(result.stdout)
    assert doc["ref"] == "refs/heads/seed-import" and doc["changed"] is True
    with Repository.open(repo_dir) as repo:
        assert doc["commit"]["id"] == repo.resolve("seed-import")
        assert repo.commit_info("seed-import").author == "Ann <ann@example.org>"


def test_import_seed_sqlite(repo_dir: Path) -> None:
    result = run_cli("import", "seed-sqlite", "-C", repo_dir, SEED_DB)
    assert result.exit_code == 0, result.output
    with Repository.open(repo_dir) as repo:
        branches = repo.refs.branches()
        assert sorted(branches) == ["alice/alice_brain", "bob/bob_brain"]
        assert result.stdout == "".join(
            f"[{b} {branches[b][:7]}] Import session {b.split('/')[1]} (seed SQLite)\n" for b in sorted(branches))
        assert len(repo.checkout("bob/bob_brain", modules=["vocabulary"])["vocabulary"]) == 223
    again = run_cli("import", "seed-sqlite", "-C", repo_dir, "--prefix", "copy", "--json", SEED_DB)
    assert sorted(json.loads(again.stdout)) == ["copy/alice/alice_brain", "copy/bob/bob_brain"]


def test_malformed_input_exit_code_and_nothing_written(repo_dir: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_bytes(JSON_FIXTURES[0].read_bytes()[:1000])
    with Repository.open(repo_dir) as repo:
        before = (repo.refs.all(), pack_count(repo.objects))
    result = run_cli("import", "seed-json", "-C", repo_dir, JSON_FIXTURES[1], broken)
    assert result.exit_code == 3
    assert result.stderr.startswith(f"error: {broken}: line ")
    assert "hint: the file ends early" in result.stderr
    missing = run_cli("import", "seed-sqlite", "-C", repo_dir, tmp_path / "nothing.db")
    assert missing.exit_code == 3 and "cannot read" in missing.stderr
    with Repository.open(repo_dir) as repo:
        assert (repo.refs.all(), pack_count(repo.objects)) == before


def test_existing_branch_exit_code(repo_dir: Path) -> None:
    assert run_cli("import", "seed-json", "-C", repo_dir, JSON_FIXTURES[0]).exit_code == 0
    result = run_cli("import", "seed-json", "-C", repo_dir, JSON_FIXTURES[1])
    assert result.exit_code == 5
    assert result.stderr.startswith("error: branch 'seed-import' already exists; nothing was imported")


def test_export_seed_json_refuses_module_options(repo_dir: Path) -> None:
    assert run_cli("import", "seed-json", "-C", repo_dir, JSON_FIXTURES[0]).exit_code == 0
    result = run_cli("export", "-C", repo_dir, "seed-import", "--format", "seed-json", "--module", "metadata")
    assert result.exit_code == 2 and "--module and --split" in result.output


def test_import_help_lists_both_formats() -> None:
    result = run_cli("import", "--help")
    assert result.exit_code == 0 and "seed-json" in result.output and "seed-sqlite" in result.output


def test_an_import_into_a_fresh_repository_lands_where_log_finds_it(tmp_path: Path) -> None:
    database = Path(__file__).resolve().parents[2] / "fixtures" / "seed" / "brain_data.db"
    assert run_cli("init", tmp_path / "fresh").exit_code == 0
    imported = run_cli("import", "seed-sqlite", "-C", tmp_path / "fresh", database)
    assert imported.exit_code == 0 and "HEAD is on alice/alice_brain" in imported.stderr
    log = run_cli("log", "--oneline", "-C", tmp_path / "fresh")
    assert log.exit_code == 0 and "Import session alice_brain" in log.output
    # a repository with history keeps its HEAD where it was
    with Repository.init(tmp_path / "used") as repo:
        repo.commit({"m": {"a": 1}}, "mine")
    assert run_cli("import", "seed-sqlite", "-C", tmp_path / "used", database).exit_code == 0
    with Repository.open(tmp_path / "used") as repo:
        assert repo.current_branch == "main" and repo.log()[0].summary == "mine"
