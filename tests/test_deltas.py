"""Tests for format version 2 (brainvcs.snapshot.deltas, brainvcs.storage.deltaview): maps stored as base plus deltas.

Whatever the chain, a snapshot must read back as the very state committed, with the fingerprint a fresh full
build gives; a rollup (or ``delta_maps = False``) must give the canonical tree itself; C git must accept the
objects; a damaged or lying delta must be refused; a diff of adjacent commits must say what a full
comparison says.
"""

from __future__ import annotations

import random
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
from dulwich.objects import Blob, Commit, Tree
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brainvcs import Repository
from brainvcs.diff.engine import diff_snapshots
from brainvcs.diff.render import to_json
from brainvcs.errors import CorruptObjectError, PathNotFoundError
from brainvcs.merge.reseal import fold_deltas
from brainvcs.snapshot import canonical, deltas, layout
from brainvcs.storage.objects import read_commit
from brainvcs.storage.treereader import GitTreeReader
from brainvcs.storage.verified import VerifiedTrees
from tests.conftest import IDENTITY

MAP = "lang/freq"


def state(n: int = 3000) -> dict[str, Any]:
    """A state whose ``lang.freq`` is a sharded map (16 shards), beside a small module."""
    return {"lang": {"freq": {f"w{i:05d}": i for i in range(n)}, "name": "test"}, "step": {"n": 0}}


def edit(s: dict[str, Any], rng: random.Random, count: int = 12) -> None:
    """Change, add and remove a few words, as a learning step would."""
    freq = s["lang"]["freq"]
    for _ in range(count):
        key = f"w{rng.randrange(4000):05d}"
        roll = rng.random()
        if roll < 0.2 and key in freq and len(freq) > 100:
            del freq[key]
        elif roll < 0.3:
            freq[key] = {"n": rng.randrange(100), "seen": [rng.random()]}
        else:
            freq[key] = rng.choice([rng.randrange(10**6), rng.random(), -0.0, 1.0, True, None, "x"])
    s["step"]["n"] += 1


def stored(repo: Repository, rev: str = "HEAD") -> dict[str, tuple[bool, bytes]]:
    """The stored (physical) listing of the map directory at ``rev``."""
    reader = repo.reader(rev)
    parent, _, name = MAP.rpartition("/")
    return reader.parse_tree(reader._listing(parent)[name][1], MAP)


