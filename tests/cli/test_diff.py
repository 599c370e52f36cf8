"""CLI tests for diff, show (with its diff), log --stat and git-setup; results checked through the API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from brainvcs import Repository
from brainvcs.diff import api as diffapi
from brainvcs.diff import render_text, to_json
from brainvcs.diff.gitdriver import ATTRIBUTES, BEGIN, END
from tests.conftest import IDENTITY, run_cli
from tests.test_diff import EXPECTED_TEXT, new_state, old_state


@pytest.fixture
def brain(tmp_path: Path) -> Path:
    """A repository with two commits: old_state() then new_state()."""
    with Repository.init(tmp_path / "brain") as repo:
        repo.commit(old_state(), "first words", author=IDENTITY)
        repo.commit(new_state(), "learn: tide", author=IDENTITY)
    return tmp_path / "brain"


def header(repo_dir: Path, old: str = "HEAD~1", new: str = "HEAD", old_label: str = "HEAD^") -> str:
    """The first line `brainvcs diff` prints."""
    with Repository.open(repo_dir) as repo:
        return f"diff {old_label} ({repo.resolve(old)[:7]}) → {new} ({repo.resolve(new)[:7]})\n"


def test_diff_defaults_to_head_against_its_parent(brain: Path) -> None:
    result = run_cli("diff", "-C", brain, "--limit", "0")
    assert result.exit_code == 0
    assert result.output == header(brain) + EXPECTED_TEXT


def test_diff_json_is_the_api_document(brain: Path) -> None:
    result = run_cli("diff", "-C", brain, "HEAD~1", "HEAD", "--json", "--limit", "2")
    assert result.exit_code == 0
    document = json.loads(result.output)
    with Repository.open(brain) as repo:
        assert document == to_json(diffapi.diff(repo, "HEAD~1", "HEAD"), limit=2)
        assert document["old"] == {"rev": "HEAD~1", "commit": repo.resolve("HEAD~1")}
    assert document["summary"].startswith("+1 word, -1 word, +1 connection")
    counters = document["modules"][1]["records"][6]
    assert counters == {"type": "counter", "path": "language_module.word_frequency.*", "changed": 2, "increased": 1,
                        "decreased": 1, "total_delta": 6,
                        "items": [{"path": "language_module.word_frequency.hello", "old": 12, "new": 19, "delta": 7},
                                  {"path": "language_module.word_frequency.sea", "old": 5, "new": 4, "delta": -1}]}


def test_diff_stat_module_path_limit(brain: Path) -> None:
    stat = run_cli("diff", "-C", brain, "--stat", "--module", "memory_module")
    assert stat.exit_code == 0
    assert stat.output == header(brain) + (
        "summary: episodic memory +2, 1 rolled off, active true → false\n\n"
        "memory_module: episodic memory +2, 1 rolled off, active true → false\n"
        "  active: 1 value changed\n"
        "  episodic_memory: 3 → 4 items: +2 appended, 1 dropped from head\n")
    path = run_cli("diff", "-C", brain, "--path", "language_module.word_frequency", "--limit", "1")
    assert path.exit_code == 0
    assert path.output == header(brain) + (
        "summary: +1 word, -1 word, word frequency +6 (2 changed)\n\n"
        "language_module: +1 word, -1 word, word frequency +6 (2 changed)\n"
        "  word_frequency: 1 key added, 1 key removed\n"
        "    + tide: 1\n"
        "    … and 1 more\n"
        "  word_frequency.*: 2 counters changed, total +6 (1 up, 1 down)\n"
        "    hello: 12 → 19 (+7)\n"
        "    … and 1 more\n")


def test_diff_tolerance_and_range(brain: Path) -> None:
    result = run_cli("diff", "-C", brain, "HEAD~1..HEAD", "--path", "language_module.neurons", "--tolerance", "0.2",
                     "--stat")
    assert result.exit_code == 0
    assert result.output == header(brain, old_label="HEAD~1") + (
        "summary: +1 connection, spike history +1, 1 rolled off, n1.connections.n2 0.5 → 0.75\n\n"
        "language_module: +1 connection, spike history +1, 1 rolled off, n1.connections.n2 0.5 → 0.75\n"
        "  neurons.*.connections: 1 key added\n"
        "  neurons.*.connections.*: 1 float changed (1 up, 0 down), mean +0.25, mean |Δ| 0.25, max |Δ| 0.25\n"
        "  neurons.*.spike_history: 3 → 3 items: +1 appended, 1 dropped from head\n"
        "  neurons.*.threshold: 1 change below tolerance\n")


def test_diff_one_revision_compares_it_with_head(brain: Path) -> None:
    result = run_cli("diff", "-C", brain, "HEAD", "--json")
    assert result.exit_code == 0
    assert json.loads(result.output)["modules"] == []
    assert json.loads(result.output)["summary"] == "no changes"


def test_diff_errors(brain: Path) -> None:
    unknown = run_cli("diff", "-C", brain, "--module", "nope")
    assert unknown.exit_code == 2
    assert "error: no module named 'nope' in either snapshot" in unknown.output
    missing = run_cli("diff", "-C", brain, "nosuchrev")
    assert missing.exit_code == 5
    negative = run_cli("diff", "-C", brain, "--tolerance", "-1")
    assert negative.exit_code == 2


def test_show_prints_the_commit_and_its_diff(brain: Path) -> None:
    result = run_cli("show", "-C", brain)
    assert result.exit_code == 0
    with Repository.open(brain) as repo:
        summary = diffapi.summarize(repo)
        expected_diff = render_text(diffapi.diff(repo))
        document = json.loads(run_cli("show", "-C", brain, "--json").output)
        head = repo.resolve("HEAD")
        assert document["diff"] == to_json(diffapi.diff(repo, None, head), limit=10)
        assert document["diff"]["old"] == {"rev": f"{head}^", "commit": repo.resolve("HEAD~1")}
        expected_diff = expected_diff.replace("diff HEAD^ (", f"diff {head[:7]}^ (").replace(
            f"→ HEAD ({head[:7]})", f"→ {head[:7]}")
    assert f"    learn: tide\n\n    {summary}\n\n    Brain-Fingerprint:" in result.output
    assert result.output.endswith("\n\n" + expected_diff)
    root = run_cli("show", "-C", brain, "HEAD~1")
    assert root.output.endswith("summary: new brain: 3 modules (cognitive_metrics, language_module, memory_module)\n\n"
                                "cognitive_metrics: new module\n\nlanguage_module: new module\n\n"
                                "memory_module: new module\n")


def test_log_stat(brain: Path) -> None:
    result = run_cli("log", "-C", brain, "--stat", "--oneline")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].endswith(" learn: tide")
    assert lines[1] == "  cognitive_metrics: step 10 → 11, mood \"calm\" → \"curious\""
    assert lines[2] == "    mood: 1 value changed"
    assert "  memory_module: episodic memory +2, 1 rolled off, active true → false" in lines
    root = next(i for i, line in enumerate(lines) if line.endswith(" first words"))
    assert lines[root + 1:] == ["  cognitive_metrics: new module", "  language_module: new module",
                                "  memory_module: new module", ""]
    document = json.loads(run_cli("log", "-C", brain, "--stat", "--json").output)
    assert [c["diff"]["summary"] for c in document][1] == (
        "new brain: 3 modules (cognitive_metrics, language_module, memory_module)")
    assert "diff" not in json.loads(run_cli("log", "-C", brain, "--json").output)[0]


def test_git_setup_installs_the_driver_once(tmp_path: Path, brain: Path) -> None:
    first = run_cli("git-setup", "-C", brain, "--json")
    assert first.exit_code == 0
    info = json.loads(first.output)
    attributes = Path(info["attributes"])
    assert attributes == brain / "info" / "attributes"
    attributes.write_text(attributes.read_text("utf-8") + "*.bin -diff\n", encoding="utf-8")  # the user's own line
    again = run_cli("git-setup", "-C", brain, "--program", "brainvcs")
    assert again.exit_code == 0
    # the diff block is rewritten in place, the merge driver's line is not repeated, the user's line stays
    assert attributes.read_text("utf-8") == "\n".join(["*.json merge=brainvcs", "*.bin -diff",
                                                       BEGIN, *ATTRIBUTES, END]) + "\n"
    assert "driver = sh .git/brainvcs/merge-driver.sh %O %A %B %P" in (brain / "config").read_text("utf-8")
    assert 'exec brainvcs merge-driver "$@"' in (brain / "brainvcs" / "merge-driver.sh").read_text("utf-8")
    config = (brain / "config").read_text("utf-8")
    assert "command = brainvcs git-diff-driver" in config
    assert "textconv = brainvcs git-textconv" in config
    assert "version = 1" in config  # the rest of the config is kept


def test_diff_a_state_file_against_a_revision_or_head(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conftest import sample_state

    with Repository.init(tmp_path / "brain") as repo:
        repo.commit(sample_state(0), "one")
        repo.commit(sample_state(1), "two")
    saved = tmp_path / "s.json"
    saved.write_text(json.dumps(sample_state(2)))
    monkeypatch.chdir(tmp_path / "brain")
    relative = run_cli("diff", "../s.json")  # '..' in a path is no range: it said "unknown revision '/s.json'"
    assert relative.exit_code == 0 and relative.output.startswith("diff HEAD (")
    head_rel = run_cli("diff", str(saved), "-C", tmp_path / "brain")
    assert head_rel.exit_code == 0 and head_rel.output.startswith(f"diff HEAD (")
    assert f"→ {saved}" in head_rel.output.splitlines()[0] and "step 1 → 2" in head_rel.output
    against_rev = run_cli("diff", "HEAD~1", str(saved), "--json", "-C", tmp_path / "brain")
    assert json.loads(against_rev.output)["summary"].startswith("step 0 → 2")


def test_diff_as_a_markdown_report_for_a_pull_request(tmp_path: Path) -> None:
    from tests.test_diff import new_state, old_state

    with Repository.init(tmp_path / "brain") as repo:
        repo.commit(old_state(), "first words")
        repo.commit(new_state(), "learn: tide")
        expected_summary = diffapi.summarize(repo, "HEAD")
    chart = tmp_path / "weights.svg"
    result = run_cli("diff", "HEAD~1", "HEAD", "--format", "markdown", "--chart", chart, "-C", tmp_path / "brain")
    assert result.exit_code == 0, result.output
    report = result.stdout
    assert report.startswith("## Learning diff: HEAD~1 (")
    assert f"**Summary:** {expected_summary}\n" in report
    assert "| module | change | what was learned |\n|---|---|---|\n" in report
    assert "| `language_module` | modified |" in report
    assert "### Top changes" in report and "#### `language_module`" in report
    assert "  - `hello: 12 → 19 (+7)`" in report  # a top change, as the terminal shows it
    svg = chart.read_text()
    assert svg.startswith("<svg") and "float changes" in svg and f"]({chart})" in report
    plain = run_cli("diff", "HEAD~1", "HEAD", "--chart", chart, "-C", tmp_path / "brain")
    assert plain.exit_code == 2 and "--chart goes with --format markdown" in plain.stderr
