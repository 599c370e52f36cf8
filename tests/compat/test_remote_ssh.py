"""brainvcs remotes against OpenSSH ``sshd`` (ssh:// and scp-like URLs, the user's ssh and keys)."""

from __future__ import annotations

from pathlib import Path

import pytest

from brainvcs.errors import AuthenticationError, RemoteError
from brainvcs.remote import ops

from . import remote_checks as checks
from .gitservers import SshGitServer


@pytest.fixture
def ssh_env(ssh_git_server: SshGitServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """brainvcs (like C git) runs the ssh command in GIT_SSH_COMMAND: the test key, pinned host key."""
    monkeypatch.setenv("GIT_SSH_COMMAND", ssh_git_server.ssh_command)


@pytest.fixture
def c_git_env(ssh_git_server: SshGitServer, git_env: dict[str, str]) -> dict[str, str]:
    """C git with the same ssh command."""
    return {**git_env, **ssh_git_server.client_env()}


def test_push_history_clone_and_c_git_fsck(ssh_git_server: SshGitServer, ssh_env: None,
                                           c_git_env: dict[str, str], tmp_path: Path) -> None:
    name = checks.unique_name("history")
    ssh_git_server.create_repo(name)
    checks.push_history_and_clone(ssh_git_server.url_for(name), c_git_env, tmp_path)


def test_scp_like_url_and_c_git_push_is_pulled(ssh_git_server: SshGitServer, ssh_env: None,
                                               c_git_env: dict[str, str], tmp_path: Path) -> None:
    name = checks.unique_name("interop")
    ssh_git_server.create_repo(name)
    checks.c_git_push_is_pulled(ssh_git_server.url_for(name, scp_like=True), c_git_env, tmp_path)


def test_stale_push_is_refused(ssh_git_server: SshGitServer, ssh_env: None, tmp_path: Path) -> None:
    name = checks.unique_name("stale")
    ssh_git_server.create_repo(name)
    checks.stale_push_is_refused(ssh_git_server.url_for(name), tmp_path)


def test_unknown_host_key_is_refused_not_trusted(ssh_git_server: SshGitServer, monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path) -> None:
    name = checks.unique_name("hostkey")
    ssh_git_server.create_repo(name)
    empty_known_hosts = tmp_path / "known_hosts"
    empty_known_hosts.write_text("", encoding="utf-8")
    command = ssh_git_server.ssh_command.replace(str(ssh_git_server.known_hosts), str(empty_known_hosts))
    monkeypatch.setenv("GIT_SSH_COMMAND", command)
    with pytest.raises(RemoteError) as caught:
        ops.ls_remote(ssh_git_server.url_for(name))
    message = caught.value.message
    assert message.startswith("ssh host key verification failed for 127.0.0.1: ")
    assert message.endswith("Host key verification failed.")
    assert "never disables host key checking" in (caught.value.hint or "")
    assert empty_known_hosts.read_text(encoding="utf-8") == ""


def test_wrong_key_is_an_authentication_error(ssh_git_server: SshGitServer, monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    name = checks.unique_name("key")
    ssh_git_server.create_repo(name)
    command = ssh_git_server.ssh_command.replace(str(ssh_git_server.client_key), str(tmp_path / "no-such-key"))
    monkeypatch.setenv("GIT_SSH_COMMAND", command)
    with pytest.raises(AuthenticationError) as caught:
        ops.ls_remote(ssh_git_server.url_for(name))
    assert caught.value.message == f"ssh authentication failed for {ssh_git_server.url_for(name)}"
    assert caught.value.exit_code == 11


def test_git_ssh_program_is_honoured(ssh_git_server: SshGitServer, monkeypatch: pytest.MonkeyPatch,
                                     tmp_path: Path) -> None:
    name = checks.unique_name("gitssh")
    ssh_git_server.create_repo(name)
    wrapper = tmp_path / "my ssh"
    wrapper.write_text(f"#!/bin/sh\nexec {ssh_git_server.ssh_command} \"$@\"\n", encoding="utf-8")
    wrapper.chmod(0o755)
    monkeypatch.setenv("GIT_SSH", str(wrapper))
    assert ops.ls_remote(ssh_git_server.url_for(name)).refs == {}


def test_missing_repository(ssh_git_server: SshGitServer, ssh_env: None) -> None:
    url = ssh_git_server.url_for("no-such-brain.git")
    with pytest.raises(RemoteError) as caught:
        ops.ls_remote(url)
    path = ssh_git_server.repo_path("no-such-brain.git")
    assert caught.value.message == f"no repository at {url} (fatal: '{path}' does not appear to be a git repository)"
