"""HTTPS credential sources (brainvcs.remote.credentials): environment, git helpers, ~/.netrc."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from brainvcs.errors import InputFileError, UsageError
from brainvcs.remote import credentials as creds
from brainvcs.remote.credentials import Credential
from brainvcs.remote.urls import parse_url

URL = parse_url("https://git.example.com/team/brain.git")
URL_WITH_PORT = parse_url("http://127.0.0.1:8080/brain")


def _helper(home: Path, script: str) -> None:
    """Configure a credential helper in the isolated HOME's .gitconfig."""
    subprocess.run(["git", "config", "--global", "credential.helper", script], check=True,
                   env={**os.environ, "HOME": str(home)})


def test_credential_never_shows_its_password() -> None:
    cred = Credential("alice", "hunter2", "environment")
    assert "hunter2" not in repr(cred)
    assert "hunter2" not in str(cred)
    assert repr(cred) == "Credential(username='alice', password='***', source='environment')"


def test_from_url_needs_user_and_password() -> None:
    assert creds.from_url(parse_url("https://bob:pw@h/x")) == Credential("bob", "pw", "url")
    assert creds.from_url(parse_url("https://bob@h/x")) is None
    assert creds.from_url(URL) is None


#: Environment credentials are for the hosts named here (BRAINVCS_CREDENTIAL_HOSTS).
HOSTS = {"BRAINVCS_CREDENTIAL_HOSTS": "git.example.com, h"}


