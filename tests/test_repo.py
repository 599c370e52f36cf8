"""Tests for brainvcs.repo: the Repository API end to end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from dulwich.objects import Blob, Commit, Tree
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brainvcs import Repository
from brainvcs.errors import (BrainVCSError, EmptyRepositoryError, InvalidRefNameError, InvalidStateError,
                             NotABrainCommitError, NotARepositoryError, RefConflict, RefExistsError,
                             RepositoryExistsError, RevisionNotFoundError, UsageError)
from brainvcs.repo import DEFAULT_IDENTITY, BranchInfo, Status
from brainvcs.storage.objects import WriteStats, pack_count
from tests.conftest import IDENTITY, git, sample_state


def assert_identical(actual: Any, expected: Any, path: str = "") -> None:
    """Equal values of equal types; floats compared bit for bit (so -0.0 != 0.0)."""
    if isinstance(expected, np.ndarray):
        assert isinstance(actual, np.ndarray), path
        assert actual.dtype == expected.dtype, path
        assert actual.shape == expected.shape, path
        assert actual.tobytes() == expected.tobytes(), path
        return
    assert type(actual) is type(expected), f"{path}: {type(actual).__name__} != {type(expected).__name__}"
    if isinstance(expected, dict):
        assert sorted(actual) == sorted(expected), path
        for key in expected:
            assert_identical(actual[key], expected[key], f"{path}.{key}")
    elif isinstance(expected, list):
        assert len(actual) == len(expected), path
        for index, (a, e) in enumerate(zip(actual, expected)):
            assert_identical(a, e, f"{path}[{index}]")
    elif isinstance(expected, float):
        assert repr(actual) == repr(expected), path
    else:
        assert actual == expected, path


def object_ids(repo: Repository) -> set[bytes]:
    """Every object id in the repository's store."""
    return set(iter(repo.objects))


def linear_history(repo: Repository, n: int = 3) -> list[str]:
    """Commit ``n`` different states on the current branch with increasing timestamps; return the ids."""
    ids = []
    for step in range(n):
        result = repo.commit(sample_state(step), f"step {step}", timestamp=1_700_000_000 + step)
        assert result.commit is not None
        ids.append(result.commit.id)
    return ids


# --------------------------------------------------------------------------
# init / open


def test_init_creates_an_empty_bare_repository(tmp_path: Path) -> None:
    with Repository.init(tmp_path / "new" / "brain") as repo:
        assert repo.gitdir == (tmp_path / "new" / "brain").resolve()
        assert (repo.gitdir / "HEAD").read_text() == "ref: refs/heads/main\n"
        assert (repo.gitdir / "objects").is_dir()
        assert not (repo.gitdir / ".git").exists()
        assert repo.current_branch == "main"
        assert repo.head() is None
        assert repo.branches() == []
        assert repo.git.get_config().get((b"brainvcs",), b"version") == b"1"
        with pytest.raises(EmptyRepositoryError):
            repo.resolve("HEAD")


def test_init_with_another_default_branch(tmp_path: Path) -> None:
    with Repository.init(tmp_path / "b", default_branch="trunk") as repo:
        assert repo.current_branch == "trunk"
        result = repo.commit(sample_state(), "first")
        assert result.ref == "refs/heads/trunk"
    with pytest.raises(InvalidRefNameError):
        Repository.init(tmp_path / "c", default_branch="bad name")


def test_init_refuses_an_existing_repository_and_a_non_empty_directory(tmp_path: Path) -> None:
    Repository.init(tmp_path / "r").close()
    with pytest.raises(RepositoryExistsError, match="already a repository"):
        Repository.init(tmp_path / "r")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "notes.txt").write_text("hello")
    with pytest.raises(RepositoryExistsError, match="not empty") as info:
        Repository.init(tmp_path / "full")
    assert info.value.exit_code == 4
    assert sorted(p.name for p in (tmp_path / "full").iterdir()) == ["notes.txt"]
    # An existing empty directory is fine.
    (tmp_path / "empty").mkdir()
    Repository.init(tmp_path / "empty").close()


def test_open_from_the_repository_and_from_a_subdirectory(repo: Repository) -> None:
    repo.commit(sample_state(), "first")
    assert repo.gitdir is not None
    for where in (repo.gitdir, repo.gitdir / "refs" / "heads"):
        with Repository.open(where) as opened:
            assert opened.gitdir == repo.gitdir
            assert opened.head() == repo.head()


