"""`learn` and `demo`: the reference brain learning inside a repository.

:func:`learn` loads the brain at HEAD (or starts a fresh one), feeds it text,
and commits the result with a generated summary of what was learned.
:func:`run_demo` shows the whole loop with nothing to set up.
"""

from __future__ import annotations

import importlib.util

import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .diff import api as diffapi
from .brains import LearnReport, ReferenceBrain, bundled_texts
from .diff import render_text
from .merge import api as merge_api
from .errors import BrainVCSError, InvalidStateError, UsageError
from .repo import CommitResult, Repository

SOURCE_TRAILER = "Brain-Source"


@dataclass(frozen=True)
class LearnResult:
    """What :func:`learn` learned and committed."""

    report: LearnReport
    commit: CommitResult

    def to_json(self) -> dict[str, Any]:
        """A stable JSON-ready dict."""
        return {"learned": self.report.to_dict(), "summary": self.report.summary(), **self.commit.to_json()}


def load_reference_brain(repo: Repository, rev: str = "HEAD") -> ReferenceBrain:
    """The reference brain stored at ``rev``, or a fresh one if the branch has no commits."""
    if repo.head() is None and rev == "HEAD":
        return ReferenceBrain()
    state = repo.checkout(rev)
    try:
        return ReferenceBrain.from_state(state)
    except InvalidStateError as exc:
        raise UsageError(f"{rev} does not hold a reference-brain state ({exc.message})",
                         "`brainvcs learn` works on repositories made by `brainvcs learn`/`demo`; "
                         "use `brainvcs commit` for other states") from None


def learn(repo: Repository, texts: Iterable[str], *, message: str | None = None,
          branch: str | None = None, author: str | None = None) -> LearnResult:
    """Teach the reference brain at HEAD ``texts`` and commit what it learned."""
    brain = load_reference_brain(repo)
    total = LearnReport()
    for text in texts:
        report = brain.learn(text)
        total.inputs += report.inputs
        total.new_words.extend(w for w in report.new_words if w not in total.new_words)
        total.word_encounters += report.word_encounters
        total.spikes += report.spikes
        total.strengthened_connections += report.strengthened_connections
        total.memories_added += report.memories_added
    if total.inputs == 0:
        raise UsageError("nothing to learn: the text has no words")
    summary = total.summary()
    result = repo.commit(brain.to_state(), message or f"learn: {summary}", branch=branch, author=author,
                         summary=summary if message else None, trailers={SOURCE_TRAILER: "learn"})
    return LearnResult(total, result)


@dataclass
class DemoResult:
    """The demo repository and what happened in it."""

    path: Path
    steps: list[tuple[str, str, LearnResult]] = field(default_factory=list)


def run_demo(directory: str | Path | None = None, *, echo: Callable[[str], None] = print) -> DemoResult:
    """Create a repository, train the reference brain over several commits and a branch, and narrate."""
    path = Path(directory) if directory is not None else Path(tempfile.mkdtemp(prefix="brainvcs-demo-")) / "brain"
    texts = bundled_texts()
    names = sorted(texts)
    if len(names) < 4:
        raise BrainVCSError("the bundled texts are missing; the installation is incomplete")
    result = DemoResult(path)
    with Repository.init(path) as repo:
        echo(f"Created a brain repository in {path}")

        def step(branch: str, name: str) -> None:
            outcome = learn(repo, [texts[name]], message=f"learn {name.replace('_', ' ')}", branch=branch)
            result.steps.append((branch, name, outcome))
            assert outcome.commit.commit is not None
            echo(f"  [{branch} {outcome.commit.commit.id[:7]}] learn {name.replace('_', ' ')}: {outcome.report.summary()}")

        echo("Training on main:")
        step("main", names[0])
        step("main", names[1])
        repo.create_tag("v1", message="the brain after its first two texts")
        echo("  tagged v1")
        repo.switch(f"explore/{names[3]}", create=True)
        echo(f"Branch explore/{names[3]} learns something different:")
        step(f"explore/{names[3]}", names[3])
        repo.switch("main")
        echo("Back on main:")
        step("main", names[2])
        echo("")
        for b in repo.branches():
            echo(f"History of {b.name}:")
            for info in repo.log(b.name):
                echo(f"  {info.id[:7]} {info.summary}")
        echo("")
        echo("What each branch knows:")
        for b in repo.branches():
            brain = load_reference_brain(repo, b.name)
            echo(f"  {b.name:<24} {brain.vocabulary_size} words, fingerprint {repo.manifest(b.name)['fingerprint'][:16]}")
        v1 = load_reference_brain(repo, "v1")
        main = load_reference_brain(repo, "main")
        echo(f"  v1 knew {v1.vocabulary_size} words; main has learned {main.vocabulary_size - v1.vocabulary_size} more since")
        echo("")
        echo("What main learned since v1 (brainvcs diff v1 main --stat):")
        for line in render_text(diffapi.diff(repo, "v1", "main"), stat=True).splitlines():
            if line.strip() and not line.startswith(" "):  # the per-module lines, not every record
                echo(f"  {line}")
        branch = f"explore/{names[3]}"
        echo("")
        echo(f"Merging {branch} into main by meaning (brainvcs merge {branch}):")
        plan = merge_api.merge(repo, branch, dry_run=True).plan
        resolutions = {conflict.path: "ours" for conflict in plan.conflicts} if plan is not None else {}
        for conflict in plan.conflicts if plan is not None else []:
            echo(f"  conflict at {conflict.path}: ours {conflict.ours!r}, theirs {conflict.theirs!r} -> keeping ours")
        merged = merge_api.merge(repo, branch, resolutions=resolutions)
        assert merged.commit is not None and merged.commit.commit is not None
        brain = load_reference_brain(repo, "main")
        echo(f"  [main {merged.commit.commit.id[:7]}] merge commit with parents "
             f"{' and '.join(p[:7] for p in merged.commit.commit.parents)}: {brain.vocabulary_size} words, "
             f"word counts = base + both branches' counts")
        report = repo.verify()
        echo("")
        echo(f"verify: {report.commits} commits, {report.objects} objects read, "
             f"{'all digests match' if report.ok else 'PROBLEMS: ' + '; '.join(report.problems[:3])}")
        echo(f"Explore it: brainvcs --help; brainvcs log --repo {path}; git -C {path} log --stat")
        needs = "" if importlib.util.find_spec("starlette") and importlib.util.find_spec("uvicorn") else \
            " (after pip install 'brainvcs[review]')"
        echo(f"Review its learning in a browser: brainvcs --repo {path} review{needs}")
    return result