@pytest.fixture(autouse=True)
def credential_hosts(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests' hosts are the ones the environment credentials are for."""
    monkeypatch.setenv("BRAINVCS_CREDENTIAL_HOSTS", HOSTS["BRAINVCS_CREDENTIAL_HOSTS"])


def test_environment_username_and_password() -> None:
    env = {"BRAINVCS_USERNAME": "alice", "BRAINVCS_PASSWORD": "pw1", **HOSTS}
    assert creds.from_environment(URL, env) == Credential("alice", "pw1", "environment")


def test_environment_token_defaults_the_username() -> None:
    token = {"BRAINVCS_TOKEN": "tok", **HOSTS}
    assert creds.from_environment(URL, token) == Credential("x-access-token", "tok", "environment")
    assert creds.from_environment(parse_url("https://carol@h/x"), token) == Credential(
        "carol", "tok", "environment")
    env = {"BRAINVCS_TOKEN": "tok", "BRAINVCS_USERNAME": "dave", "BRAINVCS_PASSWORD": "ignored", **HOSTS}
    assert creds.from_environment(URL, env) == Credential("dave", "tok", "environment")


def test_environment_without_secret_gives_nothing() -> None:
    assert creds.from_environment(URL, {}) is None
    assert creds.from_environment(URL, {"BRAINVCS_USERNAME": "alice"}) is None


def test_environment_credentials_go_only_to_their_hosts_over_https() -> None:
    token = {"BRAINVCS_TOKEN": "tok"}
    # unset: no host gets the token, and the reason names the variable to set
    assert creds.from_environment(URL, token) is None
    assert "BRAINVCS_CREDENTIAL_HOSTS" in (creds.environment_withheld(URL, token) or "")
    listed = {**token, "BRAINVCS_CREDENTIAL_HOSTS": "git.example.com,127.0.0.1:8080"}
    assert creds.from_environment(URL, listed) is not None
    assert creds.from_environment(parse_url("https://evil.example/x"), listed) is None
    assert creds.from_environment(parse_url("https://git.example.com.evil.example/x"), listed) is None
    # a listed host over plain http: never, except on loopback (a test server)
    assert creds.from_environment(parse_url("http://git.example.com/x"), listed) is None
    assert "https only" in (creds.environment_withheld(parse_url("http://git.example.com/x"), listed) or "")
    assert creds.from_environment(URL_WITH_PORT, listed) is not None
    assert creds.from_environment(parse_url("http://127.0.0.1:8081/brain"), listed) is None  # another port
    assert creds.environment_withheld(URL, {}) is None  # nothing set, nothing withheld


def test_helper_input_refuses_a_value_with_a_newline() -> None:
    evil = Credential("alice", "pw\nhost=github.com", "environment")
    with pytest.raises(UsageError, match="newline or NUL"):
        creds.git_credential_approve(URL, evil)


def test_netrc_machine_and_default_entries(tmp_path: Path) -> None:
    netrc_file = tmp_path / "netrc"
    netrc_file.write_text("machine git.example.com login alice password pw-netrc\n"
                          "default login anon password pw-default\n", encoding="utf-8")
    netrc_file.chmod(0o600)
    assert creds.from_netrc(URL, netrc_file) == Credential("alice", "pw-netrc", "netrc")
    assert creds.from_netrc(parse_url("https://other.example.com/x"), netrc_file) == Credential(
        "anon", "pw-default", "netrc")
    # A URL naming another user does not get alice's password.
    assert creds.from_netrc(parse_url("https://bob@git.example.com/x"), netrc_file) is None


def test_netrc_in_home_and_via_netrc_variable(isolated_env: Path, tmp_path: Path) -> None:
    (isolated_env / ".netrc").write_text("machine git.example.com login alice password pw-home\n", encoding="utf-8")
    (isolated_env / ".netrc").chmod(0o600)
    assert creds.from_netrc(URL) == Credential("alice", "pw-home", "netrc")
    other = tmp_path / "other-netrc"
    other.write_text("machine git.example.com login zed password pw-other\n", encoding="utf-8")
    assert creds.from_netrc(URL, environ={"NETRC": str(other)}) == Credential("zed", "pw-other", "netrc")


def test_missing_netrc_gives_nothing(tmp_path: Path) -> None:
    assert creds.from_netrc(URL, tmp_path / "absent") is None


def test_malformed_netrc_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "netrc"
    bad.write_text("machine git.example.com sideways alice\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="cannot read netrc file"):
        creds.from_netrc(URL, bad)


def test_git_credential_helper_fill(isolated_env: Path) -> None:
    _helper(isolated_env, "!f() { echo username=helper-user; echo password=helper-pw; }; f")
    assert creds.git_credential_fill(URL) == Credential("helper-user", "helper-pw", "git-credential")


def test_git_credential_helper_sees_protocol_and_host_with_port(isolated_env: Path, tmp_path: Path) -> None:
    seen = tmp_path / "seen.txt"
    _helper(isolated_env, f"!f() {{ cat > {seen}; echo password=pw; }}; f")
    cred = creds.git_credential_fill(parse_url("http://erin@127.0.0.1:8080/brain"))
    assert cred == Credential("erin", "pw", "git-credential")
    assert seen.read_text(encoding="utf-8").splitlines() == ["protocol=http", "host=127.0.0.1:8080", "username=erin"]


def test_git_credential_fill_without_helper_does_not_prompt() -> None:
    # GIT_TERMINAL_PROMPT=0 makes git fail at once instead of waiting for a terminal.
    assert creds.git_credential_fill(URL) is None


def test_git_credential_approve_and_reject_reach_the_helper(isolated_env: Path, tmp_path: Path) -> None:
    log = tmp_path / "calls.txt"
    _helper(isolated_env, f"!f() {{ echo \"$1\" >> {log}; cat >> {log}; }}; f")
    cred = Credential("frank", "pw-f", "git-credential")
    creds.git_credential_approve(URL_WITH_PORT, cred)
    creds.git_credential_reject(URL_WITH_PORT, cred)
    lines = log.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "store"
    assert "host=127.0.0.1:8080" in lines
    assert "username=frank" in lines
    assert "password=pw-f" in lines
    assert "erase" in lines


def test_candidates_order_env_then_helper_then_netrc(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _helper(isolated_env, "!f() { echo username=h; echo password=pw-helper; }; f")
    (isolated_env / ".netrc").write_text("machine git.example.com login n password pw-netrc\n", encoding="utf-8")
    (isolated_env / ".netrc").chmod(0o600)
    monkeypatch.setenv("BRAINVCS_USERNAME", "e")
    monkeypatch.setenv("BRAINVCS_PASSWORD", "pw-env")
    found = list(creds.candidates(URL))
    assert found == [Credential("e", "pw-env", "environment"), Credential("h", "pw-helper", "git-credential"),
                     Credential("n", "pw-netrc", "netrc")]


def test_candidates_are_looked_up_lazily(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRAINVCS_TOKEN", "tok")
    calls: list[str] = []
    monkeypatch.setattr(creds, "git_credential_fill", lambda *a, **k: calls.append("helper"))
    first = next(creds.candidates(URL))
    assert first == Credential("x-access-token", "tok", "environment")
    assert calls == []


def test_candidates_skip_duplicates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRAINVCS_USERNAME", "bob")
    monkeypatch.setenv("BRAINVCS_PASSWORD", "pw")
    assert list(creds.candidates(parse_url("https://bob:pw@git.example.com/x"))) == [Credential("bob", "pw", "url")]
