"""The benchmark suite: brainvcs against every alternative, on the same states, in one run.

    python -m benchmarks.suite --sizes S,M --commits 100 --out benchmarks/results/suite.json

Prints a table (operation | brainvcs | alternative | ratio | target | met?) and
writes the same rows as JSON. Progress goes to stderr. ``--quick`` runs one
repetition of each timing and short histories (the test suite runs it on S).
The targets are issue 8's, stated for the M workload; they are shown for every
workload so a regression is visible on S too.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import io
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python benchmarks/suite.py`: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dulwich.diff_tree import tree_changes
from dulwich.pack import write_pack_data

from benchmarks import alternatives as alt
from benchmarks import zodb_peer
from benchmarks.measure import Budget, BudgetExhausted, best_of, process_peak, timed, traced_peak
from benchmarks.workloads import WORKLOADS, State, build_state, describe, one_learning_step, one_percent
from brainvcs.snapshot import canonical, layout
from brainvcs.repo import Repository
from brainvcs.storage.objects import pack_count, read_commit
from brainvcs.storage.treereader import GitTreeReader

#: Operation groups ``--ops`` can select.
OPS: tuple[str, ...] = ("save", "checkout", "noop", "incremental", "storage", "memory", "history", "zodb")
#: Benchmarks other engineers own; the suite calls their ``run(size)`` when they exist.
EXTRA_BENCHMARKS: tuple[str, ...] = ("bench_diff", "bench_push", "bench_autosave", "torture_autosave", "fuzz")
#: The module a one-module checkout reads (small next to ``language_module``, as a UI panel would).
ONE_MODULE = "memory_module"
_START = time.perf_counter()


def progress(message: str) -> None:
    """One progress line on stderr."""
    print(f"[{time.perf_counter() - _START:7.1f}s] {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Row:
    """One line of the table: a brainvcs figure against an alternative's, and the target ratio."""

    workload: str
    operation: str
    brainvcs: float
    alternative: str
    other: float
    unit: str
    target: float | None = None
    note: str = ""

    @property
    def ratio(self) -> float:
        """brainvcs / alternative (lower is better)."""
        return self.brainvcs / self.other if self.other else math.inf

    @property
    def met(self) -> bool | None:
        """Whether the ratio is within the target (None when there is no target)."""
        return None if self.target is None else self.ratio <= self.target

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict including the derived ratio and verdict."""
        return {**asdict(self), "ratio": self.ratio if math.isfinite(self.ratio) else None, "met": self.met}


# -- brainvcs helpers ------------------------------------------------------------------------


def digest_walk_diff(repo: Repository, old: str, new: str) -> int:
    """Compare two snapshots, skipping subtrees whose ids are equal; decode both sides of each change.

    This is the least work any diff of the two must do (stand-in until
    ``brainvcs.diff`` exists); returns how many blobs differ.
    """
    before, after = repo.reader(old), repo.reader(new)

    def listing(reader: GitTreeReader, path: str) -> dict[str, bool]:
        try:
            return reader.list_dir(path)
        except KeyError:
            return {}

    def walk(path: str) -> int:
        left, right = listing(before, path), listing(after, path)
        changed = 0
        for name in sorted(left.keys() | right.keys()):
            full = f"{path}/{name}" if path else name
            if name in left and name in right and before.entry_id(full) == after.entry_id(full):
                continue
            if left.get(name) or right.get(name):
                changed += walk(full)
                continue
            for reader, side in ((before, left), (after, right)):
                if name in side:
                    canonical.decode(reader.read_file(full))
            changed += 1
        return changed

    return walk("")


def _message(repo: Repository, commit: str) -> str:
    """The full message of a brainvcs commit (what C git is given to store the same commit)."""
    return read_commit(repo.objects, commit).message.decode("utf-8")


def diff_function(repo: Repository) -> tuple[str, Callable[[str, str], object]]:
    """The diff to time: brainvcs's own (``brainvcs.diff.api.diff``) when it exists, else :func:`digest_walk_diff`."""
    try:
        diffapi = importlib.import_module("brainvcs.diff.api")
    except ModuleNotFoundError as exc:
        if exc.name not in ("brainvcs.diff.api", "brainvcs.diff"):
            raise
        progress("diff: brainvcs.diff.api does not exist at this commit: timing the digest walk instead")
        return "digest walk (no brainvcs.diff.api yet)", lambda a, b: digest_walk_diff(repo, a, b)
    return "brainvcs.diff.api.diff", lambda a, b: diffapi.diff(repo, a, b)


