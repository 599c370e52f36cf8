"""Tests for brainvcs.autosave: the Autosaver API (watch and squash are tested through the CLI)."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from brainvcs import Repository
from brainvcs.autosave import (AUTOSAVE_SOURCE, SEQ_TRAILER, SOURCE_TRAILER, Autosaver, SaveResult, copy_state,
                               is_autosave)
from brainvcs.brains import ReferenceBrain
from brainvcs.errors import InvalidStateError, RefConflict, UsageError
from tests.conftest import sample_state

T1 = "The garden was quiet. Bees moved between the lavender and the beans."
T2 = "Waves folded onto the sand. A gull watched the bees."
T3 = "Rain came at dusk and the soil drank it."


def wait_until(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    """Poll ``predicate`` until it holds (a generous timeout: CI machines are slow)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.005)


class DictBrain:
    """A brain whose state is a dict it mutates in place; ``to_state`` returns the live dict."""

    def __init__(self) -> None:
        self.state: dict[str, Any] = {"memory": {"count": 0, "items": []}}

    def learn(self, item: str) -> int:
        """Append an item (the live structure changes in place)."""
        memory = self.state["memory"]
        memory["count"] += 1
        memory["items"].append(item)
        return int(memory["count"])

    def to_state(self) -> dict[str, Any]:
        """The live state (not a copy: the Autosaver copies it)."""
        return self.state


@pytest.fixture
def brain() -> ReferenceBrain:
    """A small reference brain."""
    return ReferenceBrain(n_neurons=16)


def commits_on(repo: Repository, branch: str) -> list[str]:
    """Commit ids on ``branch``, newest first ([] if it does not exist)."""
    if repo.refs.get("refs/heads/" + branch) is None:
        return []
    return [info.id for info in repo.log(branch)]


# -- saving policy -------------------------------------------------------------------------------


def test_nothing_changed_means_no_commit(repo: Repository, brain: ReferenceBrain) -> None:
    with Autosaver(repo, brain, every_seconds=0.01) as saver:
        time.sleep(0.1)
    assert saver.saves == 0
    assert saver.stop() is None
    assert repo.refs.branches() == {}


def test_every_changes_saves_after_that_many_changes(repo: Repository, brain: ReferenceBrain) -> None:
    saved: list[SaveResult] = []
    saver = Autosaver(repo, brain, every_seconds=None, every_changes=2, on_save=saved.append)
    saver.hook(brain, "learn")
    with saver:
        brain.learn(T1)
        assert saver.pending_changes == 1
        brain.learn(T2)
        wait_until(lambda: saver.saves == 1)
        after_two = brain.to_state()
        brain.learn(T3)
        assert saver.pending_changes == 1
        assert saver.saves == 1
    assert [(s.seq, s.changes, s.reason) for s in saved] == [(1, 2, "changes"), (2, 1, "stop")]
    assert saver.autosave_branch == "autosave/main"
    assert repo.checkout(saved[0].commit.id) == after_two
    assert repo.checkout("autosave/main") == brain.to_state()
    assert commits_on(repo, "autosave/main") == [saved[1].commit.id, saved[0].commit.id]


def test_every_seconds_saves_pending_changes_and_only_those(repo: Repository, brain: ReferenceBrain) -> None:
    saver = Autosaver(repo, brain, every_seconds=0.05)
    saver.hook(brain, "learn")
    with saver:
        brain.learn(T1)
        wait_until(lambda: saver.saves == 1)
        assert saver.last_save is not None and saver.last_save.reason == "interval"
        assert saver.pending_changes == 0
        time.sleep(0.3)  # idle: several intervals pass, nothing to save
        assert saver.saves == 1
        brain.learn(T2)
        wait_until(lambda: saver.saves == 2)
    assert saver.saves == 2
    assert repo.checkout("autosave/main") == brain.to_state()


