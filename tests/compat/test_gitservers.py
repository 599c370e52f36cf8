"""The loopback git servers work with real C git, and only as intended.

These tests prove the fixtures in ``conftest.py`` before brainvcs relies on
them: a clone / commit / push / clone round trip with ``git fsck --strict``
through each server, authentication that rejects what it should without
hanging, pinned SSH host keys, loopback-only listening and clean shutdown.
"""

from __future__ import annotations

import os
import shlex
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from . import gitservers
from .conftest import require, require_server
from .gitservers import (
    GitDaemonServer,
    GitServer,
    HttpGitServer,
    ServerStartError,
    SshGitServer,
    git_client_env,
)

GIT_TIMEOUT = 60.0
"""No git command in these tests may take longer than this (a hang is a failure)."""


def git(
    *args: str, env: dict[str, str], cwd: Path | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run C git with ``env``, bounded in time; raise with its output if ``check``."""
    proc = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=GIT_TIMEOUT,
        check=False,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"git {' '.join(args)} exited {proc.returncode}\n{proc.stdout}{proc.stderr}"
        )
    return proc


def unique_name(prefix: str) -> str:
    """A repository name no other test in the session uses."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}.git"


def commit_file(work: Path, env: dict[str, str], name: str, data: bytes) -> str:
    """Write ``name`` in ``work``, commit it and return the commit id."""
    (work / name).write_bytes(data)
    git("add", name, env=env, cwd=work)
    git("commit", "--quiet", "-m", f"add {name}", env=env, cwd=work)
    return git("rev-parse", "HEAD", env=env, cwd=work).stdout.strip()


def round_trip(server: GitServer, url: str, env: dict[str, str], tmp_path: Path) -> None:
    """Clone an empty repo, commit, push, clone again; both sides fsck clean."""
    first, second = tmp_path / "first", tmp_path / "second"
    git("clone", "--quiet", url, str(first), env=env)
    payload = b"brain state\n" + os.urandom(64).hex().encode() + b"\n"
    commit = commit_file(first, env, "brain.json", payload)
    git("push", "--quiet", "origin", "HEAD:refs/heads/main", env=env, cwd=first)

    git("clone", "--quiet", url, str(second), env=env)
    git("fsck", "--strict", "--no-dangling", env=env, cwd=second)
    assert git("rev-parse", "HEAD", env=env, cwd=second).stdout.strip() == commit
    assert (second / "brain.json").read_bytes() == payload

    bare = server.repo_path(url.rstrip("/").rsplit("/", 1)[-1])
    git("fsck", "--strict", "--no-dangling", env=env, cwd=bare)
    assert git("rev-parse", "refs/heads/main", env=env, cwd=bare).stdout.strip() == commit


# -- round trips ---------------------------------------------------------------


def test_http_round_trip(
    http_git_server: HttpGitServer, git_env: dict[str, str], tmp_path: Path
) -> None:
    """Authenticated clone, push and re-clone over smart HTTP."""
    url = http_git_server.create_repo(unique_name("http"))
    round_trip(http_git_server, url, git_env, tmp_path)


@pytest.mark.parametrize("scp_like", [False, True], ids=["ssh-url", "scp-like"])
def test_ssh_round_trip(
    ssh_git_server: SshGitServer, git_env: dict[str, str], tmp_path: Path, scp_like: bool
) -> None:
    """Clone, push and re-clone over ssh://, and over the scp-like form."""
    name = unique_name("ssh")
    ssh_git_server.create_repo(name)
    env = {**git_env, **ssh_git_server.client_env()}
    round_trip(ssh_git_server, ssh_git_server.url_for(name, scp_like=scp_like), env, tmp_path)


def test_git_daemon_round_trip(
    git_daemon_server: GitDaemonServer, git_env: dict[str, str], tmp_path: Path
) -> None:
    """Anonymous clone, push and re-clone over git://."""
    url = git_daemon_server.create_repo(unique_name("daemon"))
    round_trip(git_daemon_server, url, git_env, tmp_path)


def test_http_large_push_uses_chunked_body(
    http_git_server: HttpGitServer, git_env: dict[str, str], tmp_path: Path
) -> None:
    """A push bigger than http.postBuffer (sent chunked) gets through nginx and fcgiwrap."""
    url = http_git_server.create_repo(unique_name("http-large"))
    work = tmp_path / "work"
    git("clone", "--quiet", url, str(work), env=git_env)
    commit = commit_file(work, git_env, "weights.bin", os.urandom(3 * 1024 * 1024))
    # A post buffer far below the pack size makes git send the body chunked.
    push = ("-c", "http.postBuffer=65536", "push", "--quiet", "origin", "HEAD:main")
    git(*push, env=git_env, cwd=work)
    remote = git("ls-remote", url, "refs/heads/main", env=git_env).stdout.split()
    assert remote[:1] == [commit]


# -- what must be refused --------------------------------------------------------


def test_http_wrong_password_is_rejected_without_prompting(
    http_git_server: HttpGitServer, git_env: dict[str, str]
) -> None:
    """A wrong password fails fast with an auth error instead of asking for another."""
    name = unique_name("http-auth")
    http_git_server.create_repo(name)
    good = http_git_server.url_for(name, with_credentials=True)
    bad = good.replace(http_git_server.password, "not-the-password")
    assert bad != good
    began = time.monotonic()
    proc = git("ls-remote", bad, env=git_env, check=False)
    assert proc.returncode != 0
    assert "Authentication failed" in proc.stderr or "401" in proc.stderr, proc.stderr
    assert time.monotonic() - began < 30


def test_http_anonymous_access_is_rejected(
    http_git_server: HttpGitServer, git_env: dict[str, str], tmp_path: Path
) -> None:
    """Without credentials neither read nor push works, and no ref moves."""
    name = unique_name("http-anon")
    url = http_git_server.create_repo(name)
    anonymous = http_git_server.url_for(name, with_credentials=False)
    assert http_git_server.password not in anonymous

    assert git("ls-remote", anonymous, env=git_env, check=False).returncode != 0

    work = tmp_path / "work"
    git("clone", "--quiet", url, str(work), env=git_env)
    commit_file(work, git_env, "brain.json", b"{}\n")
    proc = git("push", anonymous, "HEAD:refs/heads/main", env=git_env, cwd=work, check=False)
    assert proc.returncode != 0, proc.stderr
    bare = http_git_server.repo_path(name)
    refs = git("for-each-ref", env=git_env, cwd=bare).stdout
    assert refs == "", f"anonymous push moved a ref: {refs}"


def test_ssh_unknown_host_key_is_refused(
    ssh_git_server: SshGitServer, git_env: dict[str, str], tmp_path: Path
) -> None:
    """With an empty known_hosts and strict checking, ssh will not talk to the server."""
    url = ssh_git_server.create_repo(unique_name("ssh-hostkey"))
    empty = tmp_path / "known_hosts"
    empty.write_text("", encoding="utf-8")
    args = [
        f"UserKnownHostsFile={empty}" if a.startswith("UserKnownHostsFile=") else a
        for a in ssh_git_server.ssh_args
    ]
    assert f"UserKnownHostsFile={empty}" in args and "StrictHostKeyChecking=yes" in args
    env = {**git_env, "GIT_SSH_COMMAND": shlex.join(args)}
    proc = git("ls-remote", url, env=env, check=False)
    assert proc.returncode != 0
    assert "Host key verification failed" in proc.stderr, proc.stderr
    assert empty.read_text(encoding="utf-8") == "", "ssh must not learn the key"


def test_ssh_unauthorised_client_key_is_refused(
    ssh_git_server: SshGitServer, git_env: dict[str, str], tmp_path: Path
) -> None:
    """A key that is not in authorized_keys gets ``Permission denied``."""
    url = ssh_git_server.create_repo(unique_name("ssh-key"))
    stranger = tmp_path / "stranger_ed25519"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger)],
        check=True,
        timeout=GIT_TIMEOUT,
    )
    key = str(ssh_git_server.client_key)
    args = [str(stranger) if a == key else a for a in ssh_git_server.ssh_args]
    assert str(stranger) in args
    env = {**git_env, "GIT_SSH_COMMAND": shlex.join(args)}
    proc = git("ls-remote", url, env=env, check=False)
    assert proc.returncode != 0
    assert "Permission denied" in proc.stderr, proc.stderr