def fsck(path: Path) -> None:
    proc = subprocess.run(["git", "--git-dir", str(path), "fsck", "--strict"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr + proc.stdout


@pytest.fixture
def chain_repo(tmp_path: Path) -> tuple[Repository, dict[str, Any], Path]:
    """A repository whose last commits store ``lang.freq`` as a chain of deltas."""
    path = tmp_path / "brain"
    repo = Repository.init(path)
    s = state()
    repo.commit(s, "first", author=IDENTITY)
    rng = random.Random(7)
    for i in range(4):
        edit(s, rng)
        repo.commit(s, f"step {i}", author=IDENTITY)
    return repo, s, path


def test_a_chain_reads_back_as_the_state_with_the_full_builds_fingerprint(
        chain_repo: tuple[Repository, dict[str, Any], Path]) -> None:
    repo, s, path = chain_repo
    listing = stored(repo)
    assert layout.DELTA_DIR in listing
    files = repo.reader().parse_tree(listing[layout.DELTA_DIR][1], "")
    assert sorted(files) == ["000001.json", "000002.json", "000003.json", "000004.json"]
    manifest = repo.manifest()
    assert manifest["format"] == layout.FORMAT_DELTAS
    full = layout.build(s)
    assert manifest["fingerprint"] == full.fingerprint  # history-independent
    assert manifest["digests"] == full.manifest["digests"]
    fresh = Repository.open(path)  # nothing in memory, nothing trusted: every digest and "was" checked
    fresh.verified = VerifiedTrees(None)
    assert fresh.checkout() == s
    assert fresh.verify().ok
    fsck(path)


def test_every_commit_of_a_chain_reads_back(tmp_path: Path) -> None:
    repo = Repository.init(tmp_path / "brain")
    s = state()
    rng = random.Random(3)
    kept = []
    for i in range(30):  # through two rollups
        edit(s, rng, count=40)
        result = repo.commit(s, f"step {i}", author=IDENTITY)
        kept.append((result.commit.id, orjson.loads(orjson.dumps(s))))
    fresh = Repository.open(tmp_path / "brain")
    fresh.verified = VerifiedTrees(None)
    formats = set()
    for commit, expected in kept:
        assert fresh.checkout(commit) == expected
        formats.add(fresh.manifest(commit)["format"])
    assert formats == {layout.FORMAT, layout.FORMAT_DELTAS}  # chains, and rollups between them
    report = fresh.verify()
    assert report.ok, report.problems


def test_a_rollup_and_a_repository_without_deltas_give_the_canonical_tree(tmp_path: Path) -> None:
    repo = Repository.init(tmp_path / "a")
    plain = Repository.init(tmp_path / "b")
    plain.delta_maps = False
    s = state()
    rng = random.Random(11)
    repo.commit(s, "first", author=IDENTITY)
    plain.commit(s, "first", author=IDENTITY)
    rolled = False
    for i in range(deltas.MAX_DELTAS + 2):
        edit(s, rng, count=3)
        ours = repo.commit(s, f"step {i}", author=IDENTITY)
        theirs = plain.commit(s, f"step {i}", author=IDENTITY)
        assert plain.manifest()["format"] == layout.FORMAT
        assert ours.fingerprint == theirs.fingerprint
        if repo.manifest()["format"] == layout.FORMAT:
            assert ours.commit.tree == theirs.commit.tree  # a rollup writes the canonical tree
            rolled = True
        else:
            assert ours.commit.tree != theirs.commit.tree
    assert rolled, "a chain of more than MAX_DELTAS deltas must have been rolled up"


def test_a_commit_with_a_chain_writes_only_the_delta_and_the_directories_above(
        chain_repo: tuple[Repository, dict[str, Any], Path]) -> None:
    repo, s, _ = chain_repo
    s["lang"]["freq"]["w00001"] = 123456789
    result = repo.commit(s, "one word", author=IDENTITY)
    # The delta, the map's _map.json and _b3.json, brain.json, the module's _b3.json; their trees and the commit.
    assert result.written.blobs <= 6
    assert result.written.trees <= 5
    data = repo.reader().delta_bytes(MAP, repo.reader().delta_chain(MAP)[1][-1])
    assert data == b'{\n  "w00001": {\n    "now": 123456789,\n    "was": 1\n  }\n}\n'
    assert result.written.bytes < 6_000  # the map alone encodes to ~50 KB


def test_the_delta_blob_is_readable_canonical_json() -> None:
    value = {"a": 1, "b": [1.5], "new": "x"}
    data = deltas.delta_blob(value, ["a", "new", "b"], ["gone"], {"a": 0, "b": [1.0], "gone": True},
                             lambda v: canonical.encode(v, depth_budget=126))
    assert data == (b'{\n  "a": {\n    "now": 1,\n    "was": 0\n  },\n'
                    b'  "b": {\n    "now": [\n      1.5\n    ],\n    "was": [\n      1.0\n    ]\n  },\n'
                    b'  "gone": {\n    "was": true\n  },\n'
                    b'  "new": {\n    "now": "x"\n  }\n}\n')
    assert data is not None and canonical.is_canonical(data)
    delta = deltas.read_delta(data, "d", trusted=False)
    assert (delta.removed, delta.set, delta.was) == (["gone"], {"a": 1, "b": [1.5], "new": "x"},
                                                      {"a": 0, "b": [1.0], "gone": True})
    for bad in (b"{}\n", b'{\n  "a": {}\n}\n', b'{\n  "a": {\n    "then": 1\n  }\n}\n', b"[]\n"):
        with pytest.raises(CorruptObjectError):
            deltas.read_delta(bad, "d", trusted=False)


def test_a_map_whose_values_hold_tensors_is_written_whole(tmp_path: Path) -> None:
    repo = Repository.init(tmp_path / "brain")
    s = {"m": {f"k{i:04d}": {"v": i} for i in range(2000)}}
    repo.commit(s, "first", author=IDENTITY)
    s["m"]["k0001"] = {"v": np.arange(3.0)}
    repo.commit(s, "a tensor", author=IDENTITY)
    assert repo.manifest()["format"] == layout.FORMAT
    back = Repository.open(tmp_path / "brain").checkout()
    assert back["m"]["k0001"]["v"].tolist() == [0.0, 1.0, 2.0]


# The diff of adjacent commits -------------------------------------------------------------

def test_the_diff_of_adjacent_chains_reads_the_new_delta_alone_and_agrees_with_a_full_comparison(
        chain_repo: tuple[Repository, dict[str, Any], Path]) -> None:
    repo, _, _ = chain_repo
    old, new = repo.reader("HEAD~1"), repo.reader("HEAD")
    assert old.trusted and new.trusted
    fast = diff_snapshots(old, new)
    slow_old, slow_new = repo.reader("HEAD~1"), repo.reader("HEAD")
    slow_old.trusted = slow_new.trusted = False  # never verified here: rebuild both maps and compare
    slow = diff_snapshots(slow_old, slow_new)
    assert to_json(fast) == to_json(slow)
    assert fast.modules
    assert not new._virtual and slow_new._virtual  # the fast diff rebuilt no shard of the map


def test_the_commit_message_summary_agrees_with_a_full_comparison(
        chain_repo: tuple[Repository, dict[str, Any], Path]) -> None:
    repo, _, _ = chain_repo
    from brainvcs.diff.summary import summarize_snapshots

    message = read_commit(repo.objects, repo.resolve("HEAD")).message.decode()
    old, new = repo.reader("HEAD~1"), repo.reader("HEAD")
    old.trusted = new.trusted = False
    assert summarize_snapshots(old, new) in message


# Damage ------------------------------------------------------------------------------------

def replace(repo: Repository, path: str, data: bytes | None) -> str:
    """A new commit on ``damaged`` whose tree has ``data`` at ``path`` (None: removed); digests untouched."""
    store = repo.objects
    head = read_commit(store, repo.resolve("HEAD"))

    def rewrite(tree_id: bytes, parts: list[str]) -> bytes:
        tree = store[tree_id]
        assert isinstance(tree, Tree)
        name = parts[0].encode()
        if len(parts) == 1:
            if data is None:
                del tree[name]
            else:
                blob = Blob.from_string(data)
                store.add_object(blob)
                tree[name] = (0o100644, blob.id)
        else:
            tree[name] = (0o040000, rewrite(tree[name][1], parts[1:]))
        store.add_object(tree)
        return tree.id

    commit = Commit()
    commit.tree = rewrite(head.tree, path.split("/"))
    commit.parents = [head.id]
    commit.author = commit.committer = head.author
    commit.author_time = commit.commit_time = head.author_time
    commit.author_timezone = commit.commit_timezone = 0
    commit.message = head.message
    store.add_object(commit)
    repo.refs.move("refs/heads/damaged", None, commit.id.decode(), "damaged on purpose")
    return commit.id.decode()


def delta_path(repo: Repository, number: int) -> str:
    return f"{MAP}/{layout.DELTA_DIR}/{deltas.delta_name(number)}"


def last_delta(repo: Repository) -> dict[str, Any]:
    reader = repo.reader()
    return orjson.loads(reader.delta_bytes(MAP, reader.delta_chain(MAP)[1][-1]))  # type: ignore[no-any-return]


@pytest.mark.parametrize("damage", ["lying was", "value changed", "delta removed", "extra file", "not canonical",
                                    "adds a held key", "removes an absent key"])
def test_a_damaged_chain_is_refused_by_checkout_and_verify(chain_repo: tuple[Repository, dict[str, Any], Path],
                                                           damage: str) -> None:
    repo, _, path = chain_repo
    delta = last_delta(repo)
    some = next(key for key, change in delta.items() if "now" in change)
    target, data = delta_path(repo, 4), None
    if damage == "lying was":
        held = next(key for key, change in delta.items() if "now" in change and "was" in change)
        delta[held]["was"] = "not what it was"
        data = canonical.encode_decoded(delta)
    elif damage == "value changed":
        delta[some]["now"] = "tampered"
        data = canonical.encode_decoded(delta)
    elif damage == "extra file":
        target, data = delta_path(repo, 6), canonical.encode_decoded(delta)
    elif damage == "not canonical":
        data = orjson.dumps(delta)
    elif damage == "adds a held key":
        delta["w00002"] = {"now": 5}
        data = canonical.encode_decoded(delta)
    elif damage == "removes an absent key":
        delta["never-there"] = {"was": 1}
        data = canonical.encode_decoded(delta)
    commit = replace(repo, target, data)
    fresh = Repository.open(path)
    fresh.verified = VerifiedTrees(None)
    with pytest.raises(CorruptObjectError):
        fresh.checkout(commit)
    report = fresh.verify()
    assert not report.ok
    assert any(commit[:12] in problem or MAP.split("/")[0] in problem for problem in report.problems)


# C git, clones and working trees -----------------------------------------------------------

def test_a_c_git_clone_of_a_chain_checks_out_and_verifies(chain_repo: tuple[Repository, dict[str, Any], Path],
                                                          tmp_path: Path) -> None:
    _, s, path = chain_repo
    clone = tmp_path / "clone.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(path), str(clone)], check=True)
    theirs = Repository.open(clone)
    assert theirs.checkout() == s
    assert theirs.verify().ok


def test_reseal_folds_the_deltas_of_a_working_tree(chain_repo: tuple[Repository, dict[str, Any], Path],
                                                   tmp_path: Path) -> None:
    _, s, path = chain_repo
    work = tmp_path / "work"
    subprocess.run(["git", "clone", "-q", str(path), str(work)], check=True)
    assert (work / MAP / layout.DELTA_DIR).is_dir()
    assert fold_deltas(work) == [MAP]
    assert not (work / MAP / layout.DELTA_DIR).exists()
    from brainvcs.merge.reseal import WorktreeReader

    assert layout.load(WorktreeReader(work)) == s


# Properties ----------------------------------------------------------------------------------

@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), steps=st.integers(1, 20), count=st.integers(1, 60))
def test_any_sequence_of_edits_reads_back_with_the_fingerprint_of_a_full_build(tmp_path_factory: pytest.TempPathFactory,
                                                                               seed: int, steps: int, count: int) -> None:
    path = tmp_path_factory.mktemp("brain")
    repo = Repository.init(path)
    rng = random.Random(seed)
    s = state(rng.randrange(800, 3000))
    repo.commit(s, "first", author=IDENTITY)
    for i in range(steps):
        edit(s, rng, count)
        result = repo.commit(s, f"step {i}", author=IDENTITY)
        assert result.fingerprint == layout.build(s).fingerprint
    fresh = Repository.open(path)
    fresh.verified = VerifiedTrees(None)
    assert fresh.checkout() == s
    reader = fresh.reader()
    assert isinstance(reader, GitTreeReader)
    assert to_json(diff_snapshots(fresh.reader("HEAD~1"), reader)) == to_json(diff_snapshots(
        repo.reader("HEAD~1"), repo.reader()))


