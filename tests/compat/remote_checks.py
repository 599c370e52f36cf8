"""Scenarios every remote server must pass with brainvcs (used by test_remote_http/ssh/daemon.py).

Each function takes a URL on a real server (and the environment C git needs
for it) and asserts the issue's "done when" conditions: brainvcs pushes a
brain's history, a second brainvcs clone has identical fingerprints, C git
clones it with ``git fsck --strict`` clean, a commit pushed by C git is pulled
by brainvcs, and a stale push is refused with the tracking ref unchanged.
"""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest

from brainvcs import Repository
from brainvcs.brains import bundled_texts
from brainvcs.demo import learn
from brainvcs.errors import PushRejectedError
from brainvcs.remote import ops

GIT_TIMEOUT = 60.0


def git(*args: str, env: dict[str, str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run C git with ``env``, bounded in time; fail the test with its output on a non-zero exit."""
    proc = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=GIT_TIMEOUT, check=False)
    assert proc.returncode == 0, f"git {' '.join(args)} exited {proc.returncode}\n{proc.stdout}{proc.stderr}"
    return proc


def unique_name(prefix: str) -> str:
    """A repository name no other test in the session uses."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}.git"


def texts() -> list[str]:
    """The bundled texts, in name order."""
    bundled = bundled_texts()
    return [bundled[name] for name in sorted(bundled)]


def fingerprints(repo: Repository, rev: str = "HEAD") -> list[str | None]:
    """Every commit's fingerprint along ``rev``'s history, newest first."""
    return [info.fingerprint for info in repo.log(rev)]


def push_history_and_clone(url: str, git_env: dict[str, str], tmp_path: Path) -> None:
    """brainvcs pushes three learning commits and a tag; a brainvcs clone and a C git clone both get them."""
    with Repository.init(tmp_path / "trainer") as trainer:
        for text in texts()[:3]:
            learn(trainer, [text])
        trainer.create_tag("v1", "HEAD~1", message="after two texts")
        ops.remote_add(trainer, "origin", url)
        pushed = ops.push(trainer, "origin", ["main", "v1"])
        assert [(r.dst, r.status, r.kind) for r in pushed.refs] == [
            ("refs/heads/main", "ok", "new"), ("refs/tags/v1", "ok", "new")]
        assert pushed.objects_sent > 0 and pushed.bytes_sent > 0
        assert trainer.refs.get("refs/remotes/origin/main") == trainer.head()
        expected = fingerprints(trainer)
        head, state = trainer.head(), trainer.checkout()

    with ops.clone(url, tmp_path / "copy") as copy:
        assert copy.head() == head
        assert fingerprints(copy) == expected
        assert copy.manifest()["fingerprint"] == expected[0]
        assert copy.checkout() == state
        assert copy.tags() == {"v1": copy.resolve("HEAD~1")}
        assert copy.verify().ok

    work = tmp_path / "c-git-clone"
    git("clone", "--quiet", url, str(work), env=git_env)
    git("fsck", "--strict", "--no-dangling", env=git_env, cwd=work)
    assert git("rev-parse", "HEAD", env=git_env, cwd=work).stdout.strip() == head
    assert git("rev-list", "--count", "HEAD", env=git_env, cwd=work).stdout.strip() == "3"
    assert (work / "brain.json").is_file()


def c_git_push_is_pulled(url: str, git_env: dict[str, str], tmp_path: Path) -> None:
    """A commit made in a brainvcs clone and pushed by C git is pulled by another brainvcs clone."""
    with Repository.init(tmp_path / "seed") as seed:
        learn(seed, [texts()[0]])
        ops.remote_add(seed, "origin", url)
        ops.push(seed)
    maker = ops.clone(url, tmp_path / "maker")
    puller = ops.clone(url, tmp_path / "puller")
    try:
        learn(maker, [texts()[1]])
        made, state = maker.head(), maker.checkout()
        # C git reads the remote brainvcs configured and pushes brainvcs's objects.
        git("--git-dir", str(maker.gitdir), "push", "--quiet", "origin", "main", env=git_env)
        before = puller.head()
        result = ops.pull(puller)
        assert (result.status, result.old, result.new) == ("fast-forward", before, made)
        assert puller.checkout() == state
        assert puller.manifest()["fingerprint"] == maker.manifest()["fingerprint"]
        assert puller.verify().ok
    finally:
        maker.close()
        puller.close()


def stale_push_is_refused(url: str, tmp_path: Path) -> None:
    """A push that would drop the remote's newer commits is refused; the tracking ref does not move."""
    with Repository.init(tmp_path / "base") as base:
        learn(base, [texts()[0]])
        ops.remote_add(base, "origin", url)
        ops.push(base)
    first = ops.clone(url, tmp_path / "first")
    second = ops.clone(url, tmp_path / "second")
    try:
        learn(first, [texts()[1]])
        ops.push(first)
        learn(second, [texts()[2]])
        tracking = second.refs.get("refs/remotes/origin/main")
        with pytest.raises(PushRejectedError) as caught:
            ops.push(second)
        assert caught.value.rejected == {"refs/heads/main": "fetch first"}
        assert caught.value.exit_code == 12
        assert second.refs.get("refs/remotes/origin/main") == tracking
        assert ops.ls_remote(url).refs["refs/heads/main"] == first.head()
    finally:
        first.close()
        second.close()


def hook_refusal_is_reported(url: str, server_repo: Path, tmp_path: Path) -> None:
    """A server-side hook that declines: the ref's status says so, the push fails, no tracking ref moves."""
    hook = server_repo / "hooks" / "pre-receive"
    hook.parent.mkdir(exist_ok=True)
    hook.write_text("#!/bin/sh\necho 'brains are frozen today' >&2\nexit 1\n", encoding="utf-8")
    hook.chmod(0o755)
    with Repository.init(tmp_path / "hooked") as repo:
        learn(repo, [texts()[0]])
        ops.remote_add(repo, "origin", url)
        with pytest.raises(PushRejectedError) as caught:
            ops.push(repo)
        result = caught.value.result
        assert isinstance(result, ops.PushResult)
        assert [(r.status, r.reason) for r in result.refs] == [("remote-rejected", "pre-receive hook declined")]
        assert result.refs[0].line() == "! [remote rejected] main -> main (pre-receive hook declined)"
        assert caught.value.rejected == {"refs/heads/main": "pre-receive hook declined"}
        # no terminal here (no progress callback): the hook's own words still reach the user
        assert "the server said: " in (caught.value.hint or "") and "brains are frozen today" in caught.value.hint
        assert repo.refs.remote_branches() == {}
    hook.unlink()