def test_open_without_search_parents_refuses_a_subdirectory(repo: Repository) -> None:
    assert repo.gitdir is not None
    with pytest.raises(NotARepositoryError):
        Repository.open(repo.gitdir / "refs", search_parents=False)


def test_open_refuses_non_repositories(tmp_path: Path) -> None:
    with pytest.raises(NotARepositoryError, match="no such directory") as info:
        Repository.open(tmp_path / "missing")
    assert info.value.exit_code == 4
    (tmp_path / "plain").mkdir()
    with pytest.raises(NotARepositoryError, match="not a brainvcs repository"):
        Repository.open(tmp_path / "plain", search_parents=False)


def test_open_a_c_git_clone_with_a_work_tree(repo: Repository, tmp_path: Path) -> None:
    state = sample_state()
    first = repo.commit(state, "first").commit
    assert first is not None and repo.gitdir is not None
    git("clone", "-q", repo.gitdir, tmp_path / "wt")
    (tmp_path / "wt" / "sub" / "deeper").mkdir(parents=True)
    with Repository.open(tmp_path / "wt" / "sub" / "deeper") as clone:
        assert clone.gitdir == (tmp_path / "wt" / ".git").resolve()
        assert clone.current_branch == "main"
        assert clone.resolve("HEAD") == first.id
        assert clone.resolve("origin/main") == first.id
        assert_identical(clone.checkout("origin/main"), state)


# --------------------------------------------------------------------------
# commit / checkout


def test_round_trip_of_every_json_value_kind(repo: Repository) -> None:
    state = {
        "scalars": {
            "floats": [0.1, -0.0, 0.0, 1e-7, 1e300, -1e-300, 5e-324, 1.7976931348623157e308, 123456789.125],
            "ints": [0, -1, 2**63 - 1, -(2**63), 2**64 - 1],
            "others": [None, True, False, "", "tab\t newline\n quote\" backslash\\"],
        },
        "nested": {"a": {"b": {"c": [[], {}, [1, [2, [3]]], {"d": {"e": None}}]}}},
        "unicode": {"héllo": "wörld", "日本語": ["ключ", "😀"], "": "empty key", "a.b[1]": "dotted"},
        "top_scalar": 42,
        "top_list": ["x", 1, 2.5],
    }
    result = repo.commit(state, "everything")
    assert result.changed is True
    assert_identical(repo.checkout(), state)
    assert_identical(repo.checkout(result.commit.id if result.commit else ""), state)


def test_round_trip_of_large_maps_and_lists(repo: Repository) -> None:
    # Big enough to be sharded (map) and chunked (list) by the layout.
    state = {
        "language_module": {"word_frequency": {f"word{i:05d}": i for i in range(3000)},
                            "flags": {f"k{i}": i % 3 == 0 for i in range(100)}},
        "brain_history": [{"step": i, "loss": i / 7} for i in range(2000)],
    }
    result = repo.commit(state, "big")
    assert result.commit is not None
    assert repo.manifest()["modules"]["brain_history"]["kind"] == "list"
    assert_identical(repo.checkout(), state)


def test_round_trip_of_numpy_arrays(repo: Repository) -> None:
    big = np.arange(300_000, dtype=np.float32) / np.float32(3)  # 1.2 MB: more than one tensor chunk
    arrays = {
        "big": big,
        "scalar0d": np.array(3.5),
        "empty": np.zeros((0, 3), dtype=np.int16),
        "bools": np.array([[True, False], [False, True]]),
        "u64": np.array([0, 2**64 - 1], dtype=np.uint64),
        "i8": np.array([-128, 0, 127], dtype=np.int8),
        "f16": np.array([0.5, -0.0, 65504], dtype=np.float16),
        "c64": np.array([1 + 2j, -3.5j], dtype=np.complex64),
        "fortran": np.asfortranarray(np.arange(12, dtype=np.float64).reshape(3, 4)),
    }
    state = {"weights": dict(arrays), "meta": {"layers": 2}}
    repo.commit(state, "tensors")
    assert big.nbytes > 1 << 20
    out = repo.checkout()
    assert_identical(out, state)
    big_out = out["weights"]["big"]
    assert big_out.flags.writeable  # a copy the brain may modify, not a read-only view