def push_pack_bytes(repo: Repository, old: str, new: str) -> int:
    """Size of the pack a push of ``new`` sends to a remote that has ``old`` (dulwich's send-pack data)."""
    store = repo.objects
    count, records = store.generate_pack_data([old.encode()], [new.encode()])
    sink = io.BytesIO()
    write_pack_data(sink.write, records, store.object_format, num_records=count)
    return sink.tell()


def sync_cgit(repo: Repository, git: alt.CGit, old: str, new: str) -> int:
    """Make C git's work tree hold the files of brainvcs commit ``new``, given it holds ``old``'s."""
    store = repo.objects
    old_tree, new_tree = read_commit(store, old).tree, read_commit(store, new).tree
    changed = 0
    for change in tree_changes(store, old_tree, new_tree):
        if change.new is None or change.new.path is None:
            assert change.old is not None and change.old.path is not None
            git.remove_files([change.old.path.decode()])
        else:
            git.write_files([(change.new.path.decode(), store[change.new.sha].as_raw_string())])
        changed += 1
    return changed


def check_same_tree(git: alt.CGit, tree: str) -> None:
    """C git must have committed exactly brainvcs's tree (same files, same bytes, same ids)."""
    theirs = git.run("rev-parse", "HEAD^{tree}").decode().strip()
    if theirs != tree:
        raise RuntimeError(f"C git committed tree {theirs}, brainvcs {tree}: the work trees differ")


def fresh_repo(root: Path, name: str) -> Repository:
    """A new empty brainvcs repository under ``root``."""
    return Repository.init(root / name)


# -- one workload --------------------------------------------------------------------------


