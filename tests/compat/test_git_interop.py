"""C git reads what brainvcs writes, and brainvcs reads what C git writes.

The demo repository is made by the real console script (``brainvcs demo DIR``
in a subprocess); then C git checks it (``fsck --strict``), lists it (``log``)
and clones it, and brainvcs reads the clone, including commits C git made there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from brainvcs import Repository
from brainvcs.errors import CorruptObjectError, IntegrityError, NotABrainCommitError

from .conftest import require


@pytest.fixture(autouse=True)
def _c_git() -> None:
    """C git is the other side of every test here: a machine without it fails them (see conftest.require)."""
    require(shutil.which("git") is not None, "C git is not installed")

BRAINVCS = Path(sys.executable).with_name("brainvcs")


def client_env(home: Path) -> dict[str, str]:
    """The environment for C git and the console script: private HOME, fixed identity, no system config."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    home.mkdir(parents=True, exist_ok=True)
    (home / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n")
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), GIT_CONFIG_NOSYSTEM="1",
               GIT_TERMINAL_PROMPT="0", GIT_AUTHOR_NAME="Interop Test", GIT_AUTHOR_EMAIL="interop@brainvcs.invalid",
               GIT_COMMITTER_NAME="Interop Test", GIT_COMMITTER_EMAIL="interop@brainvcs.invalid")
    env.pop("BRAINVCS_DEBUG", None)
    return env


