"""No code runs from data, no secret leaks, host keys are always checked.

The package source is scanned as syntax trees (not text), so an alias, a
``from pickle import loads`` or a ``getattr(builtins, "eval")`` is caught as
surely as a plain call; the credential and ssh checks run the real commands.
"""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path
from typing import Any

import pytest

from brainvcs import Repository
from tests.conftest import run_cli, sample_state

PACKAGE = Path(__file__).resolve().parent.parent / "brainvcs"
SOURCES = sorted(PACKAGE.rglob("*.py"))

#: Modules that deserialise into code or arbitrary objects.
FORBIDDEN_MODULES = {"pickle", "_pickle", "cPickle", "marshal", "shelve", "dill", "cloudpickle", "jsonpickle",
                     "joblib", "yaml", "code", "codeop"}
#: Builtins that run code given as data, or import by computed name.
FORBIDDEN_BUILTINS = {"eval", "exec", "compile", "__import__", "execfile", "breakpoint"}
#: Attributes that run or import code whatever object they hang off.
FORBIDDEN_ATTRIBUTES = {"eval", "exec", "__import__", "import_module", "load_module", "exec_module", "run_path",
                        "run_module"}


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)


def problems_in(tree: ast.AST) -> list[str]:
    """Every forbidden construct in one module, as ``line: what``."""
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in FORBIDDEN_MODULES:
                    found.append(f"{node.lineno}: import {alias.name}")
        elif isinstance(node, ast.ImportFrom):
            if (node.module or "").split(".")[0] in FORBIDDEN_MODULES:
                found.append(f"{node.lineno}: from {node.module} import ...")
            for alias in node.names:
                if alias.name in FORBIDDEN_BUILTINS:
                    found.append(f"{node.lineno}: from {node.module} import {alias.name}")
        elif isinstance(node, ast.Name) and node.id in FORBIDDEN_BUILTINS:
            found.append(f"{node.lineno}: {node.id}")
        elif isinstance(node, ast.Attribute) and (node.attr in FORBIDDEN_ATTRIBUTES or (
                node.attr in FORBIDDEN_BUILTINS and isinstance(node.value, ast.Name)
                and node.value.id in ("builtins", "__builtins__"))):  # re.compile is fine; builtins.compile is not
            call_args = _args_of_call_to(tree, node)
            if node.attr == "import_module" and call_args is not None and all(
                    isinstance(a, ast.Constant) and isinstance(a.value, str) for a in call_args):
                continue  # importlib.import_module("literal.name") names code, not data
            found.append(f"{node.lineno}: .{node.attr}")
        elif isinstance(node, ast.Call):
            name = _call_name(node)
            if name in ("getattr", "setattr") and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant) \
                    and node.args[1].value in FORBIDDEN_BUILTINS:
                found.append(f"{node.lineno}: getattr(..., {node.args[1].value!r})")
            for keyword in node.keywords:
                if keyword.arg == "allow_pickle" and not (isinstance(keyword.value, ast.Constant)
                                                          and keyword.value.value is False):
                    found.append(f"{node.lineno}: allow_pickle={ast.unparse(keyword.value)}")
                if keyword.arg == "shell" and not (isinstance(keyword.value, ast.Constant)
                                                   and keyword.value.value is False):
                    found.append(f"{node.lineno}: shell={ast.unparse(keyword.value)}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value.replace(" ", "").lower()
            if "stricthostkeychecking=no" in text or "userknownhostsfile=/dev/null" in text:
                found.append(f"{node.lineno}: string disables ssh host key checking")
    return found


def _call_name(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _args_of_call_to(tree: ast.AST, attribute: ast.Attribute) -> list[ast.expr] | None:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.func is attribute:
            return list(node.args) + [k.value for k in node.keywords]
    return None


def test_the_package_has_sources_to_scan() -> None:
    assert len(SOURCES) > 20
    assert any(p.name == "canonical.py" for p in SOURCES)


@pytest.mark.parametrize("path", SOURCES, ids=[module_name(p) for p in SOURCES])
def test_no_code_from_data(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    assert problems_in(tree) == [], module_name(path)


@pytest.mark.parametrize(("source", "expected"), [
    ("import pickle", "import pickle"),
    ("import pickle as p", "import pickle"),
    ("from pickle import loads", "from pickle import"),
    ("import marshal", "import marshal"),
    ("import shelve", "import shelve"),
    ("eval('1')", "eval"),
    ("x = exec", "exec"),
    ("compile('1', 'f', 'eval')", "compile"),
    ("__import__(name)", "__import__"),
    ("import builtins\nbuiltins.eval('1')", ".eval"),
    ("getattr(builtins, 'exec')", "exec"),
    ("import importlib\nimportlib.import_module(name)", ".import_module"),
    ("import numpy as np\nnp.load(f, allow_pickle=True)", "allow_pickle=True"),
    ("subprocess.run(cmd, shell=True)", "shell=True"),
    ("opts = ['-o', 'StrictHostKeyChecking=no']", "host key"),
    ("opts = '-o UserKnownHostsFile=/dev/null'", "host key"),
])
def test_the_scanner_catches_each_construct(source: str, expected: str) -> None:
    found = problems_in(ast.parse(source))
    assert found and any(expected in line for line in found), found


def test_the_scanner_allows_literal_imports_and_safe_numpy() -> None:
    source = "import importlib\nimportlib.import_module('numpy')\nimport numpy as np\nnp.load(f, allow_pickle=False)\n"
    assert problems_in(ast.parse(source)) == []


def test_no_text_anywhere_in_the_package_disables_host_key_checking() -> None:
    for path in PACKAGE.rglob("*"):
        if path.is_file() and path.suffix in (".py", ".md", ".txt", ".toml", ".cfg"):
            text = path.read_text(encoding="utf-8", errors="replace").replace(" ", "").lower()
            assert "stricthostkeychecking=no" not in text, path
            assert "userknownhostsfile=/dev/null" not in text, path


def test_ssh_runs_the_users_ssh_with_host_key_checking_left_on(monkeypatch: pytest.MonkeyPatch,
                                                               tmp_path: Path) -> None:
    """What brainvcs would execute for an ssh remote: the user's ``ssh``, no option weakening host keys."""
    import dulwich.client

    seen: list[list[str]] = []

    def fake_popen(argv: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append([str(a) for a in argv])
        raise OSError("no network in this test")

    monkeypatch.setattr(dulwich.client.subprocess, "Popen", fake_popen)
    monkeypatch.delenv("GIT_SSH_COMMAND", raising=False)
    monkeypatch.delenv("GIT_SSH", raising=False)
    result = run_cli("clone", "ssh://git@example.invalid:2222/brain.git", tmp_path / "clone")
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert seen, "no ssh command was run"
    for argv in seen:
        assert argv[0] == "ssh"
        joined = " ".join(argv).replace(" ", "").lower()
        assert "stricthostkeychecking" not in joined and "userknownhostsfile" not in joined
        assert "example.invalid" in " ".join(argv)


def files_containing(root: Path, secret: bytes) -> list[str]:
    return [str(p) for p in root.rglob("*") if p.is_file() and secret in p.read_bytes()]


def test_a_password_in_a_url_is_redacted_and_never_stored(tmp_path: Path) -> None:
    with Repository.init(tmp_path / "brain") as repo:
        repo.commit(sample_state(), "one")
    url = "https://alice:hunter2-secret@127.0.0.1:9/brain.git"  # port 9 (discard): refused at once
    results = [
        run_cli("remote", "-C", tmp_path / "brain", "add", "origin", url),
        run_cli("clone", url, tmp_path / "clone"),
        run_cli("push", "-C", tmp_path / "brain", url, "main"),
        run_cli("fetch", "-C", tmp_path / "brain", url),
    ]
    for result in results:
        assert result.exit_code != 0
        assert "hunter2" not in result.output, result.output
        assert "Traceback" not in result.output
    assert "alice:***@" in results[0].output or "alice:***@" in results[1].output
    assert files_containing(tmp_path, b"hunter2") == []


def test_a_token_from_the_environment_never_reaches_output_or_disk(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRAINVCS_TOKEN", "tok-7f3a9c-secret")
    monkeypatch.setenv("BRAINVCS_USERNAME", "alice")
    with Repository.init(tmp_path / "brain") as repo:
        repo.commit(sample_state(), "one")
    assert run_cli("remote", "-C", tmp_path / "brain", "add", "origin", "http://127.0.0.1:9/brain.git").exit_code == 0
    for args in (["fetch", "-C", tmp_path / "brain", "origin"], ["push", "-C", tmp_path / "brain", "origin", "main"],
                 ["clone", "http://127.0.0.1:9/brain.git", tmp_path / "clone"]):
        result = run_cli(*args)
        assert result.exit_code != 0 and "tok-7f3a9c" not in result.output, result.output
    assert files_containing(tmp_path, b"tok-7f3a9c") == []
    log = subprocess.run(["git", "-C", str(tmp_path / "brain"), "config", "--list"], capture_output=True, text=True)
    assert "tok-7f3a9c" not in log.stdout