def test_a_change_that_leaves_the_state_equal_commits_nothing(repo: Repository) -> None:
    state = {"memory": {"count": 1}}
    with Autosaver(repo, state, every_seconds=None) as saver:
        first = saver.save_now()
        assert first is not None and first.seq == 1
        saver.notify_change()
        assert saver.save_now() is None  # same state: no commit
    assert saver.saves == 1
    assert len(commits_on(repo, "autosave/main")) == 1


def test_commits_carry_autosave_trailers_and_a_sequence_that_continues(repo: Repository) -> None:
    state = {"memory": {"count": 0}}
    for session in range(2):
        with Autosaver(repo, state, every_seconds=None) as saver:
            for _ in range(2):
                state["memory"]["count"] += 1
                saver.save_now()
        assert saver.saves == 2
    infos = repo.log("autosave/main")
    assert [info.trailers[SEQ_TRAILER] for info in infos] == ["4", "3", "2", "1"]
    assert all(info.trailers[SOURCE_TRAILER] == AUTOSAVE_SOURCE and is_autosave(info) for info in infos)
    assert infos[0].summary == "autosave"
    assert "1 change(s) since the last autosave (now)" not in infos[0].message  # save_now counts no changes
    assert "0 change(s) since the last autosave (now)" in infos[0].message


def test_the_final_save_happens_on_stop(repo: Repository, brain: ReferenceBrain) -> None:
    saver = Autosaver(repo, brain, every_seconds=3600)
    saver.hook(brain, "learn")
    saver.start()
    brain.learn(T1)
    brain.learn(T2)
    assert saver.saves == 0
    final = saver.stop()
    assert final is not None and final.reason == "stop" and final.changes == 2
    assert repo.checkout("autosave/main") == brain.to_state()
    assert not saver.running
    assert saver.stop() is None  # a second stop does nothing