def test_server_fscks_pushed_objects(
    git_daemon_server: GitDaemonServer, git_env: dict[str, str], tmp_path: Path
) -> None:
    """Created repositories have receive.fsckObjects: a commit without author is refused."""
    name = unique_name("daemon-fsck")
    url = git_daemon_server.create_repo(name)
    work = tmp_path / "work"
    git("init", "--quiet", str(work), env=git_env)
    tree = git("write-tree", env=git_env, cwd=work).stdout.strip()
    bad_commit = f"tree {tree}\ncommitter x <x@y> 0 +0000\n\nno author\n"
    oid = subprocess.run(
        ["git", "hash-object", "-t", "commit", "-w", "--literally", "--stdin"],
        input=bad_commit,
        capture_output=True,
        text=True,
        cwd=work,
        env=git_env,
        check=True,
        timeout=GIT_TIMEOUT,
    ).stdout.strip()
    proc = git("push", url, f"{oid}:refs/heads/main", env=git_env, cwd=work, check=False)
    assert proc.returncode != 0
    assert "missingAuthor" in proc.stderr or "fsck" in proc.stderr, proc.stderr
    assert git("for-each-ref", env=git_env, cwd=git_daemon_server.repo_path(name)).stdout == ""


def test_repository_names_cannot_escape_the_root(git_daemon_server: GitDaemonServer) -> None:
    """create_repo refuses names that would leave the server's repository root."""
    for bad in ("../escape.git", "/abs.git", "a/../../b.git", "", "a b.git"):
        with pytest.raises(ValueError):
            git_daemon_server.create_repo(bad)