def test_big_endian_arrays_come_back_little_endian_with_equal_values(repo: Repository) -> None:
    array = np.arange(4, dtype=">i4")
    repo.commit({"w": array}, "big endian")
    out = repo.checkout()["w"]
    assert out.dtype == np.dtype("<i4")
    assert out.tolist() == [0, 1, 2, 3]


def test_partial_checkout_reads_only_the_named_modules(repo: Repository) -> None:
    state = sample_state()
    repo.commit(state, "first")
    assert_identical(repo.checkout("HEAD", modules=["memory_module"]), {"memory_module": state["memory_module"]})
    assert_identical(repo.checkout(modules=["memory_module", "cognitive_metrics"]),
                     {k: state[k] for k in ("memory_module", "cognitive_metrics")})
    with pytest.raises(UsageError, match="no module named 'nope'"):
        repo.checkout(modules=["nope"])


def test_no_op_commit_writes_nothing(repo: Repository) -> None:
    first = repo.commit(sample_state(), "first")
    assert first.commit is not None
    packs, objects, refs = pack_count(repo.objects), object_ids(repo), repo.refs.all()
    again = repo.commit(sample_state(), "again")
    assert again.changed is False
    assert again.commit is not None and again.commit.id == first.commit.id
    assert again.written == WriteStats(0, 0, 0, 0)
    assert again.fingerprint == first.fingerprint
    assert again.ref == "refs/heads/main"
    assert (pack_count(repo.objects), object_ids(repo), repo.refs.all()) == (packs, objects, refs)
    assert [c.id for c in repo.log()] == [first.commit.id]


def test_allow_empty_makes_a_commit_with_the_same_tree(repo: Repository) -> None:
    first = repo.commit(sample_state(), "first").commit
    second = repo.commit(sample_state(), "again", allow_empty=True)
    assert first is not None and second.commit is not None
    assert second.changed is True
    assert second.commit.tree == first.tree
    assert second.commit.parents == (first.id,)
    assert second.written.objects == 1  # just the commit
    assert repo.head() == second.commit.id


def test_commit_result_and_commit_info(repo: Repository) -> None:
    result = repo.commit(sample_state(), "learn words\n\nlonger body", timestamp=1_700_000_000,
                         trailers={"Brain-Step": "7"}, summary="learned 3 words")
    info = result.commit
    assert info is not None
    assert result.changed is True and result.ref == "refs/heads/main"
    assert info == repo.commit_info("HEAD")
    assert info.parents == ()
    assert info.author == IDENTITY and info.committer == IDENTITY
    assert (info.author_time, info.commit_time, info.author_tz) == (1_700_000_000, 1_700_000_000, 0)
    assert info.summary == "learn words"
    assert info.message == ("learn words\n\nlonger body\n\nlearned 3 words\n\n"
                            f"Brain-Fingerprint: {result.fingerprint}\nBrain-Step: 7")
    assert info.trailers == {"Brain-Fingerprint": result.fingerprint, "Brain-Step": "7"}
    assert info.fingerprint == result.fingerprint == repo.manifest()["fingerprint"]
    assert len(result.fingerprint) == 64
    assert result.written.objects == result.written.blobs + result.written.trees + 1
    as_json = result.to_json()
    assert as_json["commit"]["id"] == info.id and as_json["changed"] is True
    assert as_json["written"]["objects"] == result.written.objects


def test_commit_refuses_bad_messages_authors_and_trailers(repo: Repository) -> None:
    with pytest.raises(UsageError, match="empty commit message"):
        repo.commit(sample_state(), "  \n")
    with pytest.raises(UsageError, match="invalid author"):
        repo.commit(sample_state(), "m", author="no email here")
    with pytest.raises(UsageError, match="invalid trailer"):
        repo.commit(sample_state(), "m", trailers={"bad key": "v"})
    assert repo.head() is None
    assert repo.refs.all() == {}


