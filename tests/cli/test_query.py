"""CLI tests for history, stats and log --learned (checked through the API)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from brainvcs import Repository
from brainvcs.cli._common import format_date
from brainvcs.query import stats
from tests.conftest import run_cli, sample_state

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def repo_dir(tmp_path: Path) -> Path:
    """A repository with three hand-made commits."""
    with Repository.init(tmp_path / "brain") as repo:
        for step, frequency in enumerate([{"hello": 1}, {"hello": 2, "brain": 1}, {"hello": 2, "brain": 3}]):
            repo.commit({"language_module": {"vocabulary": {w: {} for w in frequency}, "word_frequency": frequency,
                                             "neurons": {"n0": {"connections": {"n1": 0.5 * step}}}},
                         "memory_module": {"working_memory": [step], "episodic_memory": []}},
                        f"step {step}", timestamp=1_800_000_000 + step)
    return tmp_path / "brain"


def _ids(repo_dir: Path) -> list[str]:
    with Repository.open(repo_dir) as repo:
        return [c.id for c in reversed(repo.log())]


def test_history_text_and_json(repo_dir: Path) -> None:
    ids = _ids(repo_dir)
    result = run_cli("history", "-C", repo_dir, "language_module.word_frequency.brain")
    assert result.exit_code == 0, result.output
    dates = [format_date(1_800_000_000 + i) for i in range(3)]
    assert result.output == (f"{ids[0][:7]}  {dates[0]}  (absent)\n{ids[1][:7]}  {dates[1]}  1\n"
                             f"{ids[2][:7]}  {dates[2]}  3\n")
    as_json = run_cli("history", "-C", repo_dir, "language_module.word_frequency.hello", "HEAD~1..HEAD", "--json")
    assert json.loads(as_json.stdout) == [{"commit": ids[2], "summary": "step 2", "author_time": 1_800_000_002,
                                           "present": True, "changed": True, "value": 2}]
    changes = run_cli("history", "-C", repo_dir, "language_module.word_frequency.hello", "--changes-only")
    assert [line.split()[0] for line in changes.output.splitlines()] == [ids[0][:7], ids[1][:7]]
    subtree = run_cli("history", "-C", repo_dir, "language_module.neurons.n0")
    assert subtree.output.splitlines()[2].endswith('{"connections":{"n1":1.0}}')


def test_history_bad_path_and_range(repo_dir: Path) -> None:
    bad = run_cli("history", "-C", repo_dir, "a..b")
    assert bad.exit_code == 2 and bad.stderr.startswith("error: invalid path 'a..b'")
    unknown = run_cli("history", "-C", repo_dir, "language_module", "nope..HEAD")
    assert unknown.exit_code == 5


def test_log_learned(repo_dir: Path) -> None:
    ids = _ids(repo_dir)
    result = run_cli("log", "-C", repo_dir, "--learned", "brain", "--oneline")
    assert result.exit_code == 0, result.output
    assert result.output == f"{ids[1][:7]} step 1\n"
    as_json = run_cli("log", "-C", repo_dir, "--learned", "hello", "--json")
    assert [c["id"] for c in json.loads(as_json.stdout)] == [ids[0]]
    never = run_cli("log", "-C", repo_dir, "--learned", "zebra")
    assert never.exit_code == 0 and never.stdout == ""
    assert never.stderr == "'zebra' was never learned in the history of HEAD\n"


def test_stats_table_json_and_plot(repo_dir: Path, tmp_path: Path) -> None:
    ids = _ids(repo_dir)
    result = run_cli("stats", "-C", repo_dir)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["commit", "words", "seen", "mean_w", "links", "working", "episodic", "responses",
                                "history"]
    assert lines[1].split() == [ids[0][:7], "1", "1", "0.0000", "1", "1", "0", "-", "-"]
    assert lines[3].split() == [ids[2][:7], "2", "5", "1.0000", "1", "1", "0", "-", "-"]
    as_json = run_cli("stats", "-C", repo_dir, "HEAD~1..", "--json")
    [row] = json.loads(as_json.stdout)
    assert row["commit"] == ids[2] and row["total_word_count"] == 5 and row["mean_connection_weight"] == 1.0
    assert row["response_memory"] is None
    png = tmp_path / "curves.png"
    plotted = run_cli("stats", "-C", repo_dir, "--plot", png)
    assert plotted.exit_code == 0 and plotted.stderr == f"wrote {png}\n"
    assert png.read_bytes()[:8] == PNG_SIGNATURE
    import matplotlib.image

    assert matplotlib.image.imread(str(png)).shape[2] == 4
    with Repository.open(repo_dir) as repo:
        assert [r.vocabulary_size for r in stats(repo)] == [1, 2, 2]


def test_history_of_a_path_that_never_existed_says_so(tmp_path: Path) -> None:
    with Repository.init(tmp_path / "brain") as repo:
        repo.commit(sample_state(0), "one")
        repo.commit(sample_state(1), "two")
    result = run_cli("history", "language_module.vocab.nonexistent", "-C", tmp_path / "brain")
    assert result.exit_code == 5
    assert result.stderr.splitlines()[0] == (
        "error: language_module.vocab.nonexistent does not exist in any of the 2 commit(s) of HEAD")
    assert "--module language_module" in result.stderr
    # a path that exists in some commits still lists every commit, absent ones marked
    ok = run_cli("history", "memory_module.working_memory[1]", "-C", tmp_path / "brain")
    assert ok.exit_code == 0 and "(absent)" in ok.output


def test_stats_on_a_brain_it_cannot_measure_says_so(tmp_path: Path) -> None:
    with Repository.init(tmp_path / "brain") as repo:
        repo.commit({"cortex": {"layers": [1, 2]}}, "one")
    for args in (["stats"], ["stats", "--plot", tmp_path / "curves.png"]):
        result = run_cli(*args, "-C", tmp_path / "brain")
        assert result.exit_code == 2, result.output
        assert "none of the parts stats measures" in result.stderr and "brainvcs history PATH" in result.stderr
    assert not (tmp_path / "curves.png").exists()
    assert json.loads(run_cli("stats", "--json", "-C", tmp_path / "brain").output)[0]["vocabulary_size"] is None