def test_the_final_save_happens_at_interpreter_exit(tmp_path: Path) -> None:
    path = tmp_path / "brain"
    Repository.init(path).close()
    script = (
        "import sys\n"
        "from brainvcs.autosave import Autosaver\n"
        "from brainvcs.brains import ReferenceBrain\n"
        "brain = ReferenceBrain(n_neurons=8)\n"
        "saver = Autosaver(sys.argv[1], brain, every_seconds=3600).start()\n"
        "saver.hook(brain, 'learn')\n"
        "brain.learn('learned just before exit')\n"
        "print(brain.step)\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    with Repository.open(path) as repo:
        info = repo.commit_info("autosave/main")
        assert info.trailers[SEQ_TRAILER] == "1"
        assert "(stop)" in info.message
        assert repo.checkout("autosave/main")["cognitive_metrics"]["step"] == int(done.stdout)


def test_the_overhead_budget_holds_saves_back_but_not_the_final_one(repo: Repository) -> None:
    state = {"memory": {"count": 0}}

    def slow_state() -> dict[str, Any]:
        time.sleep(0.02)  # a save costs at least this much...
        return state

    # ...so with a 0.1% budget the next save may not start for at least 20 s.
    saver = Autosaver(repo, get_state=slow_state, every_seconds=None, every_changes=1, max_overhead=0.001)
    with saver:
        state["memory"]["count"] = 1
        saver.notify_change()
        wait_until(lambda: saver.saves == 1)
        for count in (2, 3, 4):
            state["memory"]["count"] = count
            saver.notify_change()
        assert saver.pending_changes == 3  # held back by the budget
        assert saver.saves == 1
    assert saver.saves == 2  # the final save ignores the budget
    assert repo.checkout("autosave/main") == {"memory": {"count": 4}}


def test_changes_held_back_by_the_budget_are_saved_once_it_allows(repo: Repository) -> None:
    state = {"memory": {"count": 0}}

    def slow_state() -> dict[str, Any]:
        time.sleep(0.02)
        return state

    saver = Autosaver(repo, get_state=slow_state, every_seconds=None, every_changes=2, max_overhead=0.05)
    with saver:
        for count in (1, 2):
            state["memory"]["count"] = count
            saver.notify_change()
        wait_until(lambda: saver.saves == 1)
        for count in (3, 4):  # due, but within the budget's pause; no notification comes after it
            state["memory"]["count"] = count
            saver.notify_change()
        wait_until(lambda: saver.saves == 2)
        assert saver.pending_changes == 0
    assert saver.saves == 2
    assert repo.checkout("autosave/main") == {"memory": {"count": 4}}


# -- failures ------------------------------------------------------------------------------------


def test_a_failing_save_is_reported_to_on_error_and_logged_and_retried(
        repo: Repository, caplog: pytest.LogCaptureFixture) -> None:
    state: dict[str, Any] = {"memory": {"x": float("nan")}}
    errors: list[BaseException] = []
    caplog.set_level(logging.ERROR, logger="brainvcs.autosave")
    saver = Autosaver(repo, state, every_seconds=None, every_changes=1, on_error=errors.append).start()
    saver.notify_change()
    wait_until(lambda: len(errors) == 1)
    assert isinstance(errors[0], InvalidStateError)
    assert errors[0].path == "memory.x"
    assert saver.errors == errors
    assert saver.pending_changes == 1  # the change is still unsaved
    assert "autosave to autosave/main failed: memory.x: NaN" in caplog.text
    with saver.lock:
        state["memory"]["x"] = 1.5
    final = saver.stop()
    assert final is not None and final.changes == 1
    assert repo.checkout("autosave/main") == {"memory": {"x": 1.5}}


def test_stop_raises_when_the_final_save_fails(repo: Repository) -> None:
    errors: list[BaseException] = []
    saver = Autosaver(repo, {"m": {"x": float("inf")}}, every_seconds=3600, on_error=errors.append).start()
    saver.notify_change()
    with pytest.raises(InvalidStateError) as info:
        saver.stop()
    assert info.value.path == "m.x"
    assert errors == [info.value]
    assert repo.refs.branches() == {}


def test_a_failing_on_error_callback_is_logged_not_raised(repo: Repository, caplog: pytest.LogCaptureFixture) -> None:
    def broken(exc: BaseException) -> None:
        raise RuntimeError("callback bug")

    saver = Autosaver(repo, {"m": {"x": float("nan")}}, every_seconds=None, on_error=broken)
    with pytest.raises(InvalidStateError):
        saver.save_now()
    assert "autosave on_error callback failed" in caplog.text


def test_a_ref_conflict_is_reported_and_the_next_save_lands_on_top(repo: Repository) -> None:
    state = {"memory": {"count": 0}}
    errors: list[BaseException] = []
    with Autosaver(repo, state, every_seconds=None, on_error=errors.append) as saver:
        ours = saver.save_now()
        assert ours is not None
        theirs = repo.commit({"memory": {"count": 100}}, "another writer", branch="autosave/main").commit
        assert theirs is not None
        state["memory"]["count"] = 1
        with pytest.raises(RefConflict):
            saver.save_now()
        assert isinstance(errors[0], RefConflict)
        again = saver.save_now()
    assert again is not None
    assert again.commit.parents == (theirs.id,)
    assert again.seq == 2
    assert repo.checkout("autosave/main") == {"memory": {"count": 1}}


# -- branches -------------------------------------------------------------------------------------


def test_the_autosave_branch_starts_at_the_branch_tip(repo: Repository) -> None:
    base = repo.commit(sample_state(0), "base").commit
    assert base is not None
    with Autosaver(repo, sample_state(1), every_seconds=None) as saver:
        saved = saver.save_now()
    assert saved is not None and saved.commit.parents == (base.id,)
    assert repo.resolve("main") == base.id  # the branch itself did not move


def test_on_branch_saves_on_the_branch_itself(repo: Repository) -> None:
    base = repo.commit(sample_state(0), "base").commit
    assert base is not None
    with Autosaver(repo, sample_state(1), every_seconds=None, on_branch=True) as saver:
        saved = saver.save_now()
    assert saver.autosave_branch == "main"
    assert saved is not None and repo.resolve("main") == saved.commit.id
    assert saved.commit.parents == (base.id,)
    assert repo.refs.get("refs/heads/autosave/main") is None


def test_a_new_session_follows_a_branch_that_moved_on(repo: Repository) -> None:
    repo.commit(sample_state(0), "base")
    with Autosaver(repo, sample_state(1), every_seconds=None) as saver:
        old = saver.save_now()
    assert old is not None
    # main moves ahead of the old autosaves (fast-forward: the autosave line is in its history)
    merged = repo.commit(sample_state(2), "adopted the autosave", parents=[old.commit.id]).commit
    assert merged is not None
    with Autosaver(repo, sample_state(3), every_seconds=None) as saver:
        ahead = saver.save_now()
    assert ahead is not None and ahead.commit.parents == (merged.id,)
    # main diverges from the autosave line: the next session keeps both as parents
    diverged = repo.commit(sample_state(4), "main learned elsewhere", branch="main").commit
    assert diverged is not None
    repo.refs.move("refs/heads/main", diverged.id, merged.id, "test: rewind")
    other = repo.commit(sample_state(5), "main diverges").commit
    assert other is not None
    with Autosaver(repo, sample_state(6), every_seconds=None) as saver:
        both = saver.save_now()
    assert both is not None and both.commit.parents == (ahead.commit.id, other.id)
    assert both.seq == 3


def test_a_detached_head_needs_a_branch(repo: Repository) -> None:
    first = repo.commit(sample_state(0), "first").commit
    assert first is not None
    repo.refs.detach_head(first.id)
    with pytest.raises(UsageError) as info:
        Autosaver(repo, {}, every_seconds=None)
    assert info.value.hint == "pass branch=NAME"
    saver = Autosaver(repo, sample_state(1), every_seconds=None, branch="side")
    assert saver.autosave_branch == "autosave/side"


def test_a_path_and_a_memory_repository_work_too(tmp_path: Path, mem_repo: Repository) -> None:
    path = tmp_path / "brain"
    Repository.init(path).close()
    with Autosaver(str(path), sample_state(0), every_seconds=None) as saver:
        assert saver.save_now() is not None
    with Repository.open(path) as repo:
        assert repo.checkout("autosave/main") == sample_state(0)
    with Autosaver(mem_repo, sample_state(1), every_seconds=None) as saver:
        assert saver.save_now() is not None
    assert mem_repo.checkout("autosave/main") == sample_state(1)


# -- hooks and consistency ---------------------------------------------------------------------------


def test_hook_counts_calls_and_stop_restores_the_methods(repo: Repository) -> None:
    brain = DictBrain()

    def own_learn(item: str) -> int:
        return -1

    other = DictBrain()
    other.learn = own_learn  # type: ignore[method-assign]
    saver = Autosaver(repo, brain, every_seconds=None)
    saver.hook(brain, "learn")
    saver.hook(other, "learn")
    assert brain.learn.__name__ == "learn"
    with pytest.raises(UsageError):
        saver.hook(brain, "learn")
    with pytest.raises(UsageError):
        saver.hook(brain, "forget")
    with pytest.raises(UsageError):
        saver.hook(brain)
    with saver:
        assert brain.learn("a") == 1
        assert other.learn("b") == -1
        assert saver.pending_changes == 2
    assert "learn" not in vars(brain)
    assert vars(other)["learn"] is own_learn
    assert saver.saves == 1
    assert repo.checkout("autosave/main") == {"memory": {"count": 1, "items": ["a"]}}


def test_hook_leaves_the_instance_dict_alone_and_refuses_slotted_objects(repo: Repository) -> None:
    brain = ReferenceBrain(n_neurons=4)
    saver = Autosaver(repo, brain, every_seconds=None)
    # Reading __dict__ would materialise it and slow every attribute access of the brain.
    original_getattribute = object.__getattribute__
    touched: list[str] = []

    class Spy(ReferenceBrain):
        def __getattribute__(self, name: str) -> Any:
            if name == "__dict__":
                touched.append(name)
            return original_getattribute(self, name)

    spy = Spy.from_state(brain.to_state())
    saver.hook(spy, "learn")
    saver.unhook()
    assert touched == []
    assert spy.learn.__func__ is ReferenceBrain.learn  # type: ignore[attr-defined]

    class Slotted:
        __slots__ = ("x",)

        def learn(self) -> None:
            """Nothing."""

    with pytest.raises(UsageError) as info:
        saver.hook(Slotted(), "learn")
    assert info.value.hint == "call notify_change() after each learning step instead"


def test_the_state_is_never_read_in_the_middle_of_a_hooked_method(repo: Repository) -> None:
    brain = DictBrain()
    busy = threading.Event()
    torn: list[int] = []
    learn = brain.learn

    def slow_learn(item: str) -> int:
        busy.set()
        count = learn(item)
        time.sleep(0.0005)
        brain.state["memory"]["items"].append(item)  # a second half of the change
        busy.clear()
        return count

    def get_state() -> dict[str, Any]:
        if busy.is_set():
            torn.append(1)
        return brain.state

    brain.learn = slow_learn  # type: ignore[method-assign]
    saver = Autosaver(repo, brain, get_state=get_state, every_seconds=0.005)
    saver.hook(brain, "learn")
    with saver:
        for index in range(150):
            brain.learn(str(index))
    assert torn == []
    assert saver.saves >= 1
    saved = repo.checkout("autosave/main")
    assert saved == brain.state
    for info in repo.log("autosave/main"):  # every snapshot holds whole changes: items come in pairs
        items = repo.checkout(info.id)["memory"]["items"]
        assert items[::2] == items[1::2]


def test_the_captured_state_is_a_copy(repo: Repository) -> None:
    brain = DictBrain()
    saver = Autosaver(repo, brain, every_seconds=None, every_changes=1)
    saver.hook(brain, "learn")
    with saver:
        brain.learn("a")
        brain.state["memory"]["items"].append("not notified")  # mutated after the capture
        wait_until(lambda: saver.saves == 1)
        first = saver.last_save
    assert first is not None
    assert repo.checkout(first.commit.id) == {"memory": {"count": 1, "items": ["a"]}}


def test_copy_state_copies_containers_and_arrays() -> None:
    original = {"a": [1, {"b": (2, 3)}], "t": np.arange(3)}
    copied = copy_state(original)
    assert copied["a"] is not original["a"] and copied["a"][1] is not original["a"][1]
    assert copied["a"] == [1, {"b": (2, 3)}]
    copied["t"][0] = 9
    assert original["t"].tolist() == [0, 1, 2]


def test_invalid_settings_are_refused(repo: Repository) -> None:
    with pytest.raises(UsageError):
        Autosaver(repo, {}, every_seconds=0)
    with pytest.raises(UsageError):
        Autosaver(repo, {}, every_changes=0)
    with pytest.raises(UsageError):
        Autosaver(repo, {}, max_overhead=0)
    with pytest.raises(UsageError) as info:
        Autosaver(repo, None)  # any object is a brain now (its object graph), but there must be one
    assert "pass the brain" in (info.value.hint or "")
    with pytest.raises(UsageError, match="copy=True"):
        Autosaver(repo, {}, sync_remote="origin", copy=False)
    saver = Autosaver(repo, {}, every_seconds=None).start()
    with pytest.raises(UsageError):
        saver.start()
    saver.stop()


def test_autosaves_of_a_large_map_are_stored_as_deltas_and_read_back(repo: Repository, tmp_path: Path) -> None:
    """An Autosaver's commits go through the same pipeline: a big map changed a little becomes a delta."""
    state: dict[str, Any] = {"lang": {"freq": {f"w{i:05d}": i for i in range(3000)}}}
    saved = []
    with Autosaver(repo, state, every_seconds=None) as saver:
        for step in range(4):
            state["lang"]["freq"][f"w{step:05d}"] = -step
            state["lang"]["freq"][f"new{step}"] = step
            saver.notify_change()
            result = saver.save_now()
            assert result is not None
            saved.append(repo.manifest("autosave/main")["format"])
    assert saved[0] == "brainvcs-snapshot/1" and set(saved[1:]) == {"brainvcs-snapshot/2"}
    assert repo.checkout("autosave/main") == state
    assert repo.verify().ok