# -- listening and stopping --------------------------------------------------------


def _listening_addresses(port: int) -> list[str]:
    """Hex local addresses of sockets listening on ``port`` (IPv4 and IPv6)."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text(encoding="ascii").splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            address, hex_port = fields[1].rsplit(":", 1)
            if int(hex_port, 16) == port and fields[3] == "0A":  # 0A = LISTEN
                found.append(address)
    return found




@pytest.mark.parametrize("fixture", ["http_git_server", "ssh_git_server", "git_daemon_server"])
def test_servers_listen_on_loopback_only(request: pytest.FixtureRequest, fixture: str) -> None:
    """Each server has exactly one listening socket, on 127.0.0.1."""
    require(Path("/proc/net/tcp").exists(), "no /proc/net/tcp on this platform")
    server: GitServer = request.getfixturevalue(fixture)
    assert server.host == "127.0.0.1"
    assert _listening_addresses(server.port) == ["0100007F"]  # 127.0.0.1, little-endian hex


@pytest.mark.parametrize("server_class", [HttpGitServer, SshGitServer, GitDaemonServer])
def test_stop_leaves_no_process_or_directory(
    server_class: type[GitServer], tmp_path: Path
) -> None:
    """After the with-block every server process is gone and its directory deleted."""
    require_server(server_class)
    env = git_client_env(tmp_path / "home")
    with server_class() as server:
        url = server.create_repo("probe.git")
        # Leave server-side children behind a finished request too.
        git("ls-remote", url, env={**env, **server.client_env()})
        pids = server.pids
        root = server.root
        assert pids and root.is_dir()
    assert not root.exists()
    deadline = time.monotonic() + 5.0
    alive = pids
    while alive and time.monotonic() < deadline:
        alive = [pid for pid in pids if _alive(pid)]
        time.sleep(0.02)
    assert alive == [], f"{server_class.__name__} left processes: {alive}"


def _alive(pid: int) -> bool:
    """Whether ``pid`` is a running (not zombie) process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_start_retries_when_the_port_is_taken(
    monkeypatch: pytest.MonkeyPatch, git_env: dict[str, str]
) -> None:
    """Losing the race for a "free" port makes start() try another port."""
    require_server(GitDaemonServer)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        ports = iter([taken])
        real_free_port = gitservers.free_port
        monkeypatch.setattr(gitservers, "free_port", lambda: next(ports, None) or real_free_port())
        with GitDaemonServer() as server:
            assert server.port != taken
            url = server.create_repo("retry.git")
            git("ls-remote", url, env=git_env)


class _SilentServer(GitDaemonServer):
    """A "server" whose process never listens, to exercise the startup timeout."""

    def _launch(self) -> None:
        code = "import time; print('pretending to start', flush=True); time.sleep(60)"
        self._spawn([sys.executable, "-c", code], "silent.log", self.server_env())


def test_startup_timeout_reports_the_log_and_cleans_up() -> None:
    """A server that never accepts connections fails fast with its log, leaving nothing."""
    server = _SilentServer(startup_timeout=0.5)
    began = time.monotonic()
    with pytest.raises(ServerStartError, match="pretending to start"):
        server.start()
    assert time.monotonic() - began < 5
    assert server.pids == []
    assert not server.root.exists()


_ORPHANING_SCRIPT = """
import sys, time
sys.path.insert(0, sys.argv[1])
from compat.gitservers import {name}
server = {name}().start()
print(server.root, *server.pids, flush=True)
time.sleep(60)
"""


@pytest.mark.parametrize("server_class", [HttpGitServer, SshGitServer, GitDaemonServer])
def test_servers_die_with_a_killed_test_process(server_class: type[GitServer]) -> None:
    """If the process that started a server is SIGKILLed, the server still goes away."""
    require_server(server_class)
    script = _ORPHANING_SCRIPT.format(name=server_class.__name__)
    tests_dir = str(Path(__file__).resolve().parents[1])
    owner = subprocess.Popen(
        [sys.executable, "-c", script, tests_dir], stdout=subprocess.PIPE, text=True
    )
    try:
        assert owner.stdout is not None
        root, *pids = owner.stdout.readline().split()
    finally:
        owner.kill()
        owner.wait(timeout=GIT_TIMEOUT)
    try:
        assert pids, "the server did not report its processes"
        deadline = time.monotonic() + 5.0
        alive = [int(pid) for pid in pids]
        while alive and time.monotonic() < deadline:
            alive = [pid for pid in alive if _alive(pid)]
            time.sleep(0.02)
        assert alive == [], f"{server_class.__name__} outlived its owner: {alive}"
    finally:
        shutil.rmtree(root, ignore_errors=True)