def test_the_history_of_a_key_reads_deltas_not_rebuilt_maps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from brainvcs.query.history import history, value_at
    from brainvcs.storage import deltaview

    repos = {}
    for name, on in (("chains", True), ("whole", False)):
        repo = Repository.init(tmp_path / name)
        repo.delta_maps = on
        s = state()
        rng = random.Random(5)
        repo.commit(s, "first", author=IDENTITY)
        for i in range(12):
            edit(s, rng, count=30)
            s["lang"]["freq"]["w00003"] = i if i % 3 else None
            if i == 7:
                s["lang"]["freq"].pop("w00004", None)
            repo.commit(s, f"step {i}", author=IDENTITY)
        repos[name] = repo
    rebuilt = []
    monkeypatch.setattr(deltaview, "logical_map", lambda *a: rebuilt.append(a) or pytest.fail("rebuilt a map"))
    def points(repo: Repository, path: str) -> list[tuple[Any, bool]] | str:
        try:
            return [(p.value, p.present) for p in history(repo, path)]
        except PathNotFoundError as exc:
            return exc.message

    seen = []
    for key in ("w00003", "w00004", "w00005", "w03999", "nope"):
        path = f"lang.freq.{key}"
        chains = points(repos["chains"], path)
        monkeypatch.undo()
        whole = points(repos["whole"], path)
        monkeypatch.setattr(deltaview, "logical_map", lambda *a: pytest.fail("rebuilt a map"))
        assert chains == whole, key
        seen.append(isinstance(chains, list))
    assert seen[:3] == [True, True, True] and seen[4] is False  # keys with a history, and one never there
    assert value_at(repos["chains"], "HEAD~3", "lang.freq.w00003") == value_at(repos["whole"], "HEAD~3",
                                                                               "lang.freq.w00003")
    assert not rebuilt


