"""The benchmark suite runs in reduced form (S only, --quick) so it cannot rot.

No timing assertions: only that every row is there with a finite, positive
figure on both sides, and that the JSON the command writes says the same.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from benchmarks import alternatives, suite, workloads

EXPECTED_OPERATIONS = {
    ("first commit", "C git add+commit"),
    ("first commit", "pickle.dump"),
    ("first commit", "seed JSON dump"),
    ("first commit", "seed SQLite save"),
    ("first commit", "DVC-like add"),
    ("no-op commit", "pickle.dump"),
    ("no-op commit (changed=[] declared)", "pickle.dump"),
    ("full checkout", "pickle.load"),
    ("full checkout", "gzip-pickle load"),
    ("full checkout", "seed JSON load"),
    ("full checkout", "seed SQLite load"),
    ("full checkout", "DVC-like checkout"),
    ("one-module checkout (memory_module)", "pickle.load"),
    ("incremental commit (1% changed)", "pickle.dump"),
    ("incremental commit (1% changed)", "C git add+commit"),
    ("incremental commit (1% changed), paths declared", "pickle.dump"),
    ("incremental commit (one learning step)", "pickle.dump"),
    ("incremental commit (one learning step)", "C git add+commit"),
    ("incremental commit (one learning step), paths declared", "pickle.dump"),
    ("diff of adjacent snapshots (1% changed)", "brainvcs full checkout"),
    ("bytes pushed, one incremental commit (1%)", "C git thin pack"),
    ("bytes pushed, one incremental commit (1%)", "gzip-pickle upload"),
    ("storage after 2 commits of 1% (after gc)", "3 gzip-pickles"),
    ("storage after 2 commits of 1% (after gc)", "C git after gc --aggressive"),
    ("storage after 2 commits of 1% (after gc)", "DVC-like cache"),
    ("peak memory during commit (process RSS)", "pickle.dumps (process RSS)"),
    ("peak memory during commit (Python allocations)", "pickle.dumps (Python allocations)"),
    # ZODB (FileStorage + BTrees) holding the same brain: the peer for live object graphs.
    ("first commit", "ZODB"),
    ("no-op commit", "ZODB"),
    ("incremental commit (1% changed)", "ZODB"),
    ("incremental commit (one learning step)", "ZODB"),
    ("full checkout", "ZODB"),
    ("storage after 2 commits of 1%", "ZODB"),
}
TARGETS = {
    "first commit": 1.0, "no-op commit": 0.05, "full checkout": 1.2, "one-module checkout (memory_module)": 0.2,
    "incremental commit (1% changed)": 0.2, "diff of adjacent snapshots (1% changed)": 0.05,
    "peak memory during commit (process RSS)": 2.0, "peak memory during commit (Python allocations)": 2.0,
}


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("bench") / "suite.json"
    argv = ["--sizes", "S", "--quick", "--commits", "2", "--history", "12", "--no-extra", "--out", str(out)]
    assert suite.main(argv) == 0
    data: dict[str, Any] = json.loads(out.read_text())
    return data


@pytest.mark.slow
def test_every_row_is_there_with_finite_positive_figures(report: dict[str, Any]) -> None:
    rows = report["rows"]
    history = [row for row in rows if row["operation"].startswith("checkout of commit 10 after 12 commits (")]
    assert len(history) == 1 and history[0]["alternative"].startswith("the same checkout after 10 commits (")
    assert history[0]["target"] == 1.2
    tip = [row for row in rows if row["operation"] == "checkout of the tip after 12 commits (a larger state)"]
    assert len(tip) == 1 and tip[0]["target"] is None
    assert {(row["operation"], row["alternative"]) for row in rows} - {
        (row["operation"], row["alternative"]) for row in history + tip} == EXPECTED_OPERATIONS
    for row in rows:
        assert row["workload"] == "S"
        for key in ("brainvcs", "other", "ratio"):
            assert isinstance(row[key], (int, float)) and math.isfinite(row[key]) and row[key] > 0, (row, key)
        assert row["ratio"] == pytest.approx(row["brainvcs"] / row["other"])
        assert row["unit"] in ("s", "bytes")


@pytest.mark.slow
def test_targets_and_verdicts_follow_the_issue(report: dict[str, Any]) -> None:
    for row in report["rows"]:
        if row["target"] is None:
            assert row["met"] is None
            continue
        assert row["met"] == (row["ratio"] <= row["target"])
        if row["alternative"] in ("pickle.dump", "pickle.load", "brainvcs full checkout", "C git add+commit") \
                or row["operation"].startswith("peak memory"):
            assert row["target"] == TARGETS[row["operation"]]
    storage = {row["alternative"]: row["target"] for row in report["rows"] if row["operation"].startswith("storage")}
    assert storage == {"3 gzip-pickles": 0.03, "C git after gc --aggressive": 1.0, "DVC-like cache": None, "ZODB": 1.0}
    zodb = {row["operation"]: row["target"] for row in report["rows"] if row["alternative"] == "ZODB"}
    assert zodb["no-op commit"] == zodb["incremental commit (1% changed)"] == 1.0  # ahead of ZODB, or not met


@pytest.mark.slow
def test_report_says_what_ran_and_where(report: dict[str, Any]) -> None:
    assert report["quick"] is True
    assert report["command"].startswith("python -m benchmarks.suite --sizes S --commits 2 --history 12")
    assert report["machine"]["cpus"] >= 1 and report["machine"]["python"].count(".") == 2
    facts = report["workloads"]["S"]
    assert facts["storage_commits"] == 2
    assert set(facts["sizes"]) == {"pickle", "gzip-pickle", "seed JSON", "seed SQLite", "canonical JSON"}


def test_table_lists_every_row_with_its_verdict() -> None:
    rows = [suite.Row("S", "no-op commit", 0.002, "pickle.dump", 0.01, "s", 0.1),
            suite.Row("S", "storage", 3 << 20, "C git", 2 << 20, "bytes", 1.2),
            suite.Row("S", "first commit", 0.5, "seed JSON dump", 2.0, "s")]
    lines = suite.format_table(rows).splitlines()
    assert lines[0] == "| workload | operation | brainvcs | alternative | ratio | target | met? |"
    assert lines[2] == "| S | no-op commit | 2.0 ms | pickle.dump: 10.0 ms | 0.200 | <= 0.1 | NO |"
    assert lines[3] == "| S | storage | 3.0 MiB | C git: 2.0 MiB | 1.500 | <= 1.2 | NO |"
    assert lines[4] == "| S | first commit | 500.0 ms | seed JSON dump: 2.00 s | 0.250 | - | - |"


def test_alternatives_round_trip_the_same_state(tmp_path: Path) -> None:
    state = workloads.build_state("S")
    alternatives.pickle_dump(state, tmp_path / "s.pkl")
    assert alternatives.pickle_load(tmp_path / "s.pkl") == state
    alternatives.gzip_pickle_dump(state, tmp_path / "s.pkl.gz")
    assert alternatives.gzip_pickle_load(tmp_path / "s.pkl.gz") == state
    alternatives.json_dump(state, tmp_path / "s.json")
    assert alternatives.json_load(tmp_path / "s.json") == state
    digest = alternatives.dvc_add(state, tmp_path / "w.json", tmp_path / "cache")
    assert alternatives.dvc_checkout(digest, tmp_path / "cache") == state
    assert (tmp_path / "cache" / digest[:2] / digest[2:]).read_bytes() == (tmp_path / "w.json").read_bytes()


def test_sqlite_keeps_what_the_seed_keeps(tmp_path: Path) -> None:
    state = workloads.build_state("S")
    alternatives.sqlite_save(state, tmp_path / "s.db")
    loaded = alternatives.sqlite_load(tmp_path / "s.db")
    language = state["language_module"]
    assert loaded["language_module"]["vocabulary"] == language["vocabulary"]
    assert loaded["language_module"]["word_frequency"] == language["word_frequency"]
    assert loaded["language_module"]["context_associations"] == language["context_associations"]
    neuron = next(iter(language["neurons"]))
    assert loaded["language_module"]["neurons"][neuron]["connections"] == language["neurons"][neuron]["connections"]
    assert loaded["language_module"]["neurons"][neuron]["spike_count"] == len(language["neurons"][neuron]["spike_history"])
    assert loaded["memory_module"]["working_memory"] == state["memory_module"]["working_memory"]


def test_changes_are_deterministic() -> None:
    first, second = workloads.build_state("S"), workloads.build_state("S")
    workloads.one_percent(first)
    workloads.one_percent(second)
    workloads.one_learning_step(first)
    workloads.one_learning_step(second)
    assert first == second
    assert first != workloads.build_state("S")
    assert first["cognitive_metrics"]["step"] == workloads.build_state("S")["cognitive_metrics"]["step"] + 2


def test_budget_interrupts_and_reports() -> None:
    from benchmarks.measure import Budget, BudgetExhausted

    budget = Budget(0.05)
    with pytest.raises(BudgetExhausted):
        with budget.guard():
            while True:
                pass
    assert budget.exhausted
