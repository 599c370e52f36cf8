"""Shared fixtures: an isolated environment and ready-made repositories.

Every test runs with ``HOME`` in a temporary directory, a fixed git identity
and system git config disabled, so neither brainvcs (through dulwich's config
stack) nor C git reads the machine's own configuration.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from brainvcs import Repository

AUTHOR_NAME = "Test Author"
AUTHOR_EMAIL = "author@brainvcs.invalid"
IDENTITY = f"{AUTHOR_NAME} <{AUTHOR_EMAIL}>"


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private HOME with a minimal .gitconfig, a fixed identity and no system config."""
    home = tmp_path_factory.mktemp("home")
    (home / ".gitconfig").write_text(
        "[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n", encoding="utf-8")
    for name in list(os.environ):
        # A GIT_DIR or GIT_INDEX_FILE inherited from a hook would redirect every git call.
        if name.startswith("GIT_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_TERMINAL_PROMPT", "0")
    monkeypatch.setenv("GIT_AUTHOR_NAME", AUTHOR_NAME)
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", AUTHOR_EMAIL)
    monkeypatch.setenv("GIT_COMMITTER_NAME", AUTHOR_NAME)
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", AUTHOR_EMAIL)
    monkeypatch.delenv("BRAINVCS_DEBUG", raising=False)
    return home


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Repository]:
    """A fresh, empty disk repository at ``tmp_path / "brain"``."""
    with Repository.init(tmp_path / "brain") as opened:
        yield opened


@pytest.fixture
def mem_repo() -> Repository:
    """A fresh, empty in-memory repository."""
    return Repository.memory()


def sample_state(step: int = 0) -> dict[str, Any]:
    """A small state with nested dicts, lists and every scalar type; ``step`` varies it."""
    return {
        "language_module": {
            "word_frequency": {"hello": 3 + step, "world": 1, "héllo": 2},
            "context_associations": {"hello": ["world", "there"]},
        },
        "memory_module": {"working_memory": ["hello", "world"][: 1 + step % 2], "active": True},
        "cognitive_metrics": {"cognitive_load": 0.25, "step": step, "note": None},
    }


def git(*args: str | os.PathLike[str], cwd: str | os.PathLike[str] | None = None,
        check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run C git with the test environment; returns the completed process (text mode)."""
    return subprocess.run(["git", *map(str, args)], cwd=cwd, check=check, capture_output=True, text=True)


def run_cli(*args: str | os.PathLike[str], input: str | None = None) -> Any:
    """Invoke ``brainvcs`` in-process with click's CliRunner; asserts no Python traceback escaped.

    Returns click's ``Result`` (``exit_code``, ``output`` = stdout and stderr as seen in a
    terminal, ``stdout``, ``stderr``).
    """
    from click.testing import CliRunner

    from brainvcs.cli import main

    result = CliRunner().invoke(main, [str(a) for a in args], input=input)
    assert "Traceback" not in result.output, result.output
    if result.exception is not None:
        assert isinstance(result.exception, SystemExit), repr(result.exception)
    return result
