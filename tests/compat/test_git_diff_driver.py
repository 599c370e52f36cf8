"""C git's own ``git diff`` and ``git log -p`` show semantic brain diffs after ``brainvcs git-setup``.

A brainvcs repository with two snapshots is cloned with C git (a working
tree); ``python -m brainvcs git-setup`` runs in the clone, exactly as a user
would run it; then plain git commands must print the learning summary.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from brainvcs import Repository
from brainvcs.diff import api as diffapi
from tests.conftest import IDENTITY, git
from tests.test_diff import new_state, old_state


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """A C git clone of a two-commit brain, with the diff driver installed by the real command line."""
    with Repository.init(tmp_path / "origin.git") as repo:
        repo.commit(old_state(), "first words", author=IDENTITY)
        repo.commit(new_state(), "learn: tide", author=IDENTITY)
    git("clone", "-q", tmp_path / "origin.git", tmp_path / "clone")
    setup = subprocess.run([sys.executable, "-m", "brainvcs", "git-setup"], cwd=tmp_path / "clone",
                           capture_output=True, text=True)
    assert setup.returncode == 0, setup.stderr
    return tmp_path / "clone"


def summary(clone: Path) -> str:
    """The learning summary of HEAD, from the API."""
    with Repository.open(clone) as repo:
        return diffapi.summarize(repo, "HEAD")


def test_git_diff_shows_the_semantic_diff(clone: Path) -> None:
    result = git("diff", "HEAD~1", "HEAD", cwd=clone)
    assert f"summary: {summary(clone)}\n" in result.stdout
    assert "diff --brainvcs a/brain.json b/brain.json\n" in result.stdout
    assert "    hello: 12 → 19 (+7)\n" in result.stdout
    assert "  episodic_memory: 3 → 4 items: +2 appended, 1 dropped from head\n" in result.stdout
    # other files keep git's line diff of the canonical JSON, as a git host shows it
    assert '-    "hello": 12,\n' in result.stdout and '+    "hello": 19,\n' in result.stdout
    stat = git("diff", "--stat", "HEAD~1", "HEAD", cwd=clone)
    assert "brain.json" in stat.stdout


def test_git_log_p_shows_the_summary_and_an_overview(clone: Path) -> None:
    result = git("log", "-p", "-1", cwd=clone)
    assert f"    {summary(clone)}\n" in result.stdout
    # brain.json through the textconv: an overview of each snapshot, so the line diff is a semantic one
    assert ('-cognitive_metrics.mood: "calm"\n-cognitive_metrics.step: 10\n'
            '+cognitive_metrics.mood: "curious"\n+cognitive_metrics.step: 11\n') in result.stdout
    assert " language_module.word_frequency: object, 3 keys\n" in result.stdout
    assert ("-memory_module.active: true\n-memory_module.episodic_memory: list, 3 items\n"
            "+memory_module.active: false\n+memory_module.episodic_memory: list, 4 items\n") in result.stdout
    full = git("log", "-p", "-1", "--ext-diff", cwd=clone)
    assert f"summary: {summary(clone)}\n" in full.stdout


def test_git_show_of_the_first_commit_is_a_new_brain(clone: Path) -> None:
    result = git("show", "--ext-diff", "HEAD~1", cwd=clone)
    assert "summary: new brain: 3 modules (cognitive_metrics, language_module, memory_module)\n" in result.stdout
    assert "semantic diff of the brain: (empty) → " in result.stdout


def test_git_diff_against_the_working_tree(clone: Path) -> None:
    git("checkout", "-q", "HEAD~1", "--", ".", cwd=clone)
    result = git("diff", "HEAD", cwd=clone)
    assert "    hello: 19 → 12 (-7)\n" in result.stdout
    assert "summary: +1 word, -1 word" in result.stdout  # "world" comes back, "tide" goes
