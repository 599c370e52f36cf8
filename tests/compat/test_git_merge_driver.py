"""C git's ``git merge`` in a clone merges brain snapshots semantically through the brainvcs driver.

Each test makes a bare brainvcs repository with two diverged branches, clones
it with C git (a working tree), installs the driver, runs ``git merge`` and
checks the result against ``brainvcs merge`` of the same branches: same tree,
a snapshot ``brainvcs verify`` accepts, and no conflict markers anywhere.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from brainvcs import Repository
from brainvcs.snapshot import canonical, layout
from brainvcs.brains import ReferenceBrain, bundled_texts
from brainvcs.errors import NotARepositoryError
from brainvcs.merge.api import merge
from brainvcs.merge.gitdriver import ATTRIBUTE_LINES, driver_command, install_merge_driver, run_merge_driver
from brainvcs.storage.objects import FINGERPRINT_TRAILER, read_commit
from tests.conftest import git, run_cli

SMALL_BASE = {"lang": {"freq": {"sea": 2, "rose": 1}, "w": 0.5}, "mem": ["a"]}
SMALL_OURS = {"lang": {"freq": {"sea": 5, "rose": 1}, "w": 0.25}, "mem": ["a", "b"]}
SMALL_THEIRS = {"lang": {"freq": {"sea": 3, "rose": 1, "moss": 1}, "w": 1.0}, "mem": ["a", "c"]}


def make_origin(root: Path, base: dict[str, Any], ours: dict[str, Any], theirs: dict[str, Any]) -> Path:
    """A bare brainvcs repository: base, then ours on main and theirs on topic."""
    with Repository.init(root / "origin.git") as repo:
        repo.commit(base, "base")
        repo.create_branch("topic")
        repo.commit(ours, "ours")
        repo.commit(theirs, "theirs", branch="topic")
    return root / "origin.git"


def clone(origin: Path, root: Path) -> Path:
    """A C git clone with a working tree and the brainvcs driver installed."""
    git("clone", "-q", origin, root / "clone")
    install_merge_driver(root / "clone")
    return root / "clone"


def semantic_merge_tree(origin: Path) -> tuple[str, dict[str, Any]]:
    """The tree and state `brainvcs merge` commits for topic into main (on a copy of the refs)."""
    with Repository.open(origin) as repo:
        repo.create_branch("expected", "main")
        repo.switch("expected")
        result = merge(repo, "topic", strategy=None)
        assert result.commit is not None and result.commit.commit is not None
        return result.commit.commit.tree, repo.checkout("expected")


def assert_no_conflict_markers(worktree: Path) -> None:
    for path in worktree.rglob("*"):
        if path.is_file() and ".git" not in path.relative_to(worktree).parts:
            data = path.read_bytes()
            assert b"<<<<<<<" not in data and b">>>>>>>" not in data, path
            if path.suffix == ".json":
                canonical.decode(data, what=str(path))


def head_tree(worktree: Path) -> str:
    with Repository.open(worktree) as repo:
        return read_commit(repo.objects, repo.resolve("HEAD")).tree.decode()


def test_git_merge_commits_the_semantic_merge_when_the_files_line_up(tmp_path: Path) -> None:
    origin = make_origin(tmp_path, SMALL_BASE, SMALL_OURS, SMALL_THEIRS)
    worktree = clone(origin, tmp_path)
    merged = git("merge", "--no-edit", "origin/topic", cwd=worktree, check=False)
    assert merged.returncode == 0, merged.stdout + merged.stderr
    assert_no_conflict_markers(worktree)
    tree, state = semantic_merge_tree(origin)
    assert state == {"lang": {"freq": {"sea": 6, "rose": 1, "moss": 1}, "w": 0.625}, "mem": ["a", "b", "c"]}
    assert head_tree(worktree) == tree
    with Repository.open(worktree) as repo:
        assert len(repo.commit_info("HEAD").parents) == 2
        assert repo.checkout("HEAD") == state
        report = repo.verify("HEAD")
        assert report.ok, report.problems
    assert git("status", "--porcelain", cwd=worktree).stdout == ""


@pytest.fixture(scope="module")
def brains() -> dict[str, dict[str, Any]]:
    """A reference brain with merge rules, and two brains that learned different texts from it."""
    texts = bundled_texts()
    names = sorted(texts)
    brain = ReferenceBrain()
    brain.learn(texts[names[0]])
    state = brain.to_state()
    state["brainvcs_merge"] = {"rules": [{"path": "cognitive_metrics.attention_focus", "strategy": "ours"}]}
    out = {"base": state}
    for side, name in (("ours", names[1]), ("theirs", names[2])):
        learner = ReferenceBrain.from_state(state)
        learner.learn(texts[name])
        out[side] = learner.to_state()
    return out


def test_git_merge_of_learned_brains_stops_cleanly_and_reseal_completes_it(
        tmp_path: Path, brains: dict[str, dict[str, Any]]) -> None:
    origin = make_origin(tmp_path, brains["base"], brains["ours"], brains["theirs"])
    worktree = clone(origin, tmp_path)
    # Log every driver call and every fall-through to Python.
    script = worktree / ".git/brainvcs/merge-driver.sh"
    log = tmp_path / "driver.log"
    lines = script.read_text().splitlines()
    lines.insert(1, f'echo "call $4" >> {log}')
    lines.insert(-1, f'echo python >> {log}')
    script.write_text("\n".join(lines) + "\n")
    merged = git("merge", "--no-edit", "origin/topic", cwd=worktree, check=False)
    # The layout moved (shards, chunks, members split out), so git cannot assemble it file by file:
    assert merged.returncode == 1
    assert "run `brainvcs reseal`, then `git commit`" in merged.stderr
    assert "Merge conflict in brain.json" in merged.stdout
    assert [line for line in merged.stdout.splitlines() if "Merge conflict in" in line] == \
        ["CONFLICT (content): Merge conflict in brain.json"]
    assert_no_conflict_markers(worktree)
    calls = log.read_text().splitlines()
    assert calls.count("python") == 1  # the first call; the others copied from the cache
    assert len(calls) > 20 and "call brain.json" in calls

    resealed = run_cli("reseal", "-C", worktree)
    assert resealed.exit_code == 0, resealed.output
    assert resealed.stdout.splitlines()[-1].endswith("staged — now run `git commit`")
    assert_no_conflict_markers(worktree)
    committed = git("commit", "--no-edit", cwd=worktree, check=False)
    assert committed.returncode == 0, committed.stdout + committed.stderr

    tree, expected = semantic_merge_tree(origin)
    assert head_tree(worktree) == tree
    with Repository.open(worktree) as repo:
        info = repo.commit_info("HEAD")
        assert len(info.parents) == 2
        assert info.summary == "Merge remote-tracking branch 'origin/topic'"
        assert info.trailers[FINGERPRINT_TRAILER] == repo.manifest("HEAD")["fingerprint"]
        report = repo.verify("HEAD")
        assert report.ok, report.problems
        state = repo.checkout("HEAD")
    assert canonical.encode(state) == canonical.encode(expected)
    freq = {side: s["language_module"]["word_frequency"] for side, s in brains.items()}
    assert state["language_module"]["word_frequency"] == {
        w: freq["ours"].get(w, 0) + freq["theirs"].get(w, 0) - freq["base"].get(w, 0)
        for w in freq["ours"].keys() | freq["theirs"].keys()}
    assert git("status", "--porcelain", cwd=worktree).stdout == ""


def test_conflicts_keep_our_files_and_reseal_resolves_them(tmp_path: Path) -> None:
    base = {"lang": {"focus": "sea", "n": 1}}
    origin = make_origin(tmp_path, base, {"lang": {"focus": "garden", "n": 2}}, {"lang": {"focus": "music", "n": 3}})
    worktree = clone(origin, tmp_path)
    ours_bytes = (worktree / "lang.json").read_bytes()
    merged = git("merge", "--no-edit", "origin/topic", cwd=worktree, check=False)
    assert merged.returncode == 1
    assert "CONFLICT lang.focus: changed differently on both sides" in merged.stderr
    assert (worktree / "lang.json").read_bytes() == ours_bytes
    assert_no_conflict_markers(worktree)

    refused = run_cli("reseal", "-C", worktree)
    assert refused.exit_code == 13
    assert "CONFLICT lang.focus" in refused.stdout
    assert "brainvcs reseal --resolve" in refused.stderr
    resolved = run_cli("reseal", "-C", worktree, "--resolve", "lang.focus=theirs")
    assert resolved.exit_code == 0, resolved.output
    assert git("commit", "--no-edit", cwd=worktree, check=False).returncode == 0
    with Repository.open(worktree) as repo:
        assert repo.checkout("HEAD") == {"lang": {"focus": "music", "n": 4}}
        assert repo.verify("HEAD").ok


def test_reseal_after_a_hand_edit(tmp_path: Path) -> None:
    origin = make_origin(tmp_path, SMALL_BASE, SMALL_OURS, SMALL_THEIRS)
    worktree = clone(origin, tmp_path)
    (worktree / "lang.json").write_bytes(canonical.encode({"freq": {"sea": 40}, "w": 0.5}))
    (worktree / "notes.json").write_bytes(canonical.encode({"todo": "water the roses"}))
    result = run_cli("reseal", "-C", worktree, "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["merging"] is False and doc["written"] == ["brain.json"]
    git("commit", "-q", "-m", "edited by hand", cwd=worktree)
    with Repository.open(worktree) as repo:
        assert repo.checkout("HEAD") == {**SMALL_OURS, "lang": {"freq": {"sea": 40}, "w": 0.5},
                                         "notes": {"todo": "water the roses"}}
        assert repo.verify("HEAD").ok
    refused = run_cli("reseal", "-C", worktree, "--strategy", "max")
    assert refused.exit_code == 2


def test_install_is_idempotent(tmp_path: Path) -> None:
    origin = make_origin(tmp_path, SMALL_BASE, SMALL_OURS, SMALL_THEIRS)
    worktree = clone(origin, tmp_path)
    changes = install_merge_driver(worktree)
    assert changes == {"merge.brainvcs.name": "brainvcs semantic brain merge",
                       "merge.brainvcs.driver": "sh .git/brainvcs/merge-driver.sh %O %A %B %P",
                       "merge.renames": "false"}
    assert install_merge_driver(worktree) == changes
    assert (worktree / ".git/info/attributes").read_text().splitlines().count(ATTRIBUTE_LINES[0]) == 1
    assert git("config", "merge.brainvcs.driver", cwd=worktree).stdout.strip() == driver_command()
    assert git("config", "merge.renames", cwd=worktree).stdout.strip() == "false"
    assert git("check-attr", "merge", "brain.json", cwd=worktree).stdout.strip() == "brain.json: merge: brainvcs"
    script = (worktree / ".git/brainvcs/merge-driver.sh").read_text()
    # isolated mode: the working tree (where git runs the driver) is never on the module path
    assert script.splitlines()[-1] == f'exec {sys.executable} -I -m brainvcs merge-driver "$@"'
    assert "GITHEAD_\\([0-9a-f]\\{40\\}\\)" in script


def test_driver_outside_git_merge_merges_the_one_file(tmp_path: Path) -> None:
    files = {name: tmp_path / name for name in ("base", "ours", "theirs")}
    for name, value in (("base", {"sea": 1, "log": [1]}), ("ours", {"sea": 3, "log": [1, 2]}),
                        ("theirs", {"sea": 2, "log": [1, 3]})):
        files[name].write_bytes(canonical.encode(value))
    said: list[str] = []
    with Repository.init(tmp_path / "repo") as repo:
        status = run_merge_driver(repo, str(files["base"]), str(files["ours"]), str(files["theirs"]), "lang.json",
                                  environ={}, say=said.append)
        assert status == 1  # merged, but the digests around it must be resealed
        assert canonical.decode(files["ours"].read_bytes()) == {"sea": 4, "log": [1, 2, 3]}
        assert "run `brainvcs reseal`" in said[-1]
        before = files["ours"].read_bytes()
        status = run_merge_driver(repo, str(files["base"]), str(files["ours"]), str(files["theirs"]),
                                  f"lang/{layout.DIGESTS}", environ={}, say=said.append)
        assert status == 1 and files["ours"].read_bytes() == before


def test_install_accepts_the_git_directory(tmp_path: Path) -> None:
    origin = make_origin(tmp_path, SMALL_BASE, SMALL_OURS, SMALL_THEIRS)
    git("clone", "-q", origin, tmp_path / "clone")
    install_merge_driver(tmp_path / "clone" / ".git")
    assert git("config", "merge.brainvcs.driver", cwd=tmp_path / "clone").stdout.strip() == driver_command()
    with pytest.raises(NotARepositoryError):
        install_merge_driver(tmp_path / "nowhere")


def test_git_merge_of_maps_stored_as_deltas_reseals_to_the_semantic_merge(tmp_path: Path) -> None:
    """Both sides store ``lang.freq`` as base plus deltas (format version 2): git cannot merge those files,
    so the merge stops for ``brainvcs reseal``, which writes the semantic merge (maps whole)."""
    base = {"lang": {"freq": {f"w{i:04d}": i for i in range(3000)}}, "mem": ["a"]}
    with Repository.init(tmp_path / "origin.git") as repo:
        repo.commit(base, "base")
        repo.create_branch("topic")
        ours = json.loads(json.dumps(base))
        for step in range(3):
            ours["lang"]["freq"][f"w{step:04d}"] += 10
            ours["lang"]["freq"][f"ours{step}"] = step
            repo.commit(ours, f"ours {step}")
        assert layout.DELTA_DIR in repo.reader().parse_tree(repo.reader()._listing("lang")["freq"][1], "lang/freq")
        theirs = json.loads(json.dumps(base))
        for step in range(3):
            theirs["lang"]["freq"][f"w{2000 + step:04d}"] += 1
            del theirs["lang"]["freq"][f"w{2500 + step:04d}"]
            repo.commit(theirs, f"theirs {step}", branch="topic")
        assert repo.manifest("topic")["format"] == layout.FORMAT_DELTAS
    origin = tmp_path / "origin.git"
    worktree = clone(origin, tmp_path)
    merged = git("merge", "--no-edit", "origin/topic", cwd=worktree, check=False)
    assert merged.returncode == 1
    assert "run `brainvcs reseal`, then `git commit`" in merged.stderr
    assert_no_conflict_markers(worktree)
    resealed = run_cli("reseal", "-C", worktree)
    assert resealed.exit_code == 0, resealed.output
    assert not (worktree / "lang/freq" / layout.DELTA_DIR).exists()
    committed = git("commit", "--no-edit", cwd=worktree, check=False)
    assert committed.returncode == 0, committed.stdout + committed.stderr
    tree, expected = semantic_merge_tree(origin)
    assert head_tree(worktree) == tree
    with Repository.open(worktree) as repo:
        assert repo.verify("HEAD").ok
        state = repo.checkout("HEAD")
    assert state == expected
    freq = expected["lang"]["freq"]
    assert freq["w0000"] == 10 and freq["ours2"] == 2 and freq["w2001"] == 2001 + 1 and "w2502" not in freq
