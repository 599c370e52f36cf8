"""brainvcs remotes against ``git http-backend`` behind nginx with HTTP basic auth."""

from __future__ import annotations

import logging
import os
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from brainvcs.cli import main
from brainvcs.errors import AuthenticationError, RemoteError
from brainvcs.remote import ops

from . import remote_checks as checks
from .gitservers import HttpGitServer


@pytest.fixture
def creds_env(http_git_server: HttpGitServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """brainvcs finds the server's credentials in BRAINVCS_USERNAME / BRAINVCS_PASSWORD."""
    monkeypatch.setenv("BRAINVCS_USERNAME", http_git_server.username)
    monkeypatch.setenv("BRAINVCS_PASSWORD", http_git_server.password)
    monkeypatch.setenv("BRAINVCS_CREDENTIAL_HOSTS", "127.0.0.1")


@pytest.fixture
def c_git_env(http_git_server: HttpGitServer, git_env: dict[str, str]) -> dict[str, str]:
    """C git with a credential helper answering the server's user and password (URLs stay clean)."""
    helper = f"!f() {{ echo username={http_git_server.username}; echo password={http_git_server.password}; }}; f"
    return {**git_env, "GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "credential.helper",
            "GIT_CONFIG_VALUE_0": helper}


def _clean_url(server: HttpGitServer, prefix: str) -> str:
    name = checks.unique_name(prefix)
    server.create_repo(name)
    return server.url_for(name, with_credentials=False)


def test_push_history_clone_and_c_git_fsck(http_git_server: HttpGitServer, creds_env: None,
                                           c_git_env: dict[str, str], tmp_path: Path) -> None:
    checks.push_history_and_clone(_clean_url(http_git_server, "history"), c_git_env, tmp_path)


def test_commit_pushed_by_c_git_is_pulled(http_git_server: HttpGitServer, creds_env: None,
                                          c_git_env: dict[str, str], tmp_path: Path) -> None:
    checks.c_git_push_is_pulled(_clean_url(http_git_server, "interop"), c_git_env, tmp_path)


def test_stale_push_is_refused(http_git_server: HttpGitServer, creds_env: None, tmp_path: Path) -> None:
    checks.stale_push_is_refused(_clean_url(http_git_server, "stale"), tmp_path)


def test_hook_refusal_is_an_error(http_git_server: HttpGitServer, creds_env: None, tmp_path: Path) -> None:
    name = checks.unique_name("hook")
    http_git_server.create_repo(name)
    checks.hook_refusal_is_reported(http_git_server.url_for(name, with_credentials=False),
                                    http_git_server.repo_path(name), tmp_path)


def test_wrong_password_is_a_clear_error_with_no_secret_anywhere(
        http_git_server: HttpGitServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        tmp_path: Path) -> None:
    url = _clean_url(http_git_server, "auth")
    wrong = "Wr0ng-" + http_git_server.password[:6] + "-pw"
    monkeypatch.setenv("BRAINVCS_USERNAME", http_git_server.username)
    monkeypatch.setenv("BRAINVCS_PASSWORD", wrong)
    monkeypatch.setenv("BRAINVCS_CREDENTIAL_HOSTS", "127.0.0.1")
    caplog.set_level(logging.DEBUG)
    with pytest.raises(AuthenticationError) as caught:
        ops.ls_remote(url)
    error = caught.value
    assert error.message == f"authentication failed for {url} (tried the BRAINVCS_* environment variables)"
    assert error.exit_code == 11
    result = CliRunner().invoke(main, ["clone", url, str(tmp_path / "copy")])
    assert result.exit_code == 11
    assert result.output.startswith(f"error: authentication failed for {url}")
    everything = "\n".join([error.message, error.hint or "", repr(error), result.output, caplog.text])
    for secret in (wrong, http_git_server.password):
        assert secret not in everything
    assert not (tmp_path / "copy").exists()


def test_password_in_the_url_is_used_once_never_stored_or_printed(
        http_git_server: HttpGitServer, creds_env: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = _clean_url(http_git_server, "inurl")
    with_creds = url.replace("http://", f"http://{http_git_server.username}:{http_git_server.password}@")
    monkeypatch.delenv("BRAINVCS_PASSWORD")
    result = CliRunner().invoke(main, ["clone", with_creds, str(tmp_path / "copy")])
    assert result.exit_code == 0, result.output
    assert http_git_server.password not in result.output
    config = (tmp_path / "copy" / "config").read_text(encoding="utf-8")
    assert http_git_server.password not in config
    assert f"url = {url.replace('http://', f'http://{http_git_server.username}@')}" in config
    wrong = with_creds.replace(http_git_server.password, "not-the-password")
    bad = CliRunner().invoke(main, ["ls-remote", wrong])
    assert bad.exit_code == 11
    assert "not-the-password" not in bad.output
    assert f"{http_git_server.username}:***@" in bad.output


def test_credentials_from_a_git_credential_helper(http_git_server: HttpGitServer, isolated_env: Path,
                                                  tmp_path: Path) -> None:
    url = _clean_url(http_git_server, "helper")
    log = tmp_path / "helper.log"
    helper = (f"!f() {{ echo \"$1\" >> {log}; test \"$1\" = get && "
              f"echo username={http_git_server.username} && echo password={http_git_server.password}; true; }}; f")
    subprocess.run(["git", "config", "--global", "credential.helper", helper], check=True,
                   env={**os.environ, "HOME": str(isolated_env)})
    assert ops.ls_remote(url).refs == {}
    assert log.read_text(encoding="utf-8").split() == ["get", "store"]


def test_credentials_from_netrc(http_git_server: HttpGitServer, isolated_env: Path) -> None:
    url = _clean_url(http_git_server, "netrc")
    netrc = isolated_env / ".netrc"
    netrc.write_text(f"machine 127.0.0.1 login {http_git_server.username} password {http_git_server.password}\n",
                     encoding="utf-8")
    netrc.chmod(0o600)
    assert ops.ls_remote(url).refs == {}


def test_no_credentials_at_all(http_git_server: HttpGitServer) -> None:
    url = _clean_url(http_git_server, "anon")
    with pytest.raises(AuthenticationError) as caught:
        ops.ls_remote(url)
    assert caught.value.message == f"{url} requires authentication and no credentials were found"
    assert "BRAINVCS_TOKEN" in (caught.value.hint or "")


def test_missing_repository(http_git_server: HttpGitServer, creds_env: None) -> None:
    url = http_git_server.url_for("no-such-brain.git", with_credentials=False)
    with pytest.raises(RemoteError) as caught:
        ops.ls_remote(url)
    assert caught.value.message == f"no repository at {url}"