class WorkloadRun:
    """Measures one workload; each ``measure_*`` method appends rows."""

    def __init__(self, name: str, root: Path, *, repeat: int, commits: int, ops: Sequence[str],
                 budget: float) -> None:
        self.name = name
        self.budget = budget
        self.root = root
        self.repeat = repeat
        self.commits = commits
        self.ops = ops
        self.rows: list[Row] = []
        self.facts: dict[str, Any] = {"description": describe(name)}
        progress(f"{name}: building state ({describe(name)})")
        self.state = build_state(name)
        self.pickle_dump = self.pickle_load = 0.0
        self.gzip_size = 0
        self.full_checkout = 0.0
        #: brainvcs's own figures, for the peers measured later (ZODB).
        self.ours: dict[str, float] = {}

    def row(self, operation: str, brainvcs: float, alternative: str, other: float, unit: str,
            target: float | None = None, note: str = "") -> None:
        """Record one row."""
        self.rows.append(Row(self.name, operation, brainvcs, alternative, other, unit, target, note))

    def _alt_path(self, name: str) -> Path:
        directory = self.root / "alt"
        directory.mkdir(exist_ok=True)
        path = directory / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
        return path

    def measure_alternatives(self) -> dict[str, float]:
        """Save and load times of every file-based alternative on the current state."""
        state, repeat, out = self.state, self.repeat, {}
        progress(f"{self.name}: pickle, gzip-pickle, seed JSON, seed SQLite, DVC-like cache")
        pkl, gz, js, db = (self._alt_path(n) for n in ("state.pkl", "state.pkl.gz", "state.json", "state.db"))
        out["pickle.dump"] = best_of(repeat, lambda _: alt.pickle_dump(state, pkl), lambda: None)
        out["pickle.load"] = best_of(repeat, lambda _: alt.pickle_load(pkl), lambda: None)
        out["gzip-pickle dump"] = best_of(repeat, lambda _: alt.gzip_pickle_dump(state, gz), lambda: None)
        out["gzip-pickle load"] = best_of(repeat, lambda _: alt.gzip_pickle_load(gz), lambda: None)
        out["seed JSON dump"] = best_of(repeat, lambda _: alt.json_dump(state, js), lambda: None)
        out["seed JSON load"] = best_of(repeat, lambda _: alt.json_load(js), lambda: None)
        out["seed SQLite save"] = best_of(repeat, lambda p: alt.sqlite_save(state, p),
                                          lambda: self._alt_path("state.db"))
        out["seed SQLite load"] = best_of(repeat, lambda _: alt.sqlite_load(db), lambda: None)
        cache = self._alt_path("dvc-cache")
        digest = alt.dvc_add(state, self._alt_path("dvc-state.json"), cache)
        out["DVC-like add"] = best_of(repeat, lambda c: alt.dvc_add(state, self.root / "alt" / "dvc-state.json", c),
                                      lambda: self._alt_path("dvc-cache"))
        cache = self._alt_path("dvc-cache")
        digest = alt.dvc_add(state, self.root / "alt" / "dvc-state.json", cache)
        out["DVC-like checkout"] = best_of(repeat, lambda _: alt.dvc_checkout(digest, cache), lambda: None)
        self.facts["sizes"] = {"pickle": pkl.stat().st_size, "gzip-pickle": gz.stat().st_size,
                               "seed JSON": js.stat().st_size, "seed SQLite": db.stat().st_size,
                               "canonical JSON": (self.root / "alt" / "dvc-state.json").stat().st_size}
        self.facts["alternatives_s"] = out
        self.pickle_dump, self.pickle_load = out["pickle.dump"], out["pickle.load"]
        self.gzip_size = gz.stat().st_size
        return out

    def measure_first_commit(self, times: dict[str, float]) -> tuple[Repository, alt.CGit]:
        """First commit into an empty repository, against C git and the file formats."""
        progress(f"{self.name}: brainvcs first commit x{self.repeat}")
        best, repo = math.inf, None
        for i in range(self.repeat):
            if repo is not None:
                repo.close()
            repo = fresh_repo(self.root, f"first-{i}")
            seconds, result = timed(functools.partial(repo.commit, self.state, "first commit"))
            best = min(best, seconds)
        assert repo is not None
        self.ours["first commit"] = best
        self.facts["first_commit_written"] = result.to_json()["written"]
        progress(f"{self.name}: C git add + commit of the same files x{self.repeat}")
        files = list(layout.build(self.state).tree.walk())
        self.facts["files_per_snapshot"] = len(files)
        git_best, git = math.inf, None
        for i in range(self.repeat):
            git = alt.CGit(self.root / f"cgit-{i}").init()
            git.write_files(files)
            git_best = min(git_best, timed(functools.partial(git.add_commit, "first commit"))[0])
        assert git is not None and result.commit is not None
        check_same_tree(git, result.commit.tree)
        self.row("first commit", best, "C git add+commit", git_best, "s", 1.0,
                 "C git timed on files already written")
        for label in ("pickle.dump", "seed JSON dump", "seed SQLite save", "DVC-like add"):
            if label in times:
                self.row("first commit", best, label, times[label], "s")
        return repo, git

    def measure_noop(self, repo: Repository) -> None:
        """A commit of an unchanged state writes nothing."""
        progress(f"{self.name}: no-op commit x{self.repeat}")
        # Nothing declared, as `repo.commit(brain)` and the Autosaver commit: the state is
        # compared with the last committed one kept in memory.
        undeclared = best_of(self.repeat, lambda _: repo.commit(self.state, "no-op"), lambda: None)
        assert not repo.commit(self.state, "no-op").changed
        self.ours["no-op commit"] = undeclared
        self.row("no-op commit", undeclared, "pickle.dump", self.pickle_dump, "s", 0.05, "nothing declared")
        seconds = best_of(self.repeat, lambda _: repo.commit(self.state, "no-op", changed=[]), lambda: None)
        self.row("no-op commit (changed=[] declared)", seconds, "pickle.dump", self.pickle_dump, "s", None,
                 "as a learning loop that knows it changed nothing may say")

    def measure_checkout(self, repo: Repository, times: dict[str, float]) -> None:
        """Full and one-module checkout against loading every alternative."""
        progress(f"{self.name}: full and one-module checkout x{self.repeat}")
        self.full_checkout = best_of(self.repeat, lambda _: repo.checkout(), lambda: None)
        self.ours["full checkout"] = self.full_checkout
        one = best_of(self.repeat, lambda _: repo.checkout(modules=[ONE_MODULE]), lambda: None)
        self.row("full checkout", self.full_checkout, "pickle.load", self.pickle_load, "s", 1.2)
        for label in ("gzip-pickle load", "seed JSON load", "seed SQLite load", "DVC-like checkout"):
            if label in times:
                self.row("full checkout", self.full_checkout, label, times[label], "s")
        self.row(f"one-module checkout ({ONE_MODULE})", one, "pickle.load", self.pickle_load, "s", 0.2)

    def measure_incremental(self, repo: Repository, git: alt.CGit) -> None:
        """Commits after 1% changed and after one learning step, diff, and bytes pushed."""
        for label, change, target in (("incremental commit (1% changed)", one_percent, 0.2),
                                      ("incremental commit (one learning step)", one_learning_step, None)):
            progress(f"{self.name}: {label} x{self.repeat} (nothing declared, then declared)")
            ours, declared, theirs, written = math.inf, math.inf, math.inf, 0
            for _ in range(self.repeat):
                for declare in (False, True):
                    paths = change(self.state)
                    old = repo.head()
                    # First as a user's `repo.commit(brain)` does, then declaring the paths the workload reports.
                    seconds, result = timed(lambda: repo.commit(self.state, label, changed=paths if declare else None))
                    if declare:
                        declared = min(declared, seconds)
                    else:
                        ours = min(ours, seconds)
                        written = result.written.bytes
                    assert old is not None and result.commit is not None
                    sync_cgit(repo, git, old, result.commit.id)
                    git_seconds = timed(lambda: git.add_commit(label))[0]
                    theirs = theirs if declare else min(theirs, git_seconds)
                    check_same_tree(git, result.commit.tree)
            self.ours[label] = ours
            self.row(label, ours, "pickle.dump", self.pickle_dump, "s", target, "nothing declared")
            self.row(f"{label}, paths declared", declared, "pickle.dump", self.pickle_dump, "s", None,
                     "changed= the paths the workload reports")
            self.row(label, ours, "C git add+commit", theirs, "s", None, "C git timed on changed files already written")
            self.facts[f"{label} written bytes"] = written
            if target is not None:
                self._diff_and_push(repo, git)

    def _diff_and_push(self, repo: Repository, git: alt.CGit) -> None:
        progress(f"{self.name}: diff of adjacent snapshots x{self.repeat}, bytes pushed")
        name, diff = diff_function(repo)
        seconds = best_of(self.repeat, lambda _: diff("HEAD~1", "HEAD"), lambda: None)
        full = self.full_checkout or best_of(self.repeat, lambda _: repo.checkout(), lambda: None)
        self.row("diff of adjacent snapshots (1% changed)", seconds, "brainvcs full checkout", full, "s", 0.05,
                 f"diff = {name}")
        pushed = push_pack_bytes(repo, repo.resolve("HEAD~1"), repo.resolve("HEAD"))
        git_pushed = git.push_bytes(git.run("rev-parse", "HEAD~1").decode().strip(), git.head())
        self.row("bytes pushed, one incremental commit (1%)", pushed, "C git thin pack", git_pushed, "bytes")
        if self.gzip_size:
            self.row("bytes pushed, one incremental commit (1%)", pushed, "gzip-pickle upload",
                     self.gzip_size, "bytes")

    def measure_storage(self) -> None:
        """Storage after N commits of 1% change each, after gc, against git and whole-file copies.

        The commits and brainvcs's gc each get ``budget`` seconds; when one runs
        out the rows say how many commits were made and whether gc finished.
        """
        n = self.commits
        progress(f"{self.name}: storage history of {n} commits of 1% change (brainvcs and C git)")
        state = build_state(self.name)
        repo = fresh_repo(self.root, "history")
        git = alt.CGit(self.root / "cgit-history").init()
        first = repo.commit(state, "first commit").commit
        assert first is not None
        git.write_files(layout.build(state).tree.walk())
        # C git commits carry brainvcs's own messages (learning summary and trailers included), so both sides
        # store the same commits and the row compares how the same history is stored.
        git.add_commit(_message(repo, first.id))
        canonical_first = len(canonical.encode(state))
        gzip_first = alt.gzip_pickle_dump(state, self._alt_path("history-first.pkl.gz"))
        old, commit_times, done = first.id, [], 0
        budget = Budget(self.budget)
        for i in range(n):
            changed = one_percent(state)
            try:
                with budget.guard():
                    seconds, result = timed(lambda: repo.commit(state, f"1% change {i + 1}", changed=changed))
            except BudgetExhausted:
                progress(f"{self.name}: storage history stopped after {done} commits: budget of {self.budget:g} s "
                         "spent (in a commit, probably pack consolidation)")
                break
            commit_times.append(seconds)
            assert result.commit is not None
            sync_cgit(repo, git, old, result.commit.id)
            git.add_commit(_message(repo, result.commit.id))
            old, done = result.commit.id, i + 1
            if done % 10 == 0:
                progress(f"{self.name}: storage history {done}/{n} commits, {pack_count(repo.objects)} packs")
        head = repo.head()
        if head is not None and head != old:  # the interrupted commit did move the ref: keep git in step
            sync_cgit(repo, git, old, head)
            git.add_commit("interrupted commit")
            done += 1
        self.facts["storage_packs_before_gc"] = pack_count(repo.objects)
        self.facts["storage_bytes_before_gc"] = alt.tree_bytes(repo.gitdir / "objects") if repo.gitdir else 0
        self.facts["storage_commit_s"] = {"min": min(commit_times, default=0.0),
                                          "median": sorted(commit_times)[len(commit_times) // 2] if commit_times else 0.0,
                                          "max": max(commit_times, default=0.0)}
        progress(f"{self.name}: brainvcs gc ({pack_count(repo.objects)} packs)")
        gc_budget = Budget(self.budget)
        try:
            with gc_budget.guard():
                gc_s, _ = timed(lambda: repo.gc(aggressive=True))  # like for like with git gc --aggressive
            gc_note = ""
        except BudgetExhausted:
            gc_s = None
            gc_note = f"brainvcs gc aborted after {self.budget:g} s: storage as written, without gc"
            progress(f"{self.name}: {gc_note}")
        ours = alt.tree_bytes(repo.gitdir / "objects") if repo.gitdir else 0
        self.ours["storage"] = ours
        self.ours["storage commits"] = done
        repo.close()
        progress(f"{self.name}: git gc --aggressive")
        git_gc_s, _ = timed(git.gc_aggressive)
        theirs = git.storage_bytes()
        gzip_last = alt.gzip_pickle_dump(state, self._alt_path("history-last.pkl.gz"))
        canonical_last = len(canonical.encode(state))
        versions = done + 1
        gzips = round(versions * (gzip_first + gzip_last) / 2)
        whole = round(versions * (canonical_first + canonical_last) / 2)
        self.facts.update({"brainvcs_gc_s": gc_s, "git_gc_aggressive_s": git_gc_s, "storage_commits": done})
        label = f"storage after {done} commits of 1% ({'gc unfinished' if gc_note else 'after gc'})"
        if done < n:
            label += f" [budget: {done} of {n} commits]"
        estimate = f"{versions} versions; estimated as {versions} x mean of the first and last file"
        note = "; ".join(filter(None, [gc_note]))
        self.row(label, ours, f"{versions} gzip-pickles", gzips, "bytes", 0.03, "; ".join(filter(None, [estimate, note])))
        self.row(label, ours, "C git after gc --aggressive", theirs, "bytes", 1.0, note)
        self.row(label, ours, "DVC-like cache", whole, "bytes", None, "; ".join(filter(None, [estimate, note])))

    def measure_memory(self) -> None:
        """Peak memory of a first commit against pickle.dumps: whole process and Python allocations."""
        progress(f"{self.name}: peak memory (fresh subprocesses, then tracemalloc)")
        dumps = process_peak("pickle_dumps", self.name)
        commit = process_peak("commit", self.name)
        self.row("peak memory during commit (process RSS)", commit.peak_rss, "pickle.dumps (process RSS)",
                 dumps.peak_rss, "bytes", 2.0, "fresh subprocess each: build the state, reset the peak, run the operation")
        self.facts["rss_above_state"] = {"commit": commit.task_rss, "pickle.dumps": dumps.task_rss}
        import pickle  # the alternative measured, never used by brainvcs

        ours, _ = traced_peak(lambda: _commit_once(self.root, self.state))
        theirs, _ = traced_peak(lambda: pickle.dumps(self.state, protocol=alt.PICKLE_PROTOCOL))
        self.row("peak memory during commit (Python allocations)", ours, "pickle.dumps (Python allocations)",
                 theirs, "bytes", 2.0, "tracemalloc peak above the live state")

    def run(self) -> list[Row]:
        """Measure every selected group on this workload."""
        times = self.measure_alternatives()
        if not ({"save", "checkout", "noop", "incremental"} & set(self.ops)):
            repo = git = None
        else:
            repo, git = self.measure_first_commit(times) if "save" in self.ops else self._quiet_first()
        if repo is not None and git is not None:
            if "noop" in self.ops:
                self.measure_noop(repo)
            if "checkout" in self.ops:
                self.measure_checkout(repo, times)
            if "incremental" in self.ops:
                self.measure_incremental(repo, git)
            repo.close()
        if "storage" in self.ops:
            self.measure_storage()
        if "memory" in self.ops:
            self.measure_memory()
        if "zodb" in self.ops:
            self.measure_zodb()
        return self.rows

    def measure_zodb(self) -> None:
        """ZODB (FileStorage, BTrees) holding the same brain: the same operations, against brainvcs's figures."""
        if not zodb_peer.available():
            progress(f"{self.name}: ZODB is not installed (pip install ZODB, or '.[bench]'): its rows are left out")
            return
        progress(f"{self.name}: ZODB first commit, no-op, 1% and learning-step commits, full load, storage")
        state = build_state(self.name)
        path = self.root / "zodb" / "brain.fs"
        path.parent.mkdir(exist_ok=True)
        zodb = zodb_peer.ZodbBrain(path)
        try:
            figures = {"first commit": zodb.store(state)}
            figures["no-op commit"] = min(zodb.commit() for _ in range(self.repeat))
            for label, change in (("incremental commit (1% changed)", one_percent),
                                  ("incremental commit (one learning step)", one_learning_step)):
                best = math.inf
                for _ in range(self.repeat):
                    zodb.apply(state, change(state))
                    best = min(best, zodb.commit())
                figures[label] = best
            commits = int(self.ours.get("storage commits", self.commits))
            for _ in range(max(0, commits - self.repeat)):  # as many 1% commits as brainvcs's history
                zodb.apply(state, one_percent(state))
                zodb.commit()
            figures["storage"] = float(zodb.size())
        finally:
            zodb.close()
        figures["full checkout"] = min(zodb_peer.full_load(path) for _ in range(self.repeat))
        self.facts["zodb_s"] = figures
        for label, unit, target in (("first commit", "s", None), ("no-op commit", "s", 1.0),
                                    ("incremental commit (1% changed)", "s", 1.0),
                                    ("incremental commit (one learning step)", "s", 1.0),
                                    ("full checkout", "s", None), ("storage", "bytes", 1.0)):
            if label in self.ours:
                name = f"storage after {int(self.ours['storage commits'])} commits of 1%" if label == "storage" else label
                note = "ZODB: changes assigned to their persistent containers; transaction.commit() timed"
                if label == "storage":
                    note = "ZODB FileStorage with its history (not packed); brainvcs after gc"
                self.row(name, self.ours[label], "ZODB", figures[label], unit, target, note)

    def _quiet_first(self) -> tuple[Repository, alt.CGit]:
        repo = fresh_repo(self.root, "first")
        repo.commit(self.state, "first commit")
        git = alt.CGit(self.root / "cgit").init()
        git.write_files(layout.build(self.state).tree.walk())
        git.add_commit("first commit")
        return repo, git


def _commit_once(root: Path, state: State) -> None:
    path = Path(tempfile.mkdtemp(prefix="traced-", dir=root))
    with Repository.init(path / "repo") as repo:
        repo.commit(state, "first commit")


# -- history: reads must not slow as commits pile up -----------------------------------------


def measure_history(workload: str, root: Path, *, commits: int, repeat: int, budget: float) -> list[Row]:
    """Checkout time after ``commits`` learning-step commits against after 10 (fresh open each time).

    The commits get ``budget`` seconds; if it runs out first, the second
    checkout is measured after the commits made so far, and the row says so.
    """
    progress(f"history: {commits} learning-step commits on {workload}")
    state = build_state(workload)
    path = root / "history-packs"
    marks: dict[int, float] = {}
    packs: dict[int, int] = {}
    done = 0
    tenth: str | None = None
    allowance = Budget(budget)
    with Repository.init(path) as repo:
        repo.commit(state, "first commit")
        for i in range(1, commits + 1):
            changed = one_learning_step(state)
            before = repo.head()
            try:
                with allowance.guard():
                    repo.commit(state, f"step {i}", changed=changed)
            except BudgetExhausted:
                done += repo.head() != before
                progress(f"history: budget of {budget:g} s spent after {done} commits "
                         f"({pack_count(repo.objects)} packs)")
                break
            done = i
            if i == 10:
                packs[i] = pack_count(repo.objects)
                tenth = repo.head()
                marks[i] = best_of(repeat, lambda r: r.checkout(tenth), lambda: _reopen(path))
                progress(f"history: after {i} commits: {packs[i]} packs, checkout {marks[i]:.4f} s")
            elif i % 100 == 0:
                progress(f"history: {i}/{commits} commits, {pack_count(repo.objects)} packs")
        packs[done] = pack_count(repo.objects)
    if 10 not in marks:
        raise RuntimeError(f"history: the budget of {budget:g} s did not allow even 10 commits on {workload}")
    # The same snapshot (commit 10) read again: what the history costs reads. The tip's state is
    # larger (a learning step adds a word and keeps its memories), so its checkout is reported apart.
    marks[done] = best_of(repeat, lambda r: r.checkout(tenth), lambda: _reopen(path))
    tip = best_of(repeat, lambda r: r.checkout(), lambda: _reopen(path))
    progress(f"history: after {done} commits: {packs[done]} packs, checkout of commit 10 {marks[done]:.4f} s, "
             f"of the tip {tip:.4f} s")
    label = f"checkout of commit 10 after {done} commits ({packs[done]} packs)"
    if done < commits:
        label += f" [budget: {done} of {commits} commits]"
    note = "fresh Repository.open before each checkout; learning-step commits"
    return [Row(workload, label, marks[done], f"the same checkout after 10 commits ({packs[10]} packs)", marks[10],
                "s", 1.2, note),
            Row(workload, f"checkout of the tip after {done} commits (a larger state)", tip,
                f"checkout of commit 10 after 10 commits ({packs[10]} packs)", marks[10], "s", None, note)]


_OPEN: list[Repository] = []


def _reopen(path: Path) -> Repository:
    while _OPEN:
        _OPEN.pop().close()
    repo = Repository.open(path)
    _OPEN.append(repo)
    return repo


# -- extra benchmarks, table, JSON ---------------------------------------------------------


def run_extras(sizes: Sequence[str]) -> dict[str, Any]:
    """Call ``run(size)`` of each other benchmark module that exists; report the missing ones."""
    results: dict[str, Any] = {}
    for name in EXTRA_BENCHMARKS:
        try:
            module = importlib.import_module(f"benchmarks.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"benchmarks.{name}":
                progress(f"extra: benchmarks/{name}.py cannot be imported: {exc}: not run")
                results[name] = {"status": "import failed", "error": str(exc)}
                continue
            progress(f"extra: benchmarks/{name}.py does not exist yet: not run")
            results[name] = {"status": "missing"}
            continue
        except Exception as exc:  # a sibling benchmark that is broken must not lose this run's figures
            progress(f"extra: benchmarks/{name}.py cannot be imported: {type(exc).__name__}: {exc}: not run")
            results[name] = {"status": "import failed", "error": f"{type(exc).__name__}: {exc}"}
            continue
        run = getattr(module, "run", None)
        if not callable(run):
            progress(f"extra: benchmarks/{name}.py has no run(size): not run")
            results[name] = {"status": "no run(size)"}
            continue
        for size in sizes:
            progress(f"extra: benchmarks.{name}.run({size!r})")
            try:
                value = run(size)
                json.dumps(value, default=str)
                results.setdefault(name, {})[size] = value
            except Exception as exc:  # report, and keep the rest of the suite's figures
                progress(f"extra: benchmarks.{name}.run({size!r}) failed: {type(exc).__name__}: {exc}")
                results.setdefault(name, {})[size] = {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}
    return results


def _fmt(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"
    for scale, suffix in ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
        if value >= scale:
            return f"{value / scale:.1f} {suffix}"
    return f"{value:.0f} B"


def format_table(rows: Sequence[Row]) -> str:
    """The table as Markdown: workload | operation | brainvcs | alternative | ratio | target | met?"""
    lines = ["| workload | operation | brainvcs | alternative | ratio | target | met? |",
             "|---|---|---|---|---|---|---|"]
    for row in rows:
        target = f"<= {row.target:g}" if row.target is not None else "-"
        met = "-" if row.met is None else ("yes" if row.met else "NO")
        lines.append(f"| {row.workload} | {row.operation} | {_fmt(row.brainvcs, row.unit)} | "
                     f"{row.alternative}: {_fmt(row.other, row.unit)} | {row.ratio:.3f} | {target} | {met} |")
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    import blake3
    import dulwich
    import orjson

    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        memory = 0
    git = subprocess.run(["git", "--version"], capture_output=True, text=True, check=False).stdout.strip()
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=False,
                            cwd=Path(__file__).resolve().parent.parent).stdout.strip()
    return {"cpus": os.cpu_count(), "cpu": cpu, "memory_bytes": memory, "python": platform.python_version(),
            "platform": platform.platform(), "dulwich": ".".join(map(str, dulwich.__version__)),
            "orjson": orjson.__version__, "blake3": getattr(blake3, "__version__", "?"), "git": git,
            "brainvcs_commit": commit}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.suite", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="S,M", help=f"comma-separated workloads from {','.join(WORKLOADS)}")
    parser.add_argument("--commits", type=int, default=None, help="commits of 1%% change for the storage figure "
                        "(default 100; 3 with --quick)")
    parser.add_argument("--history", type=int, default=None, help="commits before the second checkout of the "
                        "pack-count figure (default 1000; 20 with --quick)")
    parser.add_argument("--history-size", default="S", help="workload of the pack-count figure (default S)")
    parser.add_argument("--repeat", type=int, default=None, help="timings are the best of this many runs "
                        "(default 3; 1 with --quick)")
    parser.add_argument("--ops", default=",".join(OPS), help=f"operation groups to run, from {','.join(OPS)}")
    parser.add_argument("--budget", type=float, default=None, help="seconds allowed for each long phase: the "
                        "storage commits, brainvcs gc, the history commits (default 900; 300 with --quick)")
    parser.add_argument("--out", default="benchmarks/results/suite.json", help="where to write the JSON")
    parser.add_argument("--quick", action="store_true", help="one repetition, short histories")
    parser.add_argument("--no-extra", action="store_true", help="do not call the other benchmarks' run(size)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory (its path is printed)")
    args = parser.parse_args(argv)
    args.sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    args.ops = [s.strip() for s in args.ops.split(",") if s.strip()]
    for size in args.sizes + [args.history_size]:
        if size not in WORKLOADS:
            parser.error(f"unknown workload {size!r}; choose from {', '.join(WORKLOADS)}")
    for op in args.ops:
        if op not in OPS:
            parser.error(f"unknown operation group {op!r}; choose from {', '.join(OPS)}")
    args.commits = args.commits if args.commits is not None else (3 if args.quick else 100)
    args.history = args.history if args.history is not None else (20 if args.quick else 1000)
    args.budget = args.budget if args.budget is not None else (300.0 if args.quick else 900.0)
    args.repeat = args.repeat if args.repeat is not None else (1 if args.quick else 3)
    if args.history < 10 or args.commits < 1 or args.repeat < 1:
        parser.error("--history must be at least 10, --commits and --repeat at least 1")
    return args


def run_suite(args: argparse.Namespace) -> dict[str, Any]:
    """Run everything ``args`` selects; return the JSON-ready report."""
    started = time.perf_counter()
    rows: list[Row] = []
    facts: dict[str, Any] = {}
    scratch = Path(tempfile.mkdtemp(prefix="brainvcs-bench-"))
    try:
        for size in args.sizes:
            work = scratch / size
            work.mkdir()
            run = WorkloadRun(size, work, repeat=args.repeat, commits=args.commits, ops=args.ops, budget=args.budget)
            rows.extend(run.run())
            facts[size] = run.facts
            shutil.rmtree(work, ignore_errors=not args.keep)
        if "history" in args.ops:
            rows.extend(measure_history(args.history_size, scratch, commits=args.history, repeat=args.repeat,
                                        budget=args.budget))
        extra = {} if args.no_extra else run_extras(args.sizes)
    finally:
        while _OPEN:
            _OPEN.pop().close()
        if args.keep:
            progress(f"scratch kept in {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    argv = ["python -m benchmarks.suite", "--sizes", ",".join(args.sizes), "--commits", str(args.commits),
            "--history", str(args.history), "--history-size", args.history_size, "--repeat", str(args.repeat),
            "--ops", ",".join(args.ops), "--budget", f"{args.budget:g}", "--out", args.out] + (["--quick"] if args.quick else [])
    return {"command": " ".join(argv), "quick": args.quick, "machine": machine(),
            "seconds": time.perf_counter() - started, "rows": [row.to_json() for row in rows],
            "workloads": facts, "extra": extra}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the suite, print the table, write the JSON; exit 0 (missed targets are findings, not failures)."""
    args = parse_args(argv)
    report = run_suite(args)
    rows = [Row(**{k: v for k, v in r.items() if k not in ("ratio", "met")}) for r in report["rows"]]
    print(format_table(rows))
    met = [r for r in rows if r.met is not None]
    print(f"\n{sum(1 for r in met if r.met)}/{len(met)} targets met; {report['seconds']:.0f} s; "
          f"JSON in {args.out}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
