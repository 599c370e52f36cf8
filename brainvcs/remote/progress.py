"""Transfer progress on a terminal: objects, bytes and rate, redrawn in place on stderr.

The remote operations take ``progress: Callable[[str], None] | None`` and call
it with text fragments in git's style: a fragment ending in ``\\r`` redraws the
current line, one ending in ``\\n`` finishes it. Messages from the server
(``Counting objects...``) and brainvcs's own (``Writing objects: 12/40,
1.20 MiB | 3.10 MiB/s``) both arrive that way. :class:`TerminalProgress`
prints them only when its stream is a terminal; the CLI passes none at all
with ``--quiet`` or ``--json``.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable
from typing import TextIO

#: The callback type every remote operation accepts.
ProgressFn = Callable[[str], None]

_SAFE = frozenset("\t\n\r\b") | frozenset(chr(c) for c in range(0x20, 0x7F))


def sanitize(text: str) -> str:
    """Drop control sequences a hostile server could send (ESC, bells...): keep printable text and \\r, \\n."""
    return "".join(ch if ch in _SAFE else "?" for ch in text)


def human_bytes(count: float) -> str:
    """``532 bytes``, ``12.40 KiB``, ``3.02 MiB``, ``1.10 GiB``."""
    if count < 1024:
        return f"{int(count)} bytes"
    for unit in ("KiB", "MiB", "GiB"):
        count /= 1024
        if count < 1024 or unit == "GiB":
            return f"{count:.2f} {unit}"
    return f"{count:.2f} GiB"  # pragma: no cover - loop always returns


def transfer_line(label: str, objects: int, total: int | None, nbytes: int, elapsed: float, *,
                  done: bool = False) -> str:
    """``Writing objects:  50% (20/40), 1.20 MiB | 3.10 MiB/s`` (``, done.\\n`` when finished)."""
    if total:
        share = f"{objects * 100 // total:3d}% ({objects}/{total})"
    else:
        share = str(objects)
    rate = human_bytes(nbytes / elapsed) + "/s" if elapsed > 0 else "-"
    end = ", done.\n" if done else "\r"
    return f"{label}: {share}, {human_bytes(nbytes)} | {rate}{end}"


class TransferMeter:
    """Counts objects and bytes of one transfer and reports at most every ``interval`` seconds."""

    def __init__(self, label: str, total: int | None, progress: ProgressFn | None, *,
                 interval: float = 0.25, clock: Callable[[], float] = time.monotonic) -> None:
        self.label = label
        self.total = total
        self.objects = 0
        self.bytes = 0
        self._progress = progress
        self._interval = interval
        self._clock = clock
        self._start = clock()
        self._last = self._start - interval

    def add(self, objects: int, nbytes: int) -> None:
        """Record ``objects`` more objects of ``nbytes`` bytes."""
        self.objects += objects
        self.bytes += nbytes
        if self._progress is not None:
            now = self._clock()
            if now - self._last >= self._interval:
                self._last = now
                self._progress(transfer_line(self.label, self.objects, self.total, self.bytes, now - self._start))

    def finish(self) -> None:
        """Print the final line (only if anything was transferred)."""
        if self._progress is not None and self.objects:
            self._progress(transfer_line(self.label, self.objects, self.total, self.bytes,
                                         self._clock() - self._start, done=True))


class TerminalProgress:
    """A progress callback writing to ``stream`` (default stderr) only if it is a terminal."""

    def __init__(self, stream: TextIO | None = None, *, enabled: bool | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        if enabled is None:
            isatty = getattr(self.stream, "isatty", None)
            enabled = bool(isatty and isatty())
        self.enabled = enabled
        self._open_line = False

    def __call__(self, text: str) -> None:
        """Show one fragment (``...\\r`` redraws the line, ``...\\n`` ends it)."""
        if not self.enabled or not text:
            return
        clean = sanitize(text)
        self.stream.write(clean)
        self.stream.flush()
        self._open_line = not clean.endswith("\n")

    def close(self) -> None:
        """End a line left open by a ``\\r`` fragment."""
        if self.enabled and self._open_line:
            self.stream.write("\n")
            self.stream.flush()
            self._open_line = False


def for_terminal(quiet: bool = False, *, stream: TextIO | None = None) -> TerminalProgress | None:
    """The CLI's progress callback: None when ``quiet``; otherwise prints only on a terminal."""
    if quiet:
        return None
    progress = TerminalProgress(stream)
    return progress if progress.enabled else None


class ServerMessages:
    """Collects what a server prints during a transfer (hook output), passing it on to ``progress`` too.

    Transfer counters (``Resolving deltas: 40%``) are not kept; the rest is,
    sanitised, so a refusal can quote the server without a terminal.
    """

    #: Most characters of server text kept (the last ones).
    KEEP = 2000

    def __init__(self, progress: ProgressFn | None = None) -> None:
        self.progress = progress
        self._buffer = ""

    def add(self, text: str) -> None:
        """One fragment from the server."""
        if self.progress is not None:
            self.progress(text)
        self._buffer = (self._buffer + sanitize(text))[-4 * self.KEEP:]

    def text(self) -> str:
        """The server's message lines, joined with ``; `` (empty if it said nothing but counters)."""
        lines = []
        for raw in self._buffer.replace("\r", "\n").split("\n"):
            line = raw.strip()
            if line and not _COUNTER.match(line):
                lines.append(line)
        return "; ".join(lines)[-self.KEEP:]


_COUNTER = re.compile(r"^(?:remote: )?(Resolving deltas|Counting objects|Compressing objects|Writing objects|"
                      r"Enumerating objects|Receiving objects|Unpacking objects|Total \d+)")


def from_dulwich(progress: ProgressFn | None) -> Callable[[bytes], None] | None:
    """Adapt a text progress callback to dulwich's bytes callback (server messages, sanitised)."""
    if progress is None:
        return None
    target = progress

    def callback(data: bytes) -> None:
        target(sanitize(data.decode("utf-8", "replace")))

    return callback
