"""CLI tests for merge, reseal and merge-driver (results checked through the API)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from brainvcs import Repository
from brainvcs.cli import main
from tests.conftest import run_cli

BASE = {"lang": {"freq": {"sea": 2}, "focus": "sea", "w": 0.5}}
OURS = {"lang": {"freq": {"sea": 5}, "focus": "garden", "w": 0.25}}
THEIRS = {"lang": {"freq": {"sea": 3, "rose": 1}, "focus": "music", "w": 1.0}}


@pytest.fixture
def repo_dir(tmp_path: Path) -> Path:
    """main and topic diverged from a common base; focus conflicts."""
    with Repository.init(tmp_path / "brain") as repo:
        repo.commit(BASE, "base", timestamp=1_700_000_000)
        repo.create_branch("topic")
        repo.commit(OURS, "ours", timestamp=1_700_000_001)
        repo.commit(THEIRS, "theirs", branch="topic", timestamp=1_700_000_002)
    return tmp_path / "brain"


def refs(repo_dir: Path) -> dict[str, str]:
    with Repository.open(repo_dir) as repo:
        return dict(repo.refs.all())


def test_conflicts_are_listed_and_no_ref_moves(repo_dir: Path) -> None:
    before = refs(repo_dir)
    result = run_cli("merge", "-C", repo_dir, "topic")
    assert result.exit_code == 13
    assert result.stdout == ("CONFLICT lang.focus: changed differently on both sides\n"
                             '  base:   "sea"\n  ours:   "garden"\n  theirs: "music"\n')
    assert result.stderr.startswith("error: merge stopped by 1 conflict(s): lang.focus; no branch was changed\n"
                                    "hint: settle each with --resolve PATH=ours|theirs|base|JSON")
    assert refs(repo_dir) == before


def test_conflicts_as_json(repo_dir: Path) -> None:
    result = run_cli("merge", "-C", repo_dir, "topic", "--json")
    assert result.exit_code == 13
    assert json.loads(result.stdout) == {"status": "conflict", "conflicts": [
        {"path": "lang.focus", "reason": "changed differently on both sides",
         "base": "sea", "ours": "garden", "theirs": "music"}]}


def test_resolve_commits_the_merge(repo_dir: Path) -> None:
    result = run_cli("merge", "-C", repo_dir, "topic", "--resolve", "lang.focus=theirs", "-m", "combine")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("[main ") and lines[0].endswith("] combine")
    assert lines[1] == "4 changed path(s): 0 from main, 1 from topic, 0 identical on both, 2 combined, 1 resolved"
    with Repository.open(repo_dir) as repo:
        assert repo.checkout() == {"lang": {"freq": {"sea": 6, "rose": 1}, "focus": "music", "w": 0.625}}
        info = repo.commit_info()
        assert info.parents == (repo.resolve("main~1"), repo.resolve("topic"))
        assert repo.verify().ok


def test_resolve_with_a_json_value_and_strategy(repo_dir: Path) -> None:
    result = run_cli("merge", "-C", repo_dir, "topic", "--resolve", 'lang.focus="both"', "--strategy", "max", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["status"] == "merged" and doc["commit"]["commit"]["parents"] == [doc["ours"], doc["theirs"]]
    assert doc["plan"]["counts"]["strategies"] == {"max": 1, "sum": 1}
    with Repository.open(repo_dir) as repo:
        assert repo.checkout()["lang"] == {"freq": {"sea": 6, "rose": 1}, "focus": "both", "w": 1.0}


def test_strategy_theirs_settles_everything(repo_dir: Path) -> None:
    assert run_cli("merge", "-C", repo_dir, "topic", "--strategy", "theirs").exit_code == 0
    with Repository.open(repo_dir) as repo:
        assert repo.checkout()["lang"]["focus"] == "music"


def test_dry_run_prints_the_plan(repo_dir: Path) -> None:
    before = refs(repo_dir)
    result = run_cli("merge", "-C", repo_dir, "topic", "--dry-run")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Merge plan for topic into main (base ")
    assert lines[1:5] == ["  theirs             added    lang.freq.rose",
                          "  merged (sum)       changed  lang.freq.sea",
                          "  merged (mean)      changed  lang.w",
                          "3 changed path(s): 0 from main, 1 from topic, 0 identical on both, 2 combined, 0 resolved"]
    assert "CONFLICT lang.focus: changed differently on both sides" in lines
    assert refs(repo_dir) == before
    as_json = json.loads(run_cli("merge", "-C", repo_dir, "topic", "--dry-run", "--json").stdout)
    assert as_json["status"] == "planned" and as_json["dry_run"] is True
    assert [c["path"] for c in as_json["plan"]["conflicts"]] == ["lang.focus"]


def test_fast_forward_and_up_to_date(repo_dir: Path) -> None:
    with Repository.open(repo_dir) as repo:
        repo.create_branch("ahead")
        tip = repo.commit({"x": 1}, "ahead", branch="ahead").commit
        assert tip is not None
        main = repo.resolve("main")
    result = run_cli("merge", "-C", repo_dir, "ahead")
    assert (result.exit_code, result.stdout) == (0, f"Fast-forward main: {main[:7]}..{tip.id[:7]}\n")
    again = run_cli("merge", "-C", repo_dir, "ahead")
    assert (again.exit_code, again.stdout) == (0, "Already up to date.\n")


def test_bad_resolve_and_usage(repo_dir: Path) -> None:
    typo = run_cli("merge", "-C", repo_dir, "topic", "--resolve", "lang.fokus=ours")
    assert typo.exit_code == 2
    assert typo.stderr.startswith("error: --resolve lang.fokus: no path of that name changed in this merge")
    malformed = run_cli("merge", "-C", repo_dir, "topic", "--resolve", "lang.focus")
    assert malformed.exit_code == 2
    missing = run_cli("merge", "-C", repo_dir)
    assert (missing.exit_code, missing.stderr.splitlines()[0]) == (2, "error: name the branch to merge")
    unknown = run_cli("merge", "-C", repo_dir, "nope")
    assert unknown.exit_code == 5


def test_abort(repo_dir: Path) -> None:
    result = run_cli("merge", "-C", repo_dir, "--abort")
    assert result.exit_code == 0
    assert result.stdout.startswith("nothing to abort: a brainvcs merge either commits or changes nothing")
    assert run_cli("merge", "-C", repo_dir, "--abort", "topic").exit_code == 2
    doc = json.loads(run_cli("merge", "-C", repo_dir, "--abort", "--json").stdout)
    assert doc["status"] == "nothing-to-abort"


def test_reseal_needs_a_working_tree(repo_dir: Path) -> None:
    result = run_cli("reseal", "-C", repo_dir)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: this command needs a git working tree")


def test_merge_driver_is_hidden_but_registered() -> None:
    assert main.commands["merge-driver"].hidden
    assert "merge-driver" not in run_cli("--help").stdout
    for name in ("merge", "reseal"):
        assert run_cli(name, "--help").exit_code == 0
