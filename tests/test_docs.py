"""The documentation stays true: the CLI reference is generated, links resolve."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_cli_reference_is_up_to_date() -> None:
    result = subprocess.run([sys.executable, "scripts/gen_cli_docs.py", "--check"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_readme_shows_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    assert "pip install -e . && brainvcs demo" in readme
    assert "bash scripts/test.sh" in readme
    assert "scripts/test.sh" in (ROOT / ".ci/run").read_text("utf-8")


def test_doc_links_resolve() -> None:
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#:]+\.md)\)", doc.read_text("utf-8")):
            assert (doc.parent / target).exists(), f"{doc.name} links to missing {target}"


def _blocks(markdown: str) -> list[tuple[str, str]]:
    """(language, body) of every fenced code block, in order."""
    return [(m.group(1), m.group(2)) for m in re.finditer(r"```(\w*)\n(.*?)```", markdown, re.S)]


def test_the_quickstart_runs_line_by_line_as_written(tmp_path: Path) -> None:
    """A newcomer's session: every shell line and the Python snippet of docs/quickstart.md, in order.

    Only the `pip install` lines are left out (the suite runs in the installed
    checkout they make). A comment line that starts with `# ...` is the reader
    doing something (the brain learning): the test learns a step there.
    """
    doc = (Path(__file__).resolve().parent.parent / "docs" / "quickstart.md").read_text(encoding="utf-8")
    env = {**__import__("os").environ, "PATH": f"{Path(sys.executable).parent}:{__import__('os').environ['PATH']}"}
    cwd = tmp_path
    state_file = tmp_path / "state.json"
    ran = 0
    for language, body in _blocks(doc):
        if language == "json":
            state_file.write_text(body, encoding="utf-8")
            continue
        if language == "python":
            done = subprocess.run([sys.executable, "-c", body], cwd=cwd, capture_output=True, text=True, env=env)
            assert done.returncode == 0 and done.stderr == "", done.stderr
            assert done.stdout == "0.5\n"
            ran += 1
            continue
        for line in body.splitlines():
            command = line.split("  #")[0].strip()
            if line.startswith("# ..."):
                # the brain learns: the state file the reader saves again
                state = json.loads(state_file.read_text(encoding="utf-8"))
                state["language_module"]["word_frequency"]["hello"] += 1
                state_file.write_text(json.dumps(state), encoding="utf-8")
                continue
            if not command or command.startswith(("#", "pip install")):
                continue
            if command.startswith("cd "):
                cwd = (cwd / command[3:].strip()).resolve()
                continue
            done = subprocess.run(["bash", "-c", command], cwd=cwd, capture_output=True, text=True, env=env,
                                  timeout=300)
            assert done.returncode == 0, f"{command!r} failed:\n{done.stdout}\n{done.stderr}"
            assert "Traceback" not in done.stderr
            ran += 1
    assert ran >= 15


def test_the_readme_python_tour_runs_as_written(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    tour = next(body for language, body in _blocks(readme) if language == "python")
    done = subprocess.run([sys.executable, "-c", tour], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    lines = done.stdout.splitlines()
    assert lines[1] == "False" and lines[2] == "language_module" and lines[3] == "[3, 5]"
    assert lines[-1] == "True deque(['hello'], maxlen=3) True"  # a plain user class, no adapter code