@pytest.mark.parametrize("bad, path, problem", [
    ({"language_module": {"neurons": {"n7": {"threshold": float("nan")}}}},
     "language_module.neurons.n7.threshold", "NaN cannot be stored"),
    ({"m": {"x": [1.0, float("inf")]}}, "m.x[1]", "inf cannot be stored"),
    ({"m": {"x": [1.0, -float("inf")]}}, "m.x[1]", "-inf cannot be stored"),
    ({"m": {"a": {1: "one"}}}, "m.a.1", "key 1 is a int; only string keys can be stored"),
    ({"m": {"s": {1, 2}}}, "m.s", "a set cannot be stored (its order is not defined)"),
    ({"m": {"o": object()}}, "m.o", "a value of type builtins.object cannot be stored"),
    ({"m": {"b": b"raw"}}, "m.b", "bytes cannot be stored in JSON"),
    ({"m": {"big": 2**64}}, "m.big", "integer 18446744073709551616 is outside the storable range [-2**63, 2**64-1]"),
    ({"m": {"$tensor": 1}}, 'm["$tensor"]', "the key '$tensor' is reserved for tensors"),
    ({"m": {"o": np.array(["a"])}}, "m.o", "numpy dtype <U1 cannot be stored (only bool, int, uint, float, complex)"),
])
def test_unstorable_states_are_refused_naming_the_path(repo: Repository, bad: dict[str, Any], path: str,
                                                       problem: str) -> None:
    repo.commit(sample_state(), "first")
    packs, objects, refs = pack_count(repo.objects), object_ids(repo), repo.refs.all()
    with pytest.raises(InvalidStateError) as info:
        repo.commit({**sample_state(1), **bad}, "bad")
    assert (info.value.path, info.value.problem) == (path, problem)
    assert str(info.value) == f"{path}: {problem}"
    assert info.value.exit_code == 3
    assert (pack_count(repo.objects), object_ids(repo), repo.refs.all()) == (packs, objects, refs)


def test_a_cycle_is_refused_naming_the_path(repo: Repository) -> None:
    loop: dict[str, Any] = {"a": []}
    loop["a"].append(loop)
    with pytest.raises(InvalidStateError) as info:
        repo.commit({"m": loop}, "cycle")
    assert info.value.path == "m.a[0].a"
    assert info.value.problem == "cycle: this value contains itself"
    assert repo.refs.all() == {} and object_ids(repo) == set()


def test_nan_in_an_empty_repository_creates_no_pack_and_no_ref(repo: Repository) -> None:
    assert repo.gitdir is not None
    with pytest.raises(InvalidStateError, match=r"^a\.b\[1\]: NaN cannot be stored$"):
        repo.commit({"a": {"b": [0.5, float("nan")]}}, "nan")
    assert pack_count(repo.objects) == 0
    assert object_ids(repo) == set()
    assert repo.refs.all() == {}
    assert not list((repo.gitdir / "refs" / "heads").iterdir())


@pytest.mark.parametrize("state, path", [({1: {}}, "1"), ({"": {}}, "''")])
def test_bad_module_names(repo: Repository, state: Any, path: str) -> None:
    with pytest.raises(InvalidStateError) as info:
        repo.commit(state, "bad")
    assert info.value.path == path
    assert info.value.problem == "module names must be non-empty strings"
    assert repo.refs.all() == {}


def test_a_state_that_is_not_a_mapping_is_refused(repo: Repository) -> None:
    with pytest.raises(BrainVCSError) as info:
        repo.commit([("m", 1)], "bad")  # type: ignore[arg-type]
    assert info.value.exit_code in (2, 3)
    assert repo.refs.all() == {} and object_ids(repo) == set()


def test_the_same_state_gives_the_same_tree_and_fingerprint_in_two_repositories(tmp_path: Path) -> None:
    state = {**sample_state(), "weights": {"w": np.linspace(0, 1, 1000, dtype=np.float32)},
             "history": [{"i": i} for i in range(2000)]}
    results = []
    for name in ("one", "two"):
        with Repository.init(tmp_path / name) as repo:
            result = repo.commit(state, "same", timestamp=1_700_000_000)
            assert result.commit is not None
            results.append((result.commit.tree, result.fingerprint, result.commit.id,
                            repo.commit_info().tree, repo.commit_info().fingerprint))
    memory = Repository.memory().commit(state, "same", timestamp=1_700_000_000)
    assert memory.commit is not None
    assert results[0] == results[1]
    assert (memory.commit.tree, memory.fingerprint, memory.commit.id) == results[0][:3]
    # Module order in the input dict does not matter.
    reordered = dict(reversed(list(state.items())))
    assert Repository.memory().commit(reordered, "same", timestamp=1_700_000_000).fingerprint == results[0][1]


