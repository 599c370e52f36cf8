"""Bad input from users: one clear line, a hint, a documented exit code, and an intact repository.

Every case runs the way a user meets it (the CLI, or the API for values only
Python can hold), then checks that nothing changed: the same refs, no new pack,
no temporary file left, ``verify`` clean and ``git fsck --strict`` clean.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import textwrap
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from brainvcs import Repository
from brainvcs.cli._common import EXIT_CODES_HELP
from brainvcs.errors import BrainVCSError, InvalidStateError
from brainvcs.storage.lock import RepositoryLock
from tests.conftest import git, run_cli, sample_state

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def brain(tmp_path: Path) -> Path:
    """A repository with two commits on main and a tag."""
    path = tmp_path / "brain"
    with Repository.init(path) as repo:
        repo.commit(sample_state(0), "first")
        repo.commit(sample_state(1), "second")
        repo.create_tag("v1")
    return path


def snapshot_of(path: Path) -> dict[str, Any]:
    """What must not change: every ref, HEAD, and the set of files under objects/."""
    with Repository.open(path) as repo:
        refs = repo.refs.all()
        head = (repo.current_branch, repo.head())
    objects = sorted(str(p.relative_to(path)) for p in (path / "objects").rglob("*") if p.is_file())
    return {"refs": refs, "head": head, "objects": objects}


def assert_intact(path: Path, before: dict[str, Any]) -> None:
    """Nothing moved, nothing was half-written, and both checkers agree the repository is sound."""
    assert snapshot_of(path) == before
    with Repository.open(path) as repo:
        report = repo.verify()
        assert report.ok, report.problems
    fsck = git("-C", path, "fsck", "--strict", "--no-progress", check=False)
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr
    assert "error" not in fsck.stderr.lower()


def assert_one_clean_error(stderr: str, code: int, exit_code: int) -> str:
    """Exactly ``error: <one line>`` and ``hint: <one line>``, and the documented code."""
    assert exit_code == code, stderr
    assert "Traceback" not in stderr
    lines = stderr.splitlines()
    assert len(lines) == 2, stderr
    assert lines[0].startswith("error: ") and lines[1].startswith("hint: "), stderr
    assert "internal error" not in lines[0]
    assert f"  {code} " in EXIT_CODES_HELP, f"exit code {code} is not documented in brainvcs --help"
    return lines[0][len("error: "):]


def write_state_text(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.json"
    path.write_text(text, encoding="utf-8")
    return path


# Each case: CLI arguments (a function of the repository and a scratch directory), the exit
# code, and a piece of the message.
CaseArgs = Callable[[Path, Path], list[str]]
CLI_CASES: list[tuple[str, CaseArgs, int, str]] = [
    ("nan", lambda r, t: ["commit", "-C", str(r), "-m", "x", str(write_state_text(t, '{"m": {"x": NaN}}'))],
     3, "m.x: NaN cannot be stored"),
    ("infinity", lambda r, t: ["commit", "-C", str(r), "-m", "x", str(write_state_text(t, '{"m": [1, Infinity]}'))],
     3, "m[1]: inf cannot be stored"),
    ("minus-infinity", lambda r, t: ["commit", "-C", str(r), "-m", "x",
                                     str(write_state_text(t, '{"m": {"w": -Infinity}}'))], 3, "m.w: -inf cannot"),
    ("huge-int", lambda r, t: ["commit", "-C", str(r), "-m", "x", str(write_state_text(t, '{"m": 18446744073709551616}'))],
     3, "m: integer 18446744073709551616 is outside"),
    ("truncated-json", lambda r, t: ["commit", "-C", str(r), "-m", "x", str(write_state_text(t, '{"m": {"x": [1, 2'))],
     3, "bad.json: not valid JSON"),
    ("not-an-object", lambda r, t: ["commit", "-C", str(r), "-m", "x", str(write_state_text(t, "[1, 2]"))],
     3, "expected a JSON object of modules"),
    ("too-deep", lambda r, t: ["commit", "-C", str(r), "-m", "x",
                               str(write_state_text(t, '{"m": ' + "[" * 200 + "]" * 200 + "}"))], 3, "nested deeper"),
    ("very-deep", lambda r, t: ["commit", "-C", str(r), "-m", "x",
                                str(write_state_text(t, '{"m": ' + "[" * 5000 + "]" * 5000 + "}"))], 3, "nested deeper"),
    ("duplicate-key", lambda r, t: ["commit", "-C", str(r), "-m", "x",
                                    str(write_state_text(t, '{"m": {"a": 1, "a": 2}}'))], 3,
     "key 'a' appears more than once"),
    ("reserved-key", lambda r, t: ["commit", "-C", str(r), "-m", "x",
                                   str(write_state_text(t, '{"m": {"$tensor": 1, "x": 2}}'))], 3, "reserved for tensors"),
    ("bad-tensor", lambda r, t: ["commit", "-C", str(r), "-m", "x", str(write_state_text(
        t, '{"m": {"$tensor": {"dtype": "<i1", "shape": [1], "values": [300]}}}'))], 3, "malformed tensor"),
    ("empty-module-name", lambda r, t: ["commit", "-C", str(r), "-m", "x", str(write_state_text(t, '{"": 1}'))],
     3, "module names must be non-empty strings"),
    ("empty-message", lambda r, t: ["commit", "-C", str(r), "-m", " ", str(write_state_text(t, '{"m": 1}'))],
     2, "empty commit message"),
    ("bad-author", lambda r, t: ["commit", "-C", str(r), "-m", "x", "--author", "nobody",
                                 str(write_state_text(t, '{"m": 1}'))], 2, "invalid author"),
    ("branch-dots", lambda r, t: ["branch", "-C", str(r), "a..b"], 2, "invalid branch name 'a..b'"),
    ("branch-space", lambda r, t: ["branch", "-C", str(r), "x y"], 2, "invalid branch name 'x y'"),
    ("branch-lock", lambda r, t: ["switch", "-C", str(r), "-c", "main.lock"], 2, "invalid branch name"),
    ("commit-branch", lambda r, t: ["commit", "-C", str(r), "-m", "x", "--branch", "bad~name",
                                    str(write_state_text(t, '{"m": 1}'))], 2, "invalid branch name"),
    ("tag-caret", lambda r, t: ["tag", "-C", str(r), "v1^"], 2, "invalid tag name 'v1^'"),
    ("tag-exists", lambda r, t: ["tag", "-C", str(r), "v1"], 5, "tag 'v1' already exists"),
    ("unknown-rev", lambda r, t: ["checkout", "-C", str(r), "nope"], 5, "unknown revision 'nope'"),
    ("too-far-back", lambda r, t: ["log", "-C", str(r), "HEAD~10"], 5, "history is not that long"),
    ("unknown-id", lambda r, t: ["show", "-C", str(r), "deadbeef"], 5, "unknown revision 'deadbeef'"),
    ("unknown-start", lambda r, t: ["branch", "-C", str(r), "new", "nope"], 5, "unknown revision 'nope'"),
    ("unknown-module", lambda r, t: ["checkout", "-C", str(r), "--module", "nope"], 2, "no module named 'nope'"),
    ("missing-repo", lambda r, t: ["log", "--repo", str(t / "nowhere")], 4, "no such directory"),
    ("not-a-repo", lambda r, t: ["log", "--repo", str(t)], 4, "not a brainvcs repository"),
    ("url-ipv6", lambda r, t: ["remote", "-C", str(r), "add", "origin", "https://[::1/x.git"], 2, "is malformed"),
    ("url-scheme", lambda r, t: ["remote", "-C", str(r), "add", "origin", "ftp://host/x.git"], 2,
     "unsupported remote URL scheme"),
    ("url-password", lambda r, t: ["remote", "-C", str(r), "add", "origin", "https://alice:s3cret@host/x.git"], 2,
     "https://alice:***@host/x.git carries a password"),
    ("url-port", lambda r, t: ["clone", "https://host:99999/x.git", str(t / "clone")], 2, "invalid port"),
]


@pytest.mark.parametrize(("name", "args", "code", "expected"), CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_cli_refuses_bad_input_cleanly(brain: Path, tmp_path: Path, name: str, args: CaseArgs, code: int,
                                       expected: str) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    before = snapshot_of(brain)
    result = run_cli(*args(brain, scratch))
    message = assert_one_clean_error(result.stderr, code, result.exit_code)
    assert expected in message
    assert "s3cret" not in result.output
    assert_intact(brain, before)
    assert not (scratch / "clone").exists()


class Opaque:
    """A type brainvcs knows nothing about."""


def _cycle() -> dict[str, Any]:
    loop: list[Any] = []
    loop.append(loop)
    return {"m": {"loop": loop}}


API_CASES: list[tuple[str, Callable[[], Any], str]] = [
    ("non-string-key", lambda: {"m": {"counts": {1: 2}}}, "m.counts.1: key 1 is a int"),
    ("tuple-key", lambda: {"m": {(1, 2): "x"}}, "only string keys"),
    ("cycle", _cycle, "m.loop[0]: cycle"),
    ("set", lambda: {"m": {"seen": {"a", "b"}}}, "m.seen: a set cannot be stored"),
    ("bytes", lambda: {"m": b"raw"}, "m: bytes cannot be stored"),
    ("unknown-type", lambda: {"m": [Opaque()]}, "m[0]: a value of type tests.test_bad_input.Opaque"),
    ("deque", lambda: {"m": deque([1, 2], maxlen=5)}, "collections.deque cannot be stored"),
    ("object-array", lambda: {"m": np.array([object()])}, "numpy dtype object cannot be stored"),
    ("nan-array-ok-but-nan-float", lambda: {"m": {"w": float("nan")}}, "m.w: NaN cannot be stored"),
    ("non-string-module", lambda: {1: "x"}, "module names must be non-empty strings"),
]


@pytest.mark.parametrize(("name", "make", "expected"), API_CASES, ids=[c[0] for c in API_CASES])
def test_api_refuses_unstorable_values_cleanly(brain: Path, name: str, make: Callable[[], Any],
                                               expected: str) -> None:
    before = snapshot_of(brain)
    with Repository.open(brain) as repo:
        with pytest.raises(InvalidStateError) as info:
            repo.commit(make(), "must not be written")
    error = info.value
    assert expected in error.message
    assert "\n" not in error.message and error.hint and "\n" not in error.hint
    assert error.exit_code == 3
    assert_intact(brain, before)


@pytest.mark.parametrize("value", [[1, 2], "state", 3, None])
def test_committing_something_that_is_not_a_state(brain: Path, value: Any) -> None:
    before = snapshot_of(brain)
    with Repository.open(brain) as repo:
        with pytest.raises(BrainVCSError) as info:
            repo.commit(value, "must not be written")
    assert info.value.exit_code in (2, 3)
    assert "\n" not in info.value.message and info.value.hint
    assert_intact(brain, before)


def test_every_brainvcs_error_class_has_a_documented_exit_code() -> None:
    from brainvcs import errors

    for value in vars(errors).values():
        if isinstance(value, type) and issubclass(value, BrainVCSError):
            assert f"  {value.exit_code} " in EXIT_CODES_HELP, value.__name__


def _hold_lock(gitdir: Path) -> subprocess.Popen[str]:
    code = textwrap.dedent(f"""
        import sys, time
        from brainvcs.storage.lock import RepositoryLock
        lock = RepositoryLock({str(gitdir)!r})
        lock.acquire()
        print("held", flush=True)
        sys.stdin.read()
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            env=_child_env())
    assert proc.stdout is not None and proc.stdout.readline() == "held\n"
    return proc


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def test_a_held_lock_is_exit_8_and_changes_nothing(brain: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(RepositoryLock, "__init__", functools.partialmethod(RepositoryLock.__init__, timeout=0.3))
    before = snapshot_of(brain)
    holder = _hold_lock(brain)
    try:
        state = write_state_text(tmp_path, json.dumps(sample_state(5)))
        result = run_cli("commit", "-C", brain, "-m", "blocked", state)
        message = assert_one_clean_error(result.stderr, 8, result.exit_code)
        assert message.startswith("the repository is locked by another process")
        assert f"pid {holder.pid}" in message
        result = run_cli("branch", "-C", brain, "blocked")
        assert_one_clean_error(result.stderr, 8, result.exit_code)
    finally:
        holder.communicate("")
    assert_intact(brain, before)
    # Once the holder is gone, the same commit goes through.
    assert run_cli("commit", "-C", brain, "-m", "now", state).exit_code == 0


def test_a_full_disk_is_a_clear_error_and_leaves_no_partial_pack(brain: Path, tmp_path: Path) -> None:
    """A file-size limit makes the pack write fail with EFBIG, as a full disk fails with ENOSPC."""
    rng = np.random.default_rng(7)
    big = {"weights": {f"n{i}": [float(x) for x in rng.random(50)] for i in range(2000)}}
    state = write_state_text(tmp_path, json.dumps(big))
    before = snapshot_of(brain)
    code = textwrap.dedent(f"""
        import resource, signal, sys
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, 256 * 1024))
        from brainvcs.cli import main
        main(["commit", "-C", {str(brain)!r}, "-m", "too big", "--allow-remove", {str(state)!r}])
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_child_env(),
                          timeout=300)
    message = assert_one_clean_error(proc.stderr, 14, proc.returncode)
    assert message.startswith("cannot write to ") and "File too large" in message
    assert message.endswith("nothing was committed")
    leftovers = [p.name for p in (brain / "objects" / "pack").iterdir() if not p.name.startswith("pack-")]
    assert leftovers == []
    assert_intact(brain, before)
