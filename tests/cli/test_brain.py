"""CLI tests for learn and demo (results checked through the API)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from brainvcs import Repository
from brainvcs.brains import ReferenceBrain, bundled_texts
from tests.conftest import run_cli, sample_state

T1 = "The garden was quiet. Bees moved between the lavender and the beans."
T2 = "Waves folded onto the sand. The garden smelled of rain and salt."


@pytest.fixture
def repo_dir(tmp_path: Path) -> Path:
    """An empty repository."""
    Repository.init(tmp_path / "brain").close()
    return tmp_path / "brain"


def test_learn_text_then_file(repo_dir: Path, tmp_path: Path) -> None:
    first = run_cli("learn", "-C", repo_dir, T1)
    assert first.exit_code == 0, first.output
    expected = ReferenceBrain()
    report = expected.learn(T1)
    with Repository.open(repo_dir) as repo:
        info = repo.commit_info()
        assert first.output == f"[main {info.id[:7]}] {report.summary()}\n"
        assert info.summary == f"learn: {report.summary()}"
        assert info.trailers["Brain-Source"] == "learn"
        assert repo.checkout() == expected.to_state()
    text_file = tmp_path / "more.txt"
    text_file.write_text(T2, encoding="utf-8")
    second = run_cli("learn", "-C", repo_dir, "--file", text_file, "-m", "read a file")
    assert second.exit_code == 0, second.output
    expected.learn(T2)
    with Repository.open(repo_dir) as repo:
        assert [c.summary for c in repo.log()] == ["read a file", f"learn: {report.summary()}"]
        assert repo.checkout() == expected.to_state()
        assert repo.commit_info().fingerprint == Repository.memory().commit(expected.to_state(), "m").fingerprint


def test_learn_from_stdin_json_and_branch(repo_dir: Path) -> None:
    result = run_cli("learn", "-C", repo_dir, "--file", "-", "--branch", "reading", "--json", input=T1)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["ref"] == "refs/heads/reading"
    assert doc["changed"] is True
    brain = ReferenceBrain()
    report = brain.learn(T1)
    assert doc["learned"] == report.to_dict()
    assert doc["summary"] == report.summary()
    with Repository.open(repo_dir) as repo:
        assert repo.refs.branches() == {"reading": doc["commit"]["id"]}


def test_learn_errors(repo_dir: Path) -> None:
    nothing = run_cli("learn", "-C", repo_dir)
    assert nothing.exit_code == 2
    assert "give TEXT arguments or --file" in nothing.output
    no_words = run_cli("learn", "-C", repo_dir, "... !!!")
    assert no_words.exit_code == 2
    assert no_words.stderr.startswith("error: nothing to learn: the text has no words\n")
    with Repository.open(repo_dir) as repo:
        assert repo.head() is None
        repo.commit(sample_state(), "not a reference brain")
    foreign = run_cli("learn", "-C", repo_dir, T1)
    assert foreign.exit_code == 2
    assert foreign.stderr.startswith("error: HEAD does not hold a reference-brain state")
    with Repository.open(repo_dir) as repo:
        assert len(repo.log()) == 1


def test_demo(tmp_path: Path) -> None:
    target = tmp_path / "demo"
    result = run_cli("demo", target)
    assert result.exit_code == 0, result.output
    names = sorted(bundled_texts())
    assert result.output.startswith(f"Created a brain repository in {target}\n")
    assert "  tagged v1\n" in result.output
    assert "all digests match" in result.output
    with Repository.open(target) as repo:
        branches = {b.name for b in repo.branches()}
        assert branches == {"main", f"explore/{names[3]}"}
        assert repo.current_branch == "main"
        all_commits = {c.id for b in branches for c in repo.log(b)}
        assert len(all_commits) == 5
        # main: gardening, music (v1), programming, then the merge of the branch's sea text
        merge = repo.commit_info("main")
        assert len(merge.parents) == 2
        assert merge.parents[1] == repo.resolve(f"explore/{names[3]}")
        assert len(repo.log("main")) == 5
        assert repo.tags() == {"v1": repo.resolve("main~2")}
        report = repo.verify()
        assert report.ok and report.commits == len(all_commits)
        main_brain = ReferenceBrain.from_state(repo.checkout("main"))
        sea_brain = ReferenceBrain.from_state(repo.checkout(f"explore/{names[3]}"))
        v1_brain = ReferenceBrain.from_state(repo.checkout("v1"))
        before_merge = ReferenceBrain.from_state(repo.checkout("main^1"))
        assert main_brain.vocabulary_size > before_merge.vocabulary_size > v1_brain.vocabulary_size
        # the merge keeps both sides' words, and counts add up: base + both deltas
        main_freq = repo.checkout("main")["language_module"]["word_frequency"]
        ours = repo.checkout("main^1")["language_module"]["word_frequency"]
        theirs = repo.checkout("main^2")["language_module"]["word_frequency"]
        base = repo.checkout("v1")["language_module"]["word_frequency"]
        for word in set(ours) | set(theirs):
            assert main_freq[word] == ours.get(word, 0) + theirs.get(word, 0) - base.get(word, 0)
        assert sea_brain.vocabulary_size < main_brain.vocabulary_size
        assert f"v1 knew {v1_brain.vocabulary_size} words" in result.output
        assert "conflict at cognitive_metrics.attention_focus.primary_focus" in result.output
    # The demo is deterministic: a second run yields the same snapshots.
    again = tmp_path / "again"
    assert run_cli("demo", again).exit_code == 0
    with Repository.open(target) as one, Repository.open(again) as two:
        for branch in branches:
            assert one.commit_info(branch).tree == two.commit_info(branch).tree


def test_demo_refuses_a_non_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    result = run_cli("demo", tmp_path / "full")
    assert result.exit_code == 4
    assert result.stderr.startswith(f"error: {tmp_path / 'full'} exists and is not empty\n")