# --------------------------------------------------------------------------
# Property: generated states round-trip exactly, and a second commit is a no-op.

_keys = st.text(max_size=8)
_scalars = (st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**64 - 1)
            | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12))
_values = st.recursive(_scalars, lambda children: st.lists(children, max_size=5)
                       | st.dictionaries(_keys, children, max_size=5), max_leaves=25)
_states = st.dictionaries(st.text(min_size=1, max_size=10), _values, max_size=4)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(state=_states)
def test_property_generated_states_round_trip_exactly(state: dict[str, Any]) -> None:
    repo = Repository.memory()
    first = repo.commit(state, "generated")
    assert first.changed is True and first.commit is not None
    assert_identical(repo.checkout(), state)
    second = repo.commit(state, "again")
    assert second.changed is False
    assert second.written == WriteStats(0, 0, 0, 0)
    assert repo.head() == first.commit.id


# --------------------------------------------------------------------------
# Revisions


def test_revision_syntax_on_a_three_commit_history(repo: Repository) -> None:
    c0, c1, c2 = linear_history(repo)
    expected = {
        "HEAD": c2, "@": c2, "main": c2, "refs/heads/main": c2, "HEAD~1": c1, "HEAD~": c1, "HEAD^": c1,
        "HEAD^1": c1, "HEAD~2": c0, "HEAD^^": c0, "HEAD~1^": c0, "main~2": c0, "HEAD~0": c2, c1: c1,
        c1[:7]: c1, c0[:12]: c0, f"{c2[:7]}~1": c1, " HEAD ": c2,
    }
    assert {rev: repo.resolve(rev) for rev in expected} == expected


def test_tags_lightweight_and_annotated(repo: Repository) -> None:
    c0, c1, c2 = linear_history(repo)
    assert repo.create_tag("v1", "HEAD~2") == c0
    assert repo.create_tag("v2", c1[:7], message="second release") == c1
    assert repo.tags() == {"v1": c0, "v2": c1}
    assert repo.refs.get("refs/tags/v1") == c0
    annotated = repo.refs.get("refs/tags/v2")
    assert annotated is not None and annotated != c1  # a tag object that points at c1
    assert repo.resolve("v1") == c0
    assert repo.resolve("v2") == c1
    assert repo.resolve("v2~1") == c0
    assert repo.resolve(annotated) == c1
    assert_identical(repo.checkout("v2"), sample_state(1))
    with pytest.raises(RefExistsError):
        repo.create_tag("v1")
    assert repo.create_tag("v1", force=True) == c2
    assert repo.tags()["v1"] == c2
    repo.delete_tag("v1")
    assert repo.tags() == {"v2": c1}
    with pytest.raises(RevisionNotFoundError):
        repo.delete_tag("v1")
    with pytest.raises(InvalidRefNameError):
        repo.create_tag("bad..name")


def test_branch_names_with_slashes(repo: Repository) -> None:
    c0, _, c2 = linear_history(repo)
    repo.create_branch("alice/experiment-2", "HEAD~2")
    assert repo.resolve("alice/experiment-2") == c0
    assert repo.resolve("refs/heads/alice/experiment-2") == c0
    result = repo.commit(sample_state(9), "on alice", branch="alice/experiment-2")
    assert result.ref == "refs/heads/alice/experiment-2"
    assert result.commit is not None and result.commit.parents == (c0,)
    assert repo.resolve("alice/experiment-2") == result.commit.id
    assert repo.head() == c2


@pytest.mark.parametrize("rev", ["nope", "HEAD~9", "HEAD^2", "main~3", "deadbeef", "0" * 40, "", "~1",
                                 "refs/heads/nope"])
def test_unknown_revisions(repo: Repository, rev: str) -> None:
    linear_history(repo)
    with pytest.raises(RevisionNotFoundError) as info:
        repo.resolve(rev)
    assert info.value.exit_code == 5
    with pytest.raises(RevisionNotFoundError):
        repo.checkout(rev)