# Version 1 repositories, golden bytes, merges and stats ---------------------------------------

FIXTURE = Path(__file__).parent.parent / "fixtures/format-v1-repository"


def test_a_version_1_repository_made_before_version_2_reads_verifies_and_continues_in_version_2(
        tmp_path: Path) -> None:
    import tarfile

    with tarfile.open(FIXTURE / "brain.git.tar.gz") as tar:
        tar.extractall(tmp_path, filter="data")
    path = tmp_path / "brain.git"
    recorded = orjson.loads((FIXTURE / "states.json").read_bytes())
    repo = Repository.open(path)
    for entry in recorded["commits"]:
        assert repo.manifest(entry["commit"])["format"] == layout.FORMAT
        assert repo.manifest(entry["commit"])["fingerprint"] == entry["fingerprint"]
        assert repo.checkout(entry["commit"]) == entry["state"]
    assert repo.verify().ok
    s = recorded["commits"][-1]["state"]
    repo.commit(s, "the same brain, from a new process", author=IDENTITY)  # nothing changed: no commit
    s["lang"]["freq"]["w0001"] = -1
    repo.commit(s, "first commit in this process: maps written whole", author=IDENTITY)
    assert repo.manifest()["format"] == layout.FORMAT
    s["lang"]["freq"]["w0002"] = -2
    repo.commit(s, "then a delta", author=IDENTITY)
    assert repo.manifest()["format"] == layout.FORMAT_DELTAS
    fresh = Repository.open(path)
    fresh.verified = VerifiedTrees(None)
    assert fresh.checkout() == s
    report = fresh.verify()
    assert report.ok, report.problems
    fsck(path)


