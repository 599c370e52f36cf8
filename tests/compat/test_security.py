"""Attacks that need real C git or a real server, each performed as the security review wrote it.

* A hostile clone holding ``brainvcs/__main__.py``: after ``brainvcs git-setup``,
  C git's ``git log -p``, ``git show``, ``git diff`` and ``git merge`` start the
  brainvcs drivers inside that working tree; the planted module must never run.
* A URL whose user name hides ``%0a`` lines for ``git credential fill``, against
  a loopback HTTP server that records every request: the secret a credential
  helper holds for another host must never reach it, nor a ``BRAINVCS_TOKEN``
  meant for another host.
* ``brainvcs reseal`` in a clone whose ``brain.json`` is a symlink to a file outside.
"""

from __future__ import annotations

import base64
import http.server
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from brainvcs import Repository
from tests.conftest import IDENTITY, git, run_cli
from tests.test_diff import new_state, old_state

# --------------------------------------------------------------------------
# 1. Code execution through the git drivers


@pytest.fixture
def hostile_clone(tmp_path: Path) -> tuple[Path, Path]:
    """A victim's C git clone of a brain whose history an attacker extended with a ``brainvcs`` package.

    Returns (the clone, the file the planted code would create).
    """
    marker = tmp_path / "PWNED"
    origin = tmp_path / "origin.git"
    with Repository.init(origin) as repo:
        repo.commit(old_state(), "first words", author=IDENTITY)
        repo.create_branch("topic")
        repo.commit(new_state(), "learn: tide", author=IDENTITY)
        changed = old_state()
        changed["cognitive_metrics"]["mood"] = "sleepy"
        repo.commit(changed, "topic learns", author=IDENTITY, branch="topic")
    attacker = tmp_path / "attacker"
    git("clone", "-q", origin, attacker)
    package = attacker / "brainvcs"
    package.mkdir()
    payload = f"open({str(marker)!r}, 'w').write('planted code ran')\n"
    (package / "__init__.py").write_text(payload)
    (package / "__main__.py").write_text(payload)
    git("add", "brainvcs", cwd=attacker)
    git("commit", "-q", "-m", "harmless-looking commit", cwd=attacker)
    git("push", "-q", "origin", "main", cwd=attacker)
    victim = tmp_path / "victim"
    git("clone", "-q", origin, victim)
    # the victim runs the installed command from elsewhere, as the docs say (-C names the clone)
    setup = subprocess.run([sys.executable, "-m", "brainvcs", "git-setup", "-C", str(victim)], cwd=tmp_path,
                           capture_output=True, text=True)
    assert setup.returncode == 0, setup.stderr
    return victim, marker


def test_git_drivers_never_import_code_from_the_working_tree(hostile_clone: tuple[Path, Path]) -> None:
    victim, marker = hostile_clone
    shown = git("log", "-p", "-3", cwd=victim)
    assert "    learn: tide\n" in shown.stdout  # the drivers did run...
    git("show", "--ext-diff", "HEAD~1", cwd=victim)
    diff = git("diff", "HEAD~2", "HEAD~1", cwd=victim)
    assert "semantic diff of the brain" in diff.stdout
    git("merge", "--no-edit", "origin/topic", cwd=victim, check=False)  # runs the merge driver on *.json
    assert not marker.exists(), "code planted in the clone ran"  # ...but never the planted package
    config = (victim / ".git" / "config").read_text()
    assert f"{sys.executable} -I -m brainvcs git-textconv" in config
    assert "-I -m brainvcs merge-driver" in (victim / ".git" / "brainvcs" / "merge-driver.sh").read_text()


def test_verify_and_checkout_refuse_the_planted_entries(hostile_clone: tuple[Path, Path], tmp_path: Path) -> None:
    victim, marker = hostile_clone
    git("merge", "--abort", cwd=victim, check=False)
    verified = run_cli("verify", "-C", victim, "HEAD")
    assert verified.exit_code == 9
    assert "top-level entry that brain.json does not account for: 'brainvcs'" in verified.output
    refused = run_cli("checkout", "HEAD", "-o", tmp_path / "out.json", "-C", victim)
    assert refused.exit_code == 9 and not (tmp_path / "out.json").exists()
    assert not marker.exists()


# --------------------------------------------------------------------------
# 2, 6, 11. Credentials