def test_history_too_short_message(repo: Repository) -> None:
    linear_history(repo)
    with pytest.raises(RevisionNotFoundError, match=r"^HEAD~9: history is not that long$"):
        repo.resolve("HEAD~9")


def test_a_tree_or_blob_id_is_not_a_commit(repo: Repository) -> None:
    info = repo.commit(sample_state(), "first").commit
    assert info is not None
    with pytest.raises(RevisionNotFoundError):
        repo.resolve(info.tree)


# --------------------------------------------------------------------------
# Log


def _merge_history(repo: Repository) -> dict[str, str]:
    ids = {}
    ids["c0"], ids["c1"] = linear_history(repo, 2)
    side = repo.commit(sample_state(5), "side work", branch="side", expected_head=None, parents=[ids["c0"]],
                       timestamp=1_700_000_010)
    assert side.commit is not None
    ids["s1"] = side.commit.id
    merge = repo.commit(sample_state(6), "merge side", parents=["main", "side"], timestamp=1_700_000_020)
    assert merge.commit is not None
    ids["m"] = merge.commit.id
    return ids


def test_merge_commit_with_parents(repo: Repository) -> None:
    ids = _merge_history(repo)
    info = repo.commit_info("HEAD")
    assert info.parents == (ids["c1"], ids["s1"])
    assert repo.resolve("HEAD^2") == ids["s1"]
    assert repo.resolve("HEAD^1") == ids["c1"]
    assert repo.resolve("HEAD^2~1") == ids["c0"]
    assert repo.is_ancestor(ids["s1"], ids["m"]) is True
    assert repo.is_ancestor(ids["m"], ids["s1"]) is False
    assert repo.is_ancestor(ids["c0"], ids["c0"]) is True


def test_log_order_max_count_and_first_parent(repo: Repository) -> None:
    ids = _merge_history(repo)
    assert [c.id for c in repo.log()] == [ids["m"], ids["s1"], ids["c1"], ids["c0"]]
    assert [c.id for c in repo.log(max_count=2)] == [ids["m"], ids["s1"]]
    assert [c.id for c in repo.log(max_count=0)] == []
    assert [c.id for c in repo.log(first_parent=True)] == [ids["m"], ids["c1"], ids["c0"]]
    assert [c.id for c in repo.log("side")] == [ids["s1"], ids["c0"]]
    assert [c.summary for c in repo.log("HEAD~1")] == ["step 1", "step 0"]
    assert list(repo.iter_log(max_count=1))[0].id == ids["m"]


def test_log_of_an_empty_repository(repo: Repository) -> None:
    with pytest.raises(EmptyRepositoryError, match="branch 'main' has no commits yet"):
        repo.log()


# --------------------------------------------------------------------------
# Branches, switch


def test_branches_create_list_delete(repo: Repository) -> None:
    c0, c1, c2 = linear_history(repo)
    assert repo.branches() == [BranchInfo("main", c2, True)]
    assert repo.create_branch("feature") == BranchInfo("feature", c2, False)
    assert repo.create_branch("old", "HEAD~2") == BranchInfo("old", c0, False)
    assert repo.branches() == [BranchInfo("feature", c2, False), BranchInfo("main", c2, True),
                               BranchInfo("old", c0, False)]
    with pytest.raises(RefExistsError, match="branch 'feature' already exists"):
        repo.create_branch("feature", "HEAD~1")
    assert repo.create_branch("feature", "HEAD~1", force=True) == BranchInfo("feature", c1, False)
    with pytest.raises(InvalidRefNameError):
        repo.create_branch("has space")
    with pytest.raises(RevisionNotFoundError):
        repo.create_branch("x", "nope")
    with pytest.raises(UsageError, match="cannot delete the current branch 'main'"):
        repo.delete_branch("main")
    assert repo.delete_branch("old") == c0  # merged into main: allowed
    assert repo.delete_branch("feature") == c1
    assert repo.branches() == [BranchInfo("main", c2, True)]
    with pytest.raises(RevisionNotFoundError):
        repo.delete_branch("feature")