class Env:
    """Runs C git and brainvcs with one isolated environment."""

    def __init__(self, home: Path) -> None:
        self.env = client_env(home)

    def git(self, *args: str | os.PathLike[str], cwd: Path | None = None,
            check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run C git."""
        return subprocess.run(["git", *map(str, args)], cwd=cwd, env=self.env, check=check,
                              capture_output=True, text=True)

    def brainvcs(self, *args: str | os.PathLike[str]) -> subprocess.CompletedProcess[str]:
        """Run the installed console script."""
        command = [str(BRAINVCS)] if BRAINVCS.exists() else [sys.executable, "-m", "brainvcs"]
        return subprocess.run([*command, *map(str, args)], env=self.env, capture_output=True, text=True)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Env:
    """One isolated environment for the module."""
    return Env(tmp_path_factory.mktemp("home"))


@pytest.fixture(scope="module")
def demo(env: Env, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository made by ``brainvcs demo DIR`` (the real console script, in a subprocess)."""
    target = tmp_path_factory.mktemp("demo") / "brain"
    result = env.brainvcs("demo", target)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stdout.startswith(f"Created a brain repository in {target}\n")
    return target


def brainvcs_commits(repo: Repository) -> set[str]:
    """Every commit reachable from any branch."""
    return {c.id for b in repo.branches() for c in repo.log(b.name)}


@pytest.fixture
def clone(env: Env, demo: Path, tmp_path: Path) -> Iterator[Path]:
    """A work-tree ``git clone`` of the demo repository."""
    env.git("clone", "-q", demo, tmp_path / "clone")
    yield tmp_path / "clone"


def test_git_fsck_strict_is_clean(env: Env, demo: Path) -> None:
    result = env.git("--git-dir", demo, "fsck", "--strict", "--no-dangling", check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert not [line for line in result.stderr.splitlines() if line.lower().startswith("error")]


def test_git_log_lists_every_commit(env: Env, demo: Path) -> None:
    with Repository.open(demo) as repo:
        commits = brainvcs_commits(repo)
        main_log = [c.id for c in repo.log("main")]
    assert len(commits) == 5  # four learning commits and the merge of the branch
    full = env.git("--git-dir", demo, "log", "--format=%H", "--all").stdout.split()
    assert sorted(full) == sorted(commits)
    oneline = env.git("--git-dir", demo, "log", "--oneline", "--all").stdout
    for commit_id in commits:
        assert commit_id[:7] in oneline
    assert env.git("--git-dir", demo, "log", "--format=%H", "main").stdout.split() == main_log
    trailer = env.git("--git-dir", demo, "log", "-1", "--format=%(trailers:key=Brain-Fingerprint,valueonly)", "main")
    with Repository.open(demo) as repo:
        assert trailer.stdout.strip() == repo.manifest("main")["fingerprint"]


def test_brainvcs_reads_a_git_clone(demo: Path, clone: Path) -> None:
    with Repository.open(demo) as original:
        fingerprints = {b.name: original.manifest(b.name)["fingerprint"] for b in original.branches()}
        states = {b.name: original.checkout(b.name) for b in original.branches()}
        tags = original.tags()
    with Repository.open(clone) as copy:
        assert copy.gitdir == (clone / ".git").resolve()
        assert copy.current_branch == "main"
        assert sorted(copy.refs.remote_branches()) == sorted(["origin/HEAD", *(f"origin/{b}" for b in fingerprints)])
        assert copy.manifest("HEAD")["fingerprint"] == fingerprints["main"]
        assert copy.checkout("HEAD") == states["main"]
        for branch, fingerprint in fingerprints.items():
            assert copy.manifest(f"origin/{branch}")["fingerprint"] == fingerprint
            assert copy.commit_info(f"origin/{branch}").fingerprint == fingerprint
            assert copy.checkout(f"origin/{branch}") == states[branch]
        assert copy.tags() == tags
        assert copy.verify().ok


def test_brainvcs_reads_commits_made_by_c_git(env: Env, demo: Path, clone: Path) -> None:
    with Repository.open(demo) as original:
        state = original.checkout("main")
        fingerprint = original.manifest("main")["fingerprint"]
    env.git("commit", "-q", "--allow-empty", "-m", "a note from C git", cwd=clone)
    # A file committed beside the brain is refused (a planted brainvcs/ package must never be
    # read as part of a snapshot); removing it with C git makes the snapshot whole again.
    (clone / "NOTES.md").write_text("Trained on the bundled texts.\n")
    env.git("add", "NOTES.md", cwd=clone)
    env.git("commit", "-q", "-m", "add notes beside the brain", cwd=clone)
    with Repository.open(clone) as repo:
        with pytest.raises(CorruptObjectError, match="does not account for: 'NOTES.md'") as refused:
            repo.checkout("HEAD")
        assert "`git rm` them" in (refused.value.hint or "")
        assert not repo.verify("HEAD").ok
    env.git("rm", "-q", "NOTES.md", cwd=clone)
    env.git("commit", "-q", "-m", "keep notes in commit messages instead", cwd=clone)
    with Repository.open(clone) as repo:
        log = repo.log(max_count=3)
        assert [c.summary for c in log[:2]] == ["keep notes in commit messages instead", "add notes beside the brain"]
        log = [log[0], *repo.log(max_count=4)[2:]]
        assert log[0].author.startswith("Interop Test <interop@brainvcs.invalid>")
        assert log[0].fingerprint is None  # C git wrote no trailer
        assert log[2].fingerprint == fingerprint
        for rev in ("HEAD", "HEAD~2"):
            assert repo.checkout(rev) == state
            assert repo.manifest(rev)["fingerprint"] == fingerprint
        # the commit that held NOTES.md stays in history, and verify keeps saying so
        problems = repo.verify("HEAD").problems
        assert len(problems) == 1 and "does not account for: 'NOTES.md'" in problems[0]
        # And brainvcs can commit on top of C git's commit in the same repository.
        result = repo.commit({**state, "cognitive_metrics": {"step": 1}}, "after C git")
        assert result.commit is not None and result.commit.parents == (log[0].id,)
    assert env.git("fsck", "--strict", "--no-dangling", cwd=clone).returncode == 0


def test_a_hand_edited_brain_file_is_refused(env: Env, clone: Path) -> None:
    inline = clone / "cognitive_metrics.json"
    assert inline.exists(), sorted(p.name for p in clone.iterdir())
    inline.write_text(inline.read_text().replace("0", "1", 1))
    env.git("commit", "-q", "-am", "edit a blob by hand", cwd=clone)
    with Repository.open(clone) as repo:
        with pytest.raises(IntegrityError, match="cognitive_metrics.json"):
            repo.checkout("HEAD")
        report = repo.verify("HEAD")
        assert len(report.problems) == 1
        assert "cognitive_metrics.json: BLAKE3 digest mismatch" in report.problems[0]


def test_a_commit_that_is_not_a_snapshot(env: Env, clone: Path) -> None:
    env.git("checkout", "-q", "--orphan", "plain", cwd=clone)
    env.git("rm", "-q", "-rf", ".", cwd=clone)
    (clone / "README").write_text("no brain here\n")
    env.git("add", "README", cwd=clone)
    env.git("commit", "-q", "-m", "not a brain", cwd=clone)
    with Repository.open(clone) as repo:
        assert repo.current_branch == "plain"
        assert repo.log()[0].summary == "not a brain"
        with pytest.raises(NotABrainCommitError) as info:
            repo.checkout("plain")
        assert info.value.message == "plain: snapshot has no brain.json; this commit is not a brainvcs snapshot"
        assert info.value.hint == "this commit was not written by brainvcs"
        assert info.value.exit_code == 6
        assert repo.checkout("main") == repo.checkout("origin/main")


def test_python_dash_m_brainvcs(env: Env, demo: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "brainvcs", "log", "--oneline", "-C", str(demo)], env=env.env,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 5
    missing = subprocess.run([sys.executable, "-m", "brainvcs", "log", "-C", str(demo), "nope"], env=env.env,
                             capture_output=True, text=True)
    assert missing.returncode == 5
    assert missing.stdout == ""
    assert missing.stderr.startswith("error: unknown revision 'nope'\n")
    assert "Traceback" not in missing.stderr
