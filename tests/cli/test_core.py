"""CLI tests for init, commit, log, show, checkout/export and status (results checked through the API)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import numpy as np
import pytest

from brainvcs import Repository
from brainvcs.snapshot import statefile
from brainvcs.brains import ReferenceBrain, bundled_texts
from brainvcs.cli import main
from tests.conftest import IDENTITY, run_cli, sample_state


def write_json(path: Path, value: Any) -> Path:
    """Write ``value`` as a JSON file and return the path."""
    path.write_text(json.dumps(value), encoding="utf-8")
    return path


@pytest.fixture
def repo_dir(tmp_path: Path) -> Path:
    """An initialised, empty repository directory (via the CLI)."""
    result = run_cli("init", tmp_path / "brain")
    assert result.exit_code == 0
    return tmp_path / "brain"


def commit_file(repo_dir: Path, state: dict[str, Any], message: str, *extra: str) -> Any:
    """Commit ``state`` from a state file through the CLI."""
    path = write_json(repo_dir.parent / f"state-{message.replace(' ', '_')}.json", state)
    return run_cli("commit", "-C", repo_dir, "-m", message, path, *extra)


# --------------------------------------------------------------------------
# init


def test_init(tmp_path: Path) -> None:
    result = run_cli("init", tmp_path / "b")
    assert result.exit_code == 0
    target = (tmp_path / "b").resolve()
    assert result.output == f"Initialized empty brain repository in {target} (branch main)\n"
    with Repository.open(tmp_path / "b") as repo:
        assert repo.current_branch == "main" and repo.head() is None


def test_init_json_and_initial_branch(tmp_path: Path) -> None:
    result = run_cli("init", tmp_path / "b", "-b", "trunk", "--json")
    assert result.exit_code == 0
    assert json.loads(result.output) == {"path": str((tmp_path / "b").resolve()), "branch": "trunk"}
    with Repository.open(tmp_path / "b") as repo:
        assert repo.current_branch == "trunk"


def test_init_refuses_an_existing_repository(repo_dir: Path) -> None:
    result = run_cli("init", repo_dir)
    assert result.exit_code == 4
    assert result.output.startswith(f"error: {repo_dir} is already a repository\nhint: ")


# --------------------------------------------------------------------------
# commit


def test_commit_from_a_state_file(repo_dir: Path) -> None:
    result = commit_file(repo_dir, sample_state(), "first words")
    assert result.exit_code == 0
    with Repository.open(repo_dir) as repo:
        info = repo.commit_info()
        assert repo.checkout() == sample_state()
        assert info.author == IDENTITY
    lines = result.output.splitlines()
    assert lines[0] == f"[main (root-commit) {info.id[:7]}] first words"
    assert lines[1].startswith(" ") and lines[1].endswith(f"fingerprint {info.fingerprint[:16]}")
    assert len(lines) == 2


def test_commit_from_a_directory_of_module_files(repo_dir: Path, tmp_path: Path) -> None:
    state = sample_state()
    directory = tmp_path / "modules"
    directory.mkdir()
    for module, value in state.items():
        write_json(directory / f"{module}.json", value)
    (directory / "README.txt").write_text("ignored: not a .json file")
    result = run_cli("commit", "-C", repo_dir, "-m", "from a directory", directory)
    assert result.exit_code == 0, result.output
    with Repository.open(repo_dir) as repo:
        assert repo.checkout() == state


def test_commit_json_no_op_allow_empty_author_and_branch(repo_dir: Path) -> None:
    first = commit_file(repo_dir, sample_state(), "first", "--json")
    assert first.exit_code == 0
    doc = json.loads(first.output)
    assert doc["changed"] is True and doc["ref"] == "refs/heads/main"
    commit_id = doc["commit"]["id"]
    again = commit_file(repo_dir, sample_state(), "again")
    assert (again.exit_code, again.output) == (0, f"nothing to commit: the state equals main ({commit_id[:7]})\n")
    empty = commit_file(repo_dir, sample_state(), "empty", "--allow-empty", "--author", "Bob <bob@example.org>")
    assert empty.exit_code == 0
    other = commit_file(repo_dir, sample_state(1), "elsewhere", "--branch", "side")
    assert other.exit_code == 0
    with Repository.open(repo_dir) as repo:
        log = repo.log()
        assert [c.summary for c in log] == ["empty", "first"]
        assert log[0].author == "Bob <bob@example.org>"
        assert log[0].tree == log[1].tree
        assert repo.checkout("side") == sample_state(1)
        assert repo.commit_info("side").parents == ()


def test_commit_reference_brain(repo_dir: Path) -> None:
    result = run_cli("commit", "-C", repo_dir, "-m", "reference", "--reference")
    assert result.exit_code == 0, result.output
    brain = ReferenceBrain()
    for text in bundled_texts().values():
        brain.learn(text)
    with Repository.open(repo_dir) as repo:
        assert repo.checkout() == brain.to_state()
        assert repo.commit_info().fingerprint == Repository.memory().commit(brain.to_state(), "m").fingerprint


def test_commit_needs_exactly_one_source(repo_dir: Path, tmp_path: Path) -> None:
    path = write_json(tmp_path / "s.json", sample_state())
    both = run_cli("commit", "-C", repo_dir, "-m", "x", path, "--reference")
    neither = run_cli("commit", "-C", repo_dir, "-m", "x")
    assert both.exit_code == neither.exit_code == 2
    assert "give exactly one of STATE or --reference" in both.output
    with Repository.open(repo_dir) as repo:
        assert repo.head() is None


def test_commit_refuses_nan_naming_the_path(repo_dir: Path, tmp_path: Path) -> None:
    commit_file(repo_dir, sample_state(), "first")
    packs_before = sorted((repo_dir / "objects" / "pack").iterdir())
    path = tmp_path / "nan.json"
    path.write_text('{"a": {"b": [1.5, NaN]}, "ok": 1}', encoding="utf-8")
    result = run_cli("commit", "-C", repo_dir, "-m", "bad", path)
    assert result.exit_code == 3
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"error: a.b[1]: NaN cannot be stored (in {path})",
        "hint: replace it with a number or null before committing",
    ]
    with Repository.open(repo_dir) as repo:
        assert [c.summary for c in repo.log()] == ["first"]
    assert sorted((repo_dir / "objects" / "pack").iterdir()) == packs_before


@pytest.mark.parametrize("text, where", [
    ('{"a": {"b": Infinity}}', "a.b: inf cannot be stored"),
    ('{"a": [-Infinity]}', "a[0]: -inf cannot be stored"),
])
def test_commit_refuses_infinities(repo_dir: Path, tmp_path: Path, text: str, where: str) -> None:
    path = tmp_path / "inf.json"
    path.write_text(text, encoding="utf-8")
    result = run_cli("commit", "-C", repo_dir, "-m", "bad", path)
    assert result.exit_code == 3
    assert result.stderr.startswith(f"error: {where} (in {path})\n")


def test_commit_refuses_malformed_json_naming_the_file(repo_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"a": ', encoding="utf-8")
    result = run_cli("commit", "-C", repo_dir, "-m", "bad", path)
    assert result.exit_code == 3
    assert result.stderr.startswith(f"error: {path}: not valid JSON: ")
    not_object = write_json(tmp_path / "list.json", [1, 2])
    result = run_cli("commit", "-C", repo_dir, "-m", "bad", not_object)
    assert result.exit_code == 3
    assert result.stderr.startswith(f"error: {not_object}: expected a JSON object of modules, found list\n")
    with Repository.open(repo_dir) as repo:
        assert repo.head() is None


# --------------------------------------------------------------------------
# log, show


@pytest.fixture
def history(repo_dir: Path) -> list[str]:
    """Three commits on main; returns their ids, oldest first."""
    for step in range(3):
        assert commit_file(repo_dir, sample_state(step), f"step {step}").exit_code == 0
    with Repository.open(repo_dir) as repo:
        return [c.id for c in reversed(repo.log())]


def test_log_default(repo_dir: Path, history: list[str]) -> None:
    result = run_cli("log", "-C", repo_dir)
    assert result.exit_code == 0
    commit_lines = [line for line in result.output.splitlines() if line.startswith("commit ")]
    assert commit_lines == [f"commit {history[2]} (HEAD -> main)", f"commit {history[1]}", f"commit {history[0]}"]
    assert result.output.count(f"Author: {IDENTITY}\n") == 3
    assert "    step 2\n" in result.output


def test_log_oneline_and_max_count(repo_dir: Path, history: list[str]) -> None:
    oneline = run_cli("log", "-C", repo_dir, "--oneline")
    assert oneline.output.splitlines() == [f"{history[2][:7]} (HEAD -> main) step 2", f"{history[1][:7]} step 1",
                                           f"{history[0][:7]} step 0"]
    limited = run_cli("log", "-C", repo_dir, "--oneline", "-n", "2", "HEAD~1")
    assert limited.output.splitlines() == [f"{history[1][:7]} step 1", f"{history[0][:7]} step 0"]
    assert run_cli("log", "-C", repo_dir, "-n", "0").output == ""


def test_log_json(repo_dir: Path, history: list[str]) -> None:
    result = run_cli("log", "-C", repo_dir, "--json")
    assert result.exit_code == 0
    entries = json.loads(result.output)
    assert [e["id"] for e in entries] == list(reversed(history))
    assert entries[0]["parents"] == [history[1]]
    assert entries[0]["summary"] == "step 2"
    with Repository.open(repo_dir) as repo:
        assert entries[0] == repo.commit_info(history[2]).to_json()


def test_show_text_and_json(repo_dir: Path, history: list[str]) -> None:
    with Repository.open(repo_dir) as repo:
        manifest = repo.manifest("HEAD~1")
    text = run_cli("show", "-C", repo_dir, "HEAD~1")
    assert text.exit_code == 0
    assert text.output.startswith(f"commit {history[1]}\n")
    assert f"fingerprint {manifest['fingerprint']}\n" in text.output
    for name, module in manifest["modules"].items():
        assert f"  {name:<28} {module['kind']:<6} {module['digest'][:16]}" in text.output.splitlines()
    doc = json.loads(run_cli("show", "-C", repo_dir, "--json", history[1][:7]).output)
    assert doc["commit"]["id"] == history[1]
    assert doc["manifest"] == manifest


# --------------------------------------------------------------------------
# checkout / export


def test_checkout_to_stdout_is_a_canonical_state_file(repo_dir: Path, history: list[str]) -> None:
    result = run_cli("checkout", "-C", repo_dir)
    assert result.exit_code == 0
    assert result.stdout == statefile.encode_state(sample_state(2)).decode()
    assert json.loads(result.stdout) == sample_state(2)
    old = run_cli("export", "-C", repo_dir, "HEAD~2")
    assert json.loads(old.stdout) == sample_state(0)


@pytest.mark.parametrize("verb", ["checkout", "export"])
def test_checkout_output_file_round_trips_to_the_same_fingerprint(repo_dir: Path, history: list[str],
                                                                 tmp_path: Path, verb: str) -> None:
    out = tmp_path / "out.json"
    result = run_cli(verb, "-C", repo_dir, "HEAD~1", "-o", out, "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"rev": history[1], "files": [str(out)],
                                         "modules": sorted(sample_state(1))}
    fresh = tmp_path / "fresh"
    assert run_cli("init", fresh).exit_code == 0
    assert run_cli("commit", "-C", fresh, "-m", "re-commit", out).exit_code == 0
    with Repository.open(repo_dir) as original, Repository.open(fresh) as copy:
        assert copy.commit_info().fingerprint == original.commit_info("HEAD~1").fingerprint
        assert copy.commit_info().tree == original.commit_info("HEAD~1").tree


def test_checkout_tensors_round_trip_through_a_state_file(repo_dir: Path, tmp_path: Path) -> None:
    state = {"weights": {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.array(0.5)}, "meta": {"n": 1}}
    with Repository.open(repo_dir) as repo:
        fingerprint = repo.commit(state, "tensors").fingerprint
    out = tmp_path / "t.json"
    assert run_cli("checkout", "-C", repo_dir, "-o", out).exit_code == 0
    fresh = tmp_path / "fresh"
    run_cli("init", fresh)
    assert run_cli("commit", "-C", fresh, "-m", "again", out).exit_code == 0
    with Repository.open(fresh) as copy:
        assert copy.commit_info().fingerprint == fingerprint


def test_checkout_module_and_split(repo_dir: Path, history: list[str], tmp_path: Path) -> None:
    one = run_cli("checkout", "-C", repo_dir, "--module", "memory_module")
    assert json.loads(one.stdout) == {"memory_module": sample_state(2)["memory_module"]}
    two = run_cli("checkout", "-C", repo_dir, "--module", "memory_module", "--module", "cognitive_metrics")
    assert sorted(json.loads(two.stdout)) == ["cognitive_metrics", "memory_module"]
    split = tmp_path / "split"
    result = run_cli("export", "-C", repo_dir, "-o", split, "--split")
    assert result.exit_code == 0
    assert result.stderr == f"wrote 3 module(s) of {history[2][:7]} to {split}\n"
    assert sorted(p.name for p in split.iterdir()) == sorted(f"{m}.json" for m in sample_state())
    assert json.loads((split / "memory_module.json").read_text()) == sample_state(2)["memory_module"]
    # The directory commits back to the same snapshot.
    fresh = tmp_path / "fresh"
    run_cli("init", fresh)
    assert run_cli("commit", "-C", fresh, "-m", "from split", split).exit_code == 0
    with Repository.open(fresh) as copy, Repository.open(repo_dir) as original:
        assert copy.commit_info().tree == original.commit_info().tree
    missing = run_cli("checkout", "-C", repo_dir, "--module", "nope")
    assert missing.exit_code == 2
    assert missing.stderr.startswith("error: no module named 'nope' in this snapshot\n")


# --------------------------------------------------------------------------
# status


def test_status_without_and_with_a_state_file(repo_dir: Path, tmp_path: Path) -> None:
    empty = run_cli("status", "-C", repo_dir)
    assert empty.output == "On branch main\nNo commits yet\n"
    commit_file(repo_dir, sample_state(), "first")
    with Repository.open(repo_dir) as repo:
        info = repo.commit_info()
    result = run_cli("status", "-C", repo_dir)
    assert result.output == (f"On branch main\nHEAD {info.id[:7]} first\nfingerprint {info.fingerprint}\n"
                             "3 module(s): cognitive_metrics, language_module, memory_module\n")
    same = write_json(tmp_path / "same.json", sample_state())
    assert run_cli("status", "-C", repo_dir, same).output.splitlines()[-1] == "same.json is identical to HEAD"
    changed = write_json(tmp_path / "changed.json", {**sample_state(), "memory_module": {}, "extra": 1})
    assert run_cli("status", "-C", repo_dir, changed).output.splitlines()[-1] == (
        "changed.json differs from HEAD in: extra, memory_module")
    doc = json.loads(run_cli("status", "-C", repo_dir, changed, "--json").output)
    assert doc["changed_modules"] == ["extra", "memory_module"]
    assert doc["branch"] == "main" and doc["detached"] is False
    assert doc["head"]["id"] == info.id and doc["fingerprint"] == info.fingerprint


# --------------------------------------------------------------------------
# Errors, exit codes, help


def test_unknown_revision_exits_5(repo_dir: Path, history: list[str]) -> None:
    for args in (["log", "nope"], ["show", "HEAD~9"], ["checkout", "nope"], ["export", "deadbeef"]):
        result = run_cli(args[0], "-C", repo_dir, *args[1:])
        assert result.exit_code == 5, args
        assert result.stdout == ""
        assert result.stderr.startswith("error: ")
        assert "hint: " in result.stderr or args[1] == "HEAD~9"


def test_an_empty_repository_has_no_head(repo_dir: Path) -> None:
    result = run_cli("log", "-C", repo_dir)
    assert result.exit_code == 5
    assert result.stderr.splitlines() == ["error: HEAD: branch 'main' has no commits yet",
                                          "hint: commit a state first: brainvcs commit -m MESSAGE STATE.json"]


def test_not_a_repository_exits_4(tmp_path: Path) -> None:
    for verb in ("log", "status", "show", "checkout", "branch", "tag", "verify", "gc"):
        result = run_cli(verb, "-C", tmp_path)
        assert result.exit_code == 4, verb
        assert result.stderr.startswith(f"error: not a brainvcs repository: {tmp_path.resolve()} (or any parent)\n")


def test_every_command_has_help() -> None:
    ctx = click.Context(main)
    missing = [name for name, command in main.commands.items()
               if not (command.help or "").strip() or not command.get_short_help_str().strip()]
    assert missing == []
    for name in main.commands:
        result = run_cli(name, "--help")
        assert result.exit_code == 0, name
        assert result.output.startswith(f"Usage: main {name}") or result.output.startswith("Usage: ")
    top = run_cli("--help")
    assert top.exit_code == 0
    assert "Exit status:" in top.output
    for code in ("2 ", "3 ", "4 ", "5 ", "9 "):
        assert f"  {code}" in top.output
    assert sorted(main.list_commands(ctx)) == sorted(main.commands)
    assert {"init", "commit", "log", "show", "checkout", "export", "status", "branch", "switch", "tag", "verify",
            "gc", "learn", "demo"} <= set(main.commands)


def test_repo_option_before_the_command(tmp_path: Path) -> None:
    """`brainvcs --repo DIR CMD` and `brainvcs -C DIR CMD`, as the help and the quickstart promise."""
    state = tmp_path / "state.json"
    state.write_text(json.dumps(sample_state()))
    assert run_cli("init", tmp_path / "mybrain").exit_code == 0
    committed = run_cli("--repo", tmp_path / "mybrain", "commit", "-m", "day 1", state)
    assert committed.exit_code == 0, committed.output
    log = run_cli("-C", tmp_path / "mybrain", "log", "--oneline")
    assert log.exit_code == 0 and "day 1" in log.output
    status = run_cli("--repo", tmp_path / "mybrain", "status", state)
    assert status.exit_code == 0, status.output
    remotes = run_cli("-C", tmp_path / "mybrain", "remote", "-v")
    assert remotes.exit_code == 0
    # after the command it still works, and wins over the one before
    assert run_cli("-C", tmp_path / "nowhere", "log", "-C", tmp_path / "mybrain").exit_code == 0
    with Repository.open(tmp_path / "mybrain") as repo:
        assert [c.summary for c in repo.log()] == ["day 1"]


def test_checkout_habits_of_a_git_user(tmp_path: Path) -> None:
    """`checkout BRANCH` at a terminal does not dump JSON; `-o FILE` never overwrites without --force."""
    import os
    import subprocess
    import sys

    with Repository.init(tmp_path / "brain") as repo:
        repo.commit(sample_state(), "one")
        repo.commit(sample_state(1), "two")
    out = tmp_path / "out.json"
    out.write_text("my notes\n")
    refused = run_cli("checkout", "HEAD", "-o", out, "-C", tmp_path / "brain")
    assert refused.exit_code == 3 and f"{out} exists; nothing was written" in refused.stderr
    assert "--force" in refused.stderr and out.read_text() == "my notes\n"
    assert run_cli("export", "HEAD", "-o", out, "-C", tmp_path / "brain").exit_code == 3
    assert run_cli("checkout", "HEAD", "-o", out, "--force", "-C", tmp_path / "brain").exit_code == 0
    assert json.loads(out.read_text()) == json.loads(json.dumps(sample_state(1)))
    # at a terminal, a branch name gets a hint to switch instead of a screen of JSON
    controller, terminal = os.openpty()
    try:
        done = subprocess.run([sys.executable, "-m", "brainvcs", "checkout", "main", "-C", str(tmp_path / "brain")],
                              stdout=terminal, stderr=subprocess.PIPE, text=True, check=False, timeout=60)
    finally:
        os.close(terminal)
        os.close(controller)
    assert done.returncode == 2
    assert "is a branch: checkout writes a stored state out" in done.stderr
    assert "brainvcs switch main" in done.stderr
    # piped, the same command is a script's way to read the state
    piped = run_cli("checkout", "main", "-C", tmp_path / "brain")
    assert piped.exit_code == 0 and json.loads(piped.stdout) == json.loads(json.dumps(sample_state(1)))


def test_show_rev_colon_path(tmp_path: Path) -> None:
    with Repository.init(tmp_path / "brain") as repo:
        repo.commit(sample_state(0), "one")
        repo.commit(sample_state(1), "two")
    value = run_cli("show", "HEAD~1:language_module.word_frequency.hello", "-C", tmp_path / "brain")
    assert value.exit_code == 0 and value.stdout == "3\n"
    module = run_cli("show", "HEAD:memory_module", "-C", tmp_path / "brain")
    assert json.loads(module.stdout) == sample_state(1)["memory_module"]
    missing = run_cli("show", "HEAD:memory_module.nope", "-C", tmp_path / "brain")
    assert missing.exit_code == 5 and "memory_module.nope does not exist in HEAD" in missing.stderr


def test_log_graph_draws_branches_and_merges(tmp_path: Path) -> None:
    with Repository.init(tmp_path / "brain") as repo:
        repo.commit(sample_state(0), "base")
        repo.create_branch("side")
        repo.commit(sample_state(1), "m1")
        repo.commit(sample_state(3), "s1", branch="side", timestamp=2_000_000_000)
        repo.commit(sample_state(4), "s2", branch="side", timestamp=2_000_000_100)
        repo.commit(sample_state(2), "m2", timestamp=2_000_000_200)
        repo.merge("side")
    result = run_cli("log", "--graph", "-C", tmp_path / "brain")
    assert result.exit_code == 0
    shape = [line.split(" ")[0] if not line.startswith(("* |", "| *")) else line[:3] for line in
             result.output.splitlines()]
    assert shape == ["*", "|\\", "* |", "| *", "| *", "* |", "|/", "*"], result.output
    assert result.output.splitlines()[-1].endswith(" base")


def test_a_commit_that_drops_modules_says_so_or_is_refused(tmp_path: Path) -> None:
    with Repository.init(tmp_path / "brain") as repo:
        repo.commit(sample_state(), "whole")
    partial = tmp_path / "partial.json"
    partial.write_text(json.dumps({"language_module": sample_state()["language_module"]}))
    refused = run_cli("commit", "-m", "partial", partial, "-C", tmp_path / "brain")
    assert refused.exit_code == 2
    assert "lacks module(s) cognitive_metrics, memory_module" in refused.stderr and "--allow-remove" in refused.stderr
    allowed = run_cli("commit", "-m", "partial", partial, "--allow-remove", "-C", tmp_path / "brain")
    assert allowed.exit_code == 0 and "removed module(s): cognitive_metrics, memory_module" in allowed.output
    with Repository.open(tmp_path / "brain") as repo:
        assert sorted(repo.checkout()) == ["language_module"]
        # the API removes by default and says which
        result = repo.commit({"language_module": {"x": 1}, "other": 1}, "api")
        assert result.removed_modules == ()
        assert repo.commit({"other": 2}, "api drop").removed_modules == ("language_module",)


def test_log_p_shows_each_commits_learning_diff(tmp_path: Path) -> None:
    with Repository.init(tmp_path / "brain") as repo:
        repo.commit(sample_state(0), "one")
        repo.commit(sample_state(1), "two")
    result = run_cli("log", "-p", "-C", tmp_path / "brain")
    assert result.exit_code == 0
    assert result.output.count("\ndiff ") == 2 and "summary: step 0 → 1" in result.output
    assert "hello: 3 → 4 (+1)" in result.output  # the items, not only the --stat line


def test_checkout_rev_paths_restores_them_into_a_state_file(tmp_path: Path) -> None:
    with Repository.init(tmp_path / "brain") as repo:
        repo.commit(sample_state(0), "one")
        repo.commit(sample_state(1), "two")
    state = tmp_path / "state.json"
    working = sample_state(5)
    working["language_module"]["word_frequency"]["fresh"] = 1
    state.write_text(json.dumps(working))
    result = run_cli("checkout", "HEAD~1", "-o", state, "-C", tmp_path / "brain", "--",
                     "language_module.word_frequency.hello", "language_module.word_frequency.fresh")
    assert result.exit_code == 0, result.output
    assert "restored language_module.word_frequency.hello from HEAD~1" in result.output
    assert "removed language_module.word_frequency.fresh" in result.output
    restored = json.loads(state.read_text())
    assert restored["language_module"]["word_frequency"]["hello"] == 3  # HEAD~1's value
    assert "fresh" not in restored["language_module"]["word_frequency"]
    assert restored["cognitive_metrics"]["step"] == 5  # the rest of the file is untouched
    bare = run_cli("checkout", "HEAD", "-C", tmp_path / "brain", "--", "memory_module")
    assert bare.exit_code == 2 and "-o FILE" in bare.stderr


def test_every_command_a_message_names_exists() -> None:
    """A hint that names `brainvcs VERB --option` names a real verb and option (`init .` once said `brainvcs open`)."""
    import re as regex

    source = Path(__file__).resolve().parents[2] / "brainvcs"
    named: set[tuple[str, ...]] = set()
    for file in source.rglob("*.py"):
        for match in regex.finditer(r"`brainvcs ((?:[a-z][a-z-]*)(?: [a-z][a-z-]*)?)((?: --?[a-z][a-z-]*)*)",
                                    file.read_text(encoding="utf-8")):
            words = match.group(1).split()
            options = tuple(match.group(2).split())
            named.add((*words, *options))
    assert len(named) > 20
    for entry in sorted(named):
        words = [w for w in entry if not w.startswith("-")]
        options = [w for w in entry if w.startswith("-")]
        command: click.Command = main
        for word in words:
            if isinstance(command, click.Group) and word in command.commands:
                command = command.commands[word]
        assert command is not main, f"`brainvcs {' '.join(entry)}` names no command"
        known = {opt for param in command.params for opt in getattr(param, "opts", []) + getattr(param, "secondary_opts", [])}
        for option in options:
            assert option in known | {"--help"}, f"`brainvcs {' '.join(entry)}`: {option} is no option of it"