def test_deleting_an_unmerged_branch_needs_force(repo: Repository) -> None:
    linear_history(repo, 1)
    repo.create_branch("side")
    side = repo.commit(sample_state(7), "side only", branch="side")
    assert side.commit is not None
    with pytest.raises(UsageError, match="has commits that no other branch contains"):
        repo.delete_branch("side")
    assert repo.refs.get("refs/heads/side") == side.commit.id
    assert repo.delete_branch("side", force=True) == side.commit.id
    assert repo.refs.get("refs/heads/side") is None


def test_switch_and_switch_create(repo: Repository) -> None:
    c0, _, c2 = linear_history(repo)
    assert repo.switch("topic", create=True) == BranchInfo("topic", c2, True)
    assert repo.current_branch == "topic"
    result = repo.commit(sample_state(8), "on topic")
    assert result.ref == "refs/heads/topic"
    assert repo.resolve("main") == c2
    assert repo.switch("main") == BranchInfo("main", c2, True)
    assert repo.switch("from-old", create=True, start="HEAD~2") == BranchInfo("from-old", c0, True)
    with pytest.raises(RefExistsError):
        repo.switch("topic", create=True)
    with pytest.raises(RevisionNotFoundError, match="no branch named 'ghost'"):
        repo.switch("ghost")
    with pytest.raises(InvalidRefNameError):
        repo.switch("-x", create=True)
    assert repo.current_branch == "from-old"


def test_switch_create_in_an_empty_repository_makes_an_unborn_branch(repo: Repository) -> None:
    repo.switch("first", create=True)
    assert repo.current_branch == "first"
    assert repo.head() is None and repo.branches() == []
    result = repo.commit(sample_state(), "root")
    assert result.ref == "refs/heads/first"
    assert repo.branches() == [BranchInfo("first", repo.resolve("first"), True)]


# --------------------------------------------------------------------------
# Status


def test_status_of_an_empty_repository(repo: Repository) -> None:
    assert repo.status() == Status("main", None, False, {}, None, None)
    assert repo.status({"b": 1, "a": 2}).changed_modules == ["a", "b"]


def test_status_with_and_without_a_state(repo: Repository) -> None:
    state = sample_state()
    result = repo.commit(state, "first")
    status = repo.status()
    manifest = repo.manifest()
    assert status.branch == "main" and status.detached is False
    assert status.head == result.commit
    assert status.fingerprint == result.fingerprint
    assert status.modules == {name: {"kind": info["kind"], "digest": info["digest"]}
                              for name, info in manifest["modules"].items()}
    assert sorted(status.modules) == ["cognitive_metrics", "language_module", "memory_module"]
    assert status.changed_modules is None
    assert repo.status(state).changed_modules == []
    changed = {**state, "memory_module": {"active": False}, "new_module": [1]}
    del changed["cognitive_metrics"]
    assert repo.status(changed).changed_modules == ["cognitive_metrics", "memory_module", "new_module"]
    assert repo.status(changed).to_json()["changed_modules"] == ["cognitive_metrics", "memory_module", "new_module"]


# --------------------------------------------------------------------------
# Compare-and-swap, identity, non-brain commits


def test_stale_expected_head_raises_ref_conflict_and_changes_nothing(repo: Repository) -> None:
    c0, c1 = linear_history(repo, 2)
    packs, objects, refs = pack_count(repo.objects), object_ids(repo), repo.refs.all()
    with pytest.raises(RefConflict) as info:
        repo.commit(sample_state(5), "late writer", expected_head=c0)
    assert (info.value.ref, info.value.expected, info.value.actual) == ("refs/heads/main", c0, c1)
    assert info.value.exit_code == 7
    assert (pack_count(repo.objects), object_ids(repo), repo.refs.all()) == (packs, objects, refs)
    with pytest.raises(RefConflict) as info:
        repo.commit(sample_state(5), "thinks the branch is new", expected_head=None)
    assert (info.value.expected, info.value.actual) == (None, c1)
    assert repo.refs.all() == refs
    # The right expectation succeeds.
    ok = repo.commit(sample_state(5), "up to date", expected_head=c1)
    assert ok.commit is not None and ok.commit.parents == (c1,)


