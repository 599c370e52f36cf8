"""The one revision grammar (brainvcs.storage.revisions) and the commands that take ranges."""

from __future__ import annotations

import pytest

from brainvcs import Repository
from brainvcs.diff import api as diffapi
from brainvcs.errors import RevisionNotFoundError, UsageError
from brainvcs.query import commits_in_range
from brainvcs.storage.revisions import RevRange, is_range, parse_range, split_path
from tests.conftest import run_cli, sample_state


def test_the_grammar() -> None:
    assert parse_range("main") == RevRange(None, "main")
    assert parse_range("v1..main") == RevRange("v1", "main")
    assert parse_range("v1..") == RevRange("v1", "HEAD")
    assert parse_range("..main") == RevRange("HEAD", "main")
    assert parse_range("a...b") == RevRange("a", "b", True)
    assert is_range("a..b") and is_range("a...b") and not is_range("HEAD~2")
    assert split_path("HEAD~1:language_module") == ("HEAD~1", "language_module")
    assert split_path(":memory") == ("HEAD", "memory")
    assert split_path("main") == ("main", None)
    with pytest.raises(UsageError):
        parse_range("  ")


@pytest.fixture
def forked(repo: Repository) -> Repository:
    """base -> m1 -> m2 on main, base -> s1 on side."""
    repo.commit(sample_state(0), "base")
    repo.create_branch("side")
    repo.commit(sample_state(1), "m1")
    repo.commit(sample_state(2), "m2")
    repo.commit(sample_state(3), "s1", branch="side")
    return repo


def test_every_command_reads_ranges_the_same_way(forked: Repository) -> None:
    summaries = [c.summary for c in forked.log("side..main")]
    assert summaries == ["m2", "m1"]
    assert sorted(c.summary for c in forked.log("main...side")) == ["m1", "m2", "s1"]
    assert [c.summary for c in commits_in_range(forked, "side..main")] == ["m1", "m2"]
    assert sorted(c.summary for c in commits_in_range(forked, "main...side")) == ["m1", "m2", "s1"]
    base = forked.resolve("main~2")
    assert diffapi.split_range("main...side", None, forked) == (base, "side")  # from the merge base, as git diff
    assert diffapi.split_range("main..side", None) == ("main", "side")
    assert forked.resolve("main~2") == forked.resolve("side~1")
    with pytest.raises(RevisionNotFoundError, match="history is not that long"):
        forked.resolve("main~3")


def test_ranges_through_the_cli(forked: Repository) -> None:
    path = forked.gitdir
    assert path is not None
    log = run_cli("log", "--oneline", "side..main", "-C", path)
    assert log.exit_code == 0 and [line.rsplit(" ", 1)[1] for line in log.output.splitlines()] == ["m2", "m1"]
    symmetric = run_cli("log", "--oneline", "main...side", "-C", path)
    assert symmetric.exit_code == 0 and len(symmetric.output.splitlines()) == 3
    diff = run_cli("diff", "main...side", "--stat", "-C", path)
    assert diff.exit_code == 0, diff.output
    assert diff.output.startswith(f"diff {forked.resolve('main~2')[:7]}") or forked.resolve("main~2")[:7] in diff.output
    history = run_cli("history", "cognitive_metrics.step", "side..main", "-C", path)
    assert history.exit_code == 0 and history.output.count("\n") == 2
