"""CLI tests for `brainvcs watch` (results checked through the API)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from brainvcs import Repository
from brainvcs.snapshot import statefile
from brainvcs.autosave import SEQ_TRAILER, SOURCE_TRAILER, WatchEvent, watch
from tests.conftest import run_cli, sample_state


@pytest.fixture
def repo_dir(tmp_path: Path) -> Path:
    """An empty repository."""
    Repository.init(tmp_path / "brain").close()
    return tmp_path / "brain"


def write_state(path: Path, state: dict[str, Any]) -> None:
    """Write a state file atomically, as a well-behaved brain process would."""
    statefile.write_state(state, path)


def replace_bytes(path: Path, data: bytes) -> None:
    """Give ``path`` new content in one step (so the watcher never sees an intermediate version)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def states_on(repo_dir: Path, branch: str) -> list[dict[str, Any]]:
    """The states committed on ``branch``, oldest first."""
    with Repository.open(repo_dir) as repo:
        return [repo.checkout(info.id) for info in reversed(repo.log(branch))]


class Watcher:
    """`brainvcs watch` in a real process, read line by line."""

    def __init__(self, repo_dir: Path, state_file: Path, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "brainvcs", "watch", "-C", str(repo_dir), str(state_file),
             "--debounce", "0.05", "--interval", "0.01", *args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert self.proc.stdout is not None
        self.stdout: IO[str] = self.proc.stdout
        self.lines: list[str] = []

    def expect(self, prefix: str) -> str:
        """Read lines until one starts with ``prefix`` (fails if the process ends first)."""
        while True:
            line = self.stdout.readline()
            assert line, f"watch ended before printing {prefix!r}; it printed {self.lines}"
            self.lines.append(line)
            if line.startswith(prefix):
                return line

    def finish(self) -> tuple[int, str]:
        """Wait for the exit; return the exit code and the rest of the output."""
        rest = self.stdout.read()
        self.stdout.close()
        return self.proc.wait(timeout=120), rest

    def close(self) -> None:
        """Kill the process if it still runs."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if not self.stdout.closed:
            self.stdout.close()


@pytest.fixture
def watcher_factory(repo_dir: Path) -> Iterator[Any]:
    """Start watchers; kill any left at the end."""
    started: list[Watcher] = []

    def start(state_file: Path, *args: str) -> Watcher:
        started.append(Watcher(repo_dir, state_file, *args))
        return started[-1]

    yield start
    for watcher in started:
        watcher.close()


def test_watch_commits_each_valid_version_and_skips_broken_ones(repo_dir: Path, tmp_path: Path,
                                                                 watcher_factory: Any) -> None:
    state_file = tmp_path / "live.json"
    write_state(state_file, sample_state(1))
    watcher = watcher_factory(state_file, "--max-commits", "3")
    first = watcher.expect("[autosave/main ")
    assert first.endswith(f"] {state_file}\n")
    # A half-written file (the writer was interrupted, or is not atomic): reported, never committed.
    data = statefile.encode_state(sample_state(2))
    replace_bytes(state_file, data[: len(data) // 2])
    skipped = watcher.expect("skipped: ")
    assert f"skipped: {state_file}: not valid JSON" in skipped
    # A state that cannot be stored exactly: reported with its path, never committed.
    replace_bytes(state_file, b'{"m": {"x": NaN}}')
    assert watcher.expect("skipped: ") == f"skipped: m.x: NaN cannot be stored (in {state_file})\n"
    write_state(state_file, sample_state(2))
    watcher.expect("[autosave/main ")
    write_state(state_file, sample_state(3))
    watcher.expect("[autosave/main ")
    code, rest = watcher.finish()
    assert code == 0 and rest == ""
    assert states_on(repo_dir, "autosave/main") == [sample_state(1), sample_state(2), sample_state(3)]
    with Repository.open(repo_dir) as repo:
        infos = repo.log("autosave/main")
        assert [info.trailers[SEQ_TRAILER] for info in infos] == ["3", "2", "1"]
        assert all(info.trailers[SOURCE_TRAILER] == "autosave" for info in infos)
        assert repo.verify().ok


def test_watch_stops_cleanly_on_ctrl_c(repo_dir: Path, tmp_path: Path, watcher_factory: Any) -> None:
    state_file = tmp_path / "live.json"
    write_state(state_file, sample_state(1))
    watcher = watcher_factory(state_file)
    watcher.expect("[autosave/main ")
    watcher.proc.send_signal(signal.SIGINT)
    code, rest = watcher.finish()
    assert code == 0
    assert rest == "stopped: 1 commit(s), 0 invalid version(s) skipped\n"
    assert states_on(repo_dir, "autosave/main") == [sample_state(1)]


def test_watch_once_commits_the_current_version(repo_dir: Path, tmp_path: Path) -> None:
    state_file = tmp_path / "live.json"
    write_state(state_file, sample_state(1))
    result = run_cli("watch", "-C", repo_dir, state_file, "--once")
    assert result.exit_code == 0
    with Repository.open(repo_dir) as repo:
        tip = repo.resolve("autosave/main")
    assert result.output == f"[autosave/main {tip[:7]}] {state_file}\n"
    again = run_cli("watch", "-C", repo_dir, state_file, "--once")
    assert again.exit_code == 0
    assert again.output == f"unchanged: {state_file} equals autosave/main\n"
    assert states_on(repo_dir, "autosave/main") == [sample_state(1)]


def test_watch_once_with_json_and_on_branch(repo_dir: Path, tmp_path: Path) -> None:
    state_file = tmp_path / "live.json"
    write_state(state_file, sample_state(4))
    result = run_cli("watch", "-C", repo_dir, state_file, "--once", "--on-branch", "--json", "-m", "from disk")
    assert result.exit_code == 0
    report = json.loads(result.output)
    assert report["branch"] == "main" and report["invalid"] == 0 and report["interrupted"] is False
    assert [c["summary"] for c in report["commits"]] == ["from disk"]
    assert states_on(repo_dir, "main") == [sample_state(4)]


def test_watch_once_refuses_an_invalid_file(repo_dir: Path, tmp_path: Path) -> None:
    state_file = tmp_path / "live.json"
    state_file.write_text('{"m": [1, 2')
    result = run_cli("watch", "-C", repo_dir, state_file, "--once")
    assert result.exit_code == 3
    assert result.output.startswith(f"error: {state_file}: not valid JSON")
    missing = run_cli("watch", "-C", repo_dir, tmp_path / "nope.json", "--once")
    assert missing.exit_code == 3
    assert missing.output.startswith(f"error: {tmp_path / 'nope.json'}: no such file")
    with Repository.open(repo_dir) as repo:
        assert repo.refs.branches() == {}


def test_watch_refuses_a_directory_and_bad_timings(repo_dir: Path, tmp_path: Path) -> None:
    result = run_cli("watch", "-C", repo_dir, tmp_path, "--once")
    assert result.exit_code == 2
    result = run_cli("watch", "-C", repo_dir, tmp_path / "x.json", "--interval", "0")
    assert result.exit_code == 2


def test_watch_api_reports_events_and_stops_on_request(repo_dir: Path, tmp_path: Path) -> None:
    state_file = tmp_path / "live.json"
    events: list[WatchEvent] = []
    stop = threading.Event()
    committed = threading.Event()

    def on_event(event: WatchEvent) -> None:
        events.append(event)
        committed.set()

    with Repository.open(repo_dir) as repo:
        thread = threading.Thread(target=lambda: reports.append(
            watch(repo, state_file, debounce=0.02, interval=0.01, on_event=on_event, stop=stop)))
        reports: list[Any] = []
        thread.start()
        write_state(state_file, sample_state(5))  # the file appears after the watch started
        assert committed.wait(60)
        stop.set()
        thread.join(60)
    assert [event.kind for event in events] == ["commit"]
    assert reports[0].commits[0].id == events[0].commit.id  # type: ignore[union-attr]
    assert reports[0].interrupted is False
    assert os.path.exists(state_file)
