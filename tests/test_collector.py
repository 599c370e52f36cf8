"""brainvcs.snapshot.collector: commits and reads pause the cyclic collector, except beside the user's threads."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from brainvcs import Repository
from brainvcs.autosave import Autosaver
from brainvcs.snapshot import layout
from brainvcs.snapshot.collector import collector_left_alone, collector_paused


@pytest.fixture
def collecting() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    try:
        yield
    finally:
        (gc.enable if was else gc.disable)()


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether the collector was on, each time a commit built its snapshot."""
    states: list[bool] = []
    build = layout.build

    def spying(*args: Any, **kwargs: Any) -> Any:
        states.append(gc.isenabled())
        return build(*args, **kwargs)
    monkeypatch.setattr(layout, "build", spying)
    return states


def test_a_commit_runs_with_the_collector_off_and_turns_it_back_on(collecting: None, seen: list[bool]) -> None:
    repo = Repository.memory()
    repo.commit({"m": {"k": 1}}, "first")
    assert seen == [False] and gc.isenabled()
    gc.disable()
    repo.commit({"m": {"k": 2}}, "second")  # off before: left off
    assert seen == [False, False] and not gc.isenabled()


def test_a_failed_commit_turns_the_collector_back_on(collecting: None) -> None:
    repo = Repository.memory()
    with pytest.raises(Exception):
        repo.commit({"m": {"k": object()}}, "cannot be stored")
    assert gc.isenabled()


def test_a_thread_left_alone_never_turns_the_collector_off(collecting: None, seen: list[bool]) -> None:
    repo = Repository.memory()
    inside: list[bool] = []

    def work() -> None:
        with collector_left_alone():
            repo.commit({"m": {"k": 1}}, "beside")
            with collector_paused():
                inside.append(gc.isenabled())
        with collector_paused():  # outside the block: paused again
            inside.append(gc.isenabled())
    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert seen == [True] and inside == [True, False] and gc.isenabled()


def test_the_autosavers_worker_commits_with_the_collector_left_on(collecting: None, seen: list[bool],
                                                                   tmp_path: Path) -> None:
    # It commits while the brain's own threads go on learning: the collector is theirs too.
    repo = Repository.init(tmp_path / "brain")
    brain = {"language": {"word_frequency": {"hello": 1}}}
    with Autosaver(repo, brain, every_seconds=None) as saver:
        brain["language"]["word_frequency"]["world"] = 2
        saver.notify_change()
        result = saver.save_now(timeout=30)
    assert result is not None and seen and all(seen)
    assert repo.checkout(result.commit.id)["language"]["word_frequency"] == {"hello": 1, "world": 2}