def test_the_golden_version_2_commit(tmp_path: Path) -> None:
    """A fixed history pins the tree a version 2 writer stores (the delta's bytes are pinned above)."""
    repo = Repository.init(tmp_path / "brain")
    s = {"m": {f"k{i:04d}": i for i in range(2000)}}
    repo.commit(s, "base", author=IDENTITY, timestamp=1764806400)
    s["m"]["k0007"] = 7.5
    s["m"]["new"] = [1, 2]
    del s["m"]["k0100"]
    result = repo.commit(s, "step", author=IDENTITY, timestamp=1764806401)
    assert repo.manifest()["format"] == layout.FORMAT_DELTAS
    data = repo.reader().delta_bytes("m", repo.reader().delta_chain("m")[1][0])
    assert data == (b'{\n  "k0007": {\n    "now": 7.5,\n    "was": 7\n  },\n  "k0100": {\n    "was": 100\n  },\n'
                    b'  "new": {\n    "now": [\n      1,\n      2\n    ]\n  }\n}\n')
    from tests.reference_encoder import ref_encode

    assert ref_encode(orjson.loads(data)) == data  # canonical by the independent encoder too
    assert result.fingerprint == layout.build(s).fingerprint
    assert result.commit.tree == "3f4f31a94d5c7db6cfeffbe59ceaa8ea2991eb36"


def _branches(repo: Repository) -> dict[str, Any]:
    """main and topic diverge from a base, each with several commits (chains when the repository allows)."""
    base = state(2000)
    repo.commit(base, "base", author=IDENTITY)
    repo.create_branch("topic")
    ours, theirs = orjson.loads(orjson.dumps(base)), orjson.loads(orjson.dumps(base))
    for step in range(3):
        ours["lang"]["freq"][f"w{step:05d}"] += 100
        ours["lang"]["freq"][f"ours{step}"] = step
        repo.commit(ours, f"ours {step}", author=IDENTITY)
    for step in range(3):
        theirs["lang"]["freq"][f"w{1000 + step:05d}"] = {"n": step}
        theirs["lang"]["freq"].pop(f"w{1500 + step:05d}")
        repo.commit(theirs, f"theirs {step}", branch="topic", author=IDENTITY)
    return ours


def test_merge_stats_and_log_read_chains_as_they_read_whole_maps(tmp_path: Path) -> None:
    from brainvcs.merge.api import merge
    from brainvcs.query.stats import stats

    results = {}
    for name, on in (("chains", True), ("whole", False)):
        repo = Repository.init(tmp_path / name)
        repo.delta_maps = on
        _branches(repo)
        assert (repo.manifest("topic")["format"] == layout.FORMAT_DELTAS) == on
        rows = [row.to_json() for row in stats(repo, "topic")]
        for row in rows:
            row.pop("commit", None)
        summaries = [info.message.split("\n\n")[1] for info in repo.log("topic")][:-1]
        merged = merge(repo, "topic", strategy=None, author=IDENTITY)
        assert merged.commit is not None
        results[name] = (rows, summaries, merged.commit.fingerprint, repo.checkout())
    assert results["chains"] == results["whole"]