def test_identity_from_the_environment_and_config(repo: Repository, monkeypatch: pytest.MonkeyPatch,
                                                  isolated_env: Path) -> None:
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Ada Lovelace")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "ada@example.org")
    assert repo.identity() == "Ada Lovelace <ada@example.org>"
    info = repo.commit(sample_state(), "by ada").commit
    assert info is not None and info.author == "Ada Lovelace <ada@example.org>"
    explicit = repo.commit(sample_state(1), "by bob", author="Bob <bob@example.org>").commit
    assert explicit is not None and explicit.author == "Bob <bob@example.org>"
    monkeypatch.delenv("GIT_AUTHOR_NAME")
    monkeypatch.delenv("GIT_AUTHOR_EMAIL")
    assert repo.identity() == DEFAULT_IDENTITY
    with open(isolated_env / ".gitconfig", "a", encoding="utf-8") as config:
        config.write("[user]\n\tname = Grace Hopper\n\temail = grace@example.org\n")
    assert repo.identity() == "Grace Hopper <grace@example.org>"


def test_checkout_of_a_commit_that_is_not_a_snapshot(repo: Repository) -> None:
    blob = Blob.from_string(b"just a readme\n")
    tree = Tree()
    tree.add(b"README", 0o100644, blob.id)
    commit = Commit()
    commit.tree = tree.id
    commit.author = commit.committer = IDENTITY.encode()
    commit.author_time = commit.commit_time = 1_700_000_000
    commit.author_timezone = commit.commit_timezone = 0
    commit.message = b"not a brain\n"
    repo.objects.add_objects([(blob, None), (tree, None), (commit, None)])
    repo.refs.move("refs/heads/plain", None, commit.id.decode(), "test")
    assert repo.log("plain")[0].summary == "not a brain"
    with pytest.raises(NotABrainCommitError, match="not a brainvcs snapshot") as info:
        repo.checkout("plain")
    assert info.value.exit_code == 6
    with pytest.raises(NotABrainCommitError):
        repo.manifest("plain")


def test_checkout_records_what_it_read(repo: Repository) -> None:
    repo.commit(sample_state(), "first")
    repo.checkout()
    assert repo.last_read is not None
    assert repo.last_read.blobs_read >= 4
    assert repo.last_read.bytes_read > 0


def test_memory_repository_has_no_lock_and_no_gitdir(mem_repo: Repository) -> None:
    assert mem_repo.gitdir is None and mem_repo.lock is None
    with mem_repo.writing():
        result = mem_repo.commit(sample_state(), "in memory")
    assert result.changed is True
    assert_identical(mem_repo.checkout(), sample_state())
    assert mem_repo.gc().objects_kept == 0


def test_c_git_can_read_what_a_commit_wrote(repo: Repository) -> None:
    result = repo.commit(sample_state(), "for git")
    assert result.commit is not None and repo.gitdir is not None
    out = git("--git-dir", repo.gitdir, "cat-file", "-p", f"{result.commit.id}:brain.json").stdout
    assert f'"fingerprint": "{result.fingerprint}"' in out
    assert git("--git-dir", repo.gitdir, "rev-parse", "main").stdout.strip() == result.commit.id



def test_a_script_that_never_closes_its_repository_exits_quietly(tmp_path: Path) -> None:
    """The quickstart's snippet leaves the repository open; interpreter exit must print nothing."""
    import subprocess
    import sys

    script = (f"from brainvcs import Repository\n"
              f"repo = Repository.init({str(tmp_path / 'brain')!r})\n"
              "repo.commit({'language': {'word_frequency': {'hello': 3}}}, 'first words')\n"
              "print(repo.checkout('HEAD')['language']['word_frequency']['hello'])\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and done.stdout == "3\n"
    assert done.stderr == ""


def test_reads_leave_the_garbage_collector_as_they_found_it() -> None:
    """Loads and object rebuilds pause the cyclic collector (millions of containers, none garbage) and restore it."""
    import gc

    from brainvcs.snapshot.collector import collector_paused

    repo = Repository.memory()
    was = gc.isenabled()
    try:
        for enabled in (True, False):
            (gc.enable if enabled else gc.disable)()
            repo.commit({"m": {"k": enabled}}, f"gc {enabled}")
            repo.checkout("HEAD")
            assert gc.isenabled() is enabled
        gc.enable()
        with pytest.raises(RuntimeError):
            with collector_paused():
                assert not gc.isenabled()
                raise RuntimeError("a failing block")
        assert gc.isenabled()
    finally:
        (gc.enable if was else gc.disable)()