class _Recorder(http.server.BaseHTTPRequestHandler):
    """Answers every request with 401 (Basic) and records what the client sent."""

    seen: list[dict[str, str]] = []

    def _answer(self) -> None:
        type(self).seen.append({"path": self.path, "authorization": self.headers.get("Authorization", "")})
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="brains"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def recording_server() -> Iterator[tuple[int, list[dict[str, str]]]]:
    """A loopback HTTP server that refuses everyone and keeps every Authorization header it was sent."""
    _Recorder.seen = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], _Recorder.seen
    finally:
        server.shutdown()
        server.server_close()


def sent_secrets(seen: list[dict[str, str]]) -> str:
    """Every credential the server was sent, decoded."""
    out = []
    for request in seen:
        scheme, _, value = request["authorization"].partition(" ")
        if scheme == "Basic":
            out.append(base64.b64decode(value).decode("utf-8", "replace"))
    return "\n".join(out)


@pytest.fixture
def github_secret_in_a_helper(isolated_env: Path) -> str:
    """git's ``store`` helper holds a credential for github.com, as on a developer's machine."""
    secret = "ghp_victims-github-token-7f3a"
    store = isolated_env / ".git-credentials"
    store.write_text(f"https://victim:{secret}@github.com\n")
    store.chmod(0o600)
    subprocess.run(["git", "config", "--global", "credential.helper", f"store --file={store}"], check=True)
    helper = subprocess.run(["git", "credential", "fill"], input="protocol=https\nhost=github.com\n\n",
                            capture_output=True, text=True, check=True)
    assert f"password={secret}" in helper.stdout  # the helper really answers for github.com
    return secret


def test_a_url_cannot_steer_the_credential_helper_to_another_host(
        recording_server: tuple[int, list[dict[str, str]]], github_secret_in_a_helper: str) -> None:
    port, seen = recording_server
    hostile = f"http://x%0aurl=https%3A%2F%2Fgithub.com@127.0.0.1:{port}/r.git"
    result = run_cli("ls-remote", hostile)
    assert result.exit_code == 2 and "control character" in result.output
    plain = run_cli("ls-remote", f"http://127.0.0.1:{port}/r.git")
    assert plain.exit_code == 11  # asked the helper for 127.0.0.1, which has nothing
    assert github_secret_in_a_helper not in sent_secrets(seen)
    assert seen, "the plain URL reached the server"


def test_a_token_goes_only_to_the_host_it_is_for(recording_server: tuple[int, list[dict[str, str]]],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    port, seen = recording_server
    monkeypatch.setenv("BRAINVCS_TOKEN", "tok-for-git.example.com")
    monkeypatch.setenv("BRAINVCS_CREDENTIAL_HOSTS", "git.example.com")
    refused = run_cli("ls-remote", f"http://127.0.0.1:{port}/r.git")
    assert refused.exit_code == 11 and "is not for 127.0.0.1" in refused.output
    assert "tok-for-git.example.com" not in sent_secrets(seen)
    # named for this (loopback) host, it is sent: the rule keys on the host, and the test server proves it
    monkeypatch.setenv("BRAINVCS_CREDENTIAL_HOSTS", f"127.0.0.1:{port}")
    assert run_cli("ls-remote", f"http://127.0.0.1:{port}/r.git").exit_code == 11
    assert "x-access-token:tok-for-git.example.com" in sent_secrets(seen)


def test_a_password_holding_an_at_sign_is_never_shown(recording_server: tuple[int, list[dict[str, str]]]) -> None:
    port, _ = recording_server
    result = run_cli("ls-remote", f"http://u:pw@SECRETTAIL@127.0.0.1:{port}/r.git")
    assert result.exit_code == 11
    assert "SECRETTAIL" not in result.output and "pw" not in result.output.replace("http", "")


# --------------------------------------------------------------------------
# 3. reseal never writes through a symlink


def test_reseal_refuses_a_symlinked_manifest(tmp_path: Path) -> None:
    origin = tmp_path / "origin.git"
    with Repository.init(origin) as repo:
        repo.commit(old_state(), "first words", author=IDENTITY)
    clone = tmp_path / "clone"
    git("clone", "-q", origin, clone)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    (clone / "brain.json").unlink()
    os.symlink(victim, clone / "brain.json")
    result = run_cli("reseal", "-C", clone)
    assert result.exit_code == 3 and "brain.json: is a symbolic link" in result.output
    assert victim.read_text() == "precious\n"