def test_a_trusted_checkout_reads_chains_without_rebuilding_files_and_gives_the_same_dicts_in_the_same_order(
        tmp_path: Path) -> None:
    repo = Repository.init(tmp_path / "chains")
    whole = Repository.init(tmp_path / "whole")
    whole.delta_maps = False
    s = state()
    for i in range(0, 3000, 500):  # tensors in the base's shards; the deltas never touch them
        s["lang"]["freq"][f"w{i:05d}"] = {"v": np.arange(float(i), i + 3.0)}
    rng = random.Random(17)
    for target in (repo, whole):
        target.commit(s, "first", author=IDENTITY)
    for i in range(6):
        edit(s, rng, count=25)  # (a delta that would hold a tensor's old value makes a rollup instead)
        for target in (repo, whole):
            target.commit(s, f"step {i}", author=IDENTITY)
    assert repo.manifest()["format"] == layout.FORMAT_DELTAS
    fast = Repository.open(tmp_path / "chains")
    assert fast.reader().trusted
    reader = fast.reader()
    loaded = layout.load(reader)
    assert not reader._virtual  # nothing rebuilt
    slow = Repository.open(tmp_path / "chains")
    slow.verified = VerifiedTrees(None)
    expected = Repository.open(tmp_path / "whole").checkout()
    for got in (loaded, slow.checkout()):
        assert list(got["lang"]["freq"]) == list(expected["lang"]["freq"])
        assert canonical.encode(got, default=lambda a: a.tolist()) == canonical.encode(expected, default=lambda a: a.tolist())


def test_a_merge_onto_the_branch_this_repository_just_committed_is_a_delta(tmp_path: Path) -> None:
    """As a team-syncing Autosaver does: commit, then merge another clone's learning into the same branch."""
    from brainvcs.merge.api import merge

    repo = Repository.init(tmp_path / "brain")
    s = state()
    repo.commit(s, "base", author=IDENTITY)
    repo.create_branch("topic")
    theirs = orjson.loads(orjson.dumps(s))
    theirs["lang"]["freq"]["w00001"] = -1
    s["lang"]["freq"]["w00002"] = -2
    repo.commit(s, "ours", author=IDENTITY)
    Repository.open(tmp_path / "brain").commit(theirs, "theirs", branch="topic", author=IDENTITY)
    merged = merge(repo, "topic", strategy=None, author=IDENTITY)
    assert merged.commit is not None
    assert repo.manifest()["format"] == layout.FORMAT_DELTAS
    fresh = Repository.open(tmp_path / "brain")
    fresh.verified = VerifiedTrees(None)
    result = fresh.checkout()
    assert result["lang"]["freq"]["w00001"] == -1 and result["lang"]["freq"]["w00002"] == -2
    assert merged.commit.fingerprint == layout.build(result).fingerprint
    assert fresh.verify().ok


def test_a_map_left_alone_by_one_commit_still_becomes_a_delta_in_the_next(tmp_path: Path) -> None:
    """Committing one map of a module must not forget how its sibling maps were laid out."""
    repo = Repository.init(tmp_path / "brain")
    s = {"lang": {"a": {f"a{i:04d}": i for i in range(2000)}, "b": {f"b{i:04d}": i for i in range(2000)}}}
    repo.commit(s, "base", author=IDENTITY)
    for step, key in enumerate(["a", "b", "a", "b"]):
        s["lang"][key][f"{key}0001"] = -step
        repo.commit(s, f"{key} {step}", author=IDENTITY, changed=[("lang", key, f"{key}0001")])
        assert {"lang.a", "lang.b"} <= set(repo._memory.last.snapshot.infos)
    reader = repo.reader()
    assert len(reader.delta_chain("lang/a")[1]) == 2 and len(reader.delta_chain("lang/b")[1]) == 2
    assert repo.manifest()["fingerprint"] == layout.build(s).fingerprint
    fresh = Repository.open(tmp_path / "brain")
    fresh.verified = VerifiedTrees(None)
    assert fresh.checkout() == s
