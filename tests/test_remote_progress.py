"""Transfer progress (brainvcs.remote.progress): only on a terminal, objects + bytes + rate, sanitised."""

from __future__ import annotations

import io
from pathlib import Path

from brainvcs import Repository
from brainvcs.remote import ops
from brainvcs.remote.progress import (TerminalProgress, TransferMeter, for_terminal, from_dulwich, human_bytes,
                                      sanitize, transfer_line)

from .conftest import sample_state


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_human_bytes() -> None:
    assert [human_bytes(n) for n in (0, 1023, 1024, 1536 * 1024, 3 * 1024 ** 3)] == [
        "0 bytes", "1023 bytes", "1.00 KiB", "1.50 MiB", "3.00 GiB"]


def test_transfer_line_shows_objects_bytes_and_rate() -> None:
    assert transfer_line("Writing objects", 20, 40, 2 * 1024 * 1024, 2.0) == (
        "Writing objects:  50% (20/40), 2.00 MiB | 1.00 MiB/s\r")
    assert transfer_line("Receiving objects", 7, None, 100, 0.0, done=True) == (
        "Receiving objects: 7, 100 bytes | -, done.\n")


def test_meter_throttles_and_finishes() -> None:
    shown: list[str] = []
    now = [0.0]
    meter = TransferMeter("Writing objects", 3, shown.append, interval=1.0, clock=lambda: now[0])
    meter.add(1, 1024)
    meter.add(1, 1024)  # within the interval: not shown
    now[0] = 2.0
    meter.add(1, 1024)
    meter.finish()
    assert shown == ["Writing objects:  33% (1/3), 1.00 KiB | -\r",
                     "Writing objects: 100% (3/3), 3.00 KiB | 1.50 KiB/s\r",
                     "Writing objects: 100% (3/3), 3.00 KiB | 1.50 KiB/s, done.\n"]


def test_terminal_progress_writes_only_to_a_terminal() -> None:
    tty, pipe = _Tty(), io.StringIO()
    TerminalProgress(tty)("Counting objects: 5\r")
    TerminalProgress(pipe)("Counting objects: 5\r")
    assert tty.getvalue() == "Counting objects: 5\r"
    assert pipe.getvalue() == ""
    assert for_terminal(False, stream=pipe) is None
    assert for_terminal(True, stream=tty) is None
    assert isinstance(for_terminal(False, stream=tty), TerminalProgress)


def test_terminal_progress_closes_an_open_line() -> None:
    tty = _Tty()
    progress = TerminalProgress(tty)
    progress("50%\r")
    progress.close()
    progress.close()
    assert tty.getvalue() == "50%\r\n"


def test_server_messages_are_sanitised() -> None:
    assert sanitize("remote: \x1b[31mred\x07\r\n") == "remote: ?[31mred?\r\n"
    seen: list[str] = []
    callback = from_dulwich(seen.append)
    assert callback is not None
    callback(b"Compressing objects: 50%\x1b]0;title\x07\r")
    assert seen == ["Compressing objects: 50%?]0;title?\r"]
    assert from_dulwich(None) is None


def test_push_and_fetch_report_progress(repo: Repository, tmp_path: Path) -> None:
    Repository.init(tmp_path / "server.git").close()
    repo.commit(sample_state(0), "first")
    ops.remote_add(repo, "origin", str(tmp_path / "server.git"))
    shown: list[str] = []
    result = ops.push(repo, progress=shown.append)
    final = shown[-1]
    assert final.startswith(f"Writing objects: 100% ({result.objects_sent}/{result.objects_sent}), ")
    assert final.endswith(", done.\n")
    received: list[str] = []
    with ops.clone(str(tmp_path / "server.git"), tmp_path / "copy", progress=received.append) as copy:
        assert copy.head() == repo.head()
    assert any(line.startswith("Receiving objects: ") and line.endswith(", done.\n") for line in received)
