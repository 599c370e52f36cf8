"""Real git servers on 127.0.0.1 for interop tests.

brainvcs pushes and pulls ordinary git repositories, so its remotes must be
tested against the servers people really run, not against dulwich's own
(DESIGN.md §5).  Three servers are provided, each a context manager that
starts in its own temporary directory on a free high port bound to 127.0.0.1
only, waits until the port accepts connections, and on exit kills its whole
process tree and deletes the directory:

- :class:`HttpGitServer`: nginx + fcgiwrap + ``git http-backend`` behind
  HTTP basic auth (smart HTTP, push enabled for authenticated users).
- :class:`SshGitServer`: OpenSSH ``sshd`` with a generated host key (pinned
  in a ``known_hosts`` file) and a generated client key.
- :class:`GitDaemonServer`: ``git daemon`` (``git://``), anonymous push on.

Every server creates bare repositories with :meth:`GitServer.create_repo`;
those repositories have ``receive.fsckObjects`` on, so the server itself
rejects malformed objects that a client pushes.  Servers never read the
machine's git configuration: they run with ``GIT_CONFIG_NOSYSTEM=1`` and a
``HOME`` inside their temporary directory.

The module is self-contained (standard library only) so it can be reused
outside pytest, e.g. ``with SshGitServer() as server: ...``.
"""

from __future__ import annotations

import base64
import hashlib
import os
import pwd
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import ClassVar, TypeVar
from urllib.parse import quote

__all__ = [
    "DEFAULT_STARTUP_TIMEOUT",
    "LOOPBACK",
    "GitDaemonServer",
    "GitServer",
    "HttpGitServer",
    "ServerStartError",
    "SshGitServer",
    "free_port",
    "git_client_env",
]

LOOPBACK = "127.0.0.1"
"""The only address any server here listens on."""

DEFAULT_STARTUP_TIMEOUT = 15.0
"""Seconds a server may take to accept connections before start fails."""

STOP_TIMEOUT = 5.0
"""Seconds to wait after SIGTERM before a server's processes get SIGKILL."""

_PORT_ATTEMPTS = 3
_POLL_INTERVAL = 0.02
_COMMAND_TIMEOUT = 60.0
_SBIN_DIRS = ("/usr/sbin", "/sbin", "/usr/local/sbin")
_REPO_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*(/[A-Za-z0-9_][A-Za-z0-9._-]*)*")
_PORT_IN_USE = ("address already in use", "cannot bind", "bind to port")
# Unix socket paths are limited to 108 bytes including the NUL (sun_path).
_MAX_SOCKET_PATH = 100

# Applied to every git process a server runs, via the environment so it is
# "command line" scope, which git honours for safe.directory.  The servers
# only ever serve repositories they created themselves, so trusting them all
# removes any "dubious ownership" refusal (e.g. root serving a directory that
# a different uid owns).
_SERVER_GIT_CONFIG = (("safe.directory", "*"),)

_ServerT = TypeVar("_ServerT", bound="GitServer")

# Every server program runs under this small supervisor, started with
# ``python -c _SUPERVISOR TESTS_PID PROGRAM ARGS...``.  It is a child
# subreaper, so whatever the program forks (nginx workers, fcgiwrap's CGI
# children, sshd sessions, which leave the process group) is reparented to it
# and reaped by it instead of lingering as a zombie of init.  On SIGTERM it
# stops the program, then every process it adopted, escalating to SIGKILL
# after 3 s, and exits once it has no children left, with the program's exit
# status.  PR_SET_PDEATHSIG sends it that SIGTERM when the tests' process
# dies, so a crashed or killed test run leaves no server behind.
_SUPERVISOR = r"""
import ctypes, os, signal, sys

def children():
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            if int(stat[stat.rfind(")") + 2:].split()[1]) == os.getpid():
                found.append(int(entry))
    return found

def signal_children(sig):
    for pid in children():
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass

def on_term(signum, frame):
    signal_children(signal.SIGTERM)
    signal.signal(signal.SIGALRM, lambda *_: signal_children(signal.SIGKILL))
    signal.alarm(3)

libc = ctypes.CDLL(None, use_errno=True)
libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
signal.signal(signal.SIGTERM, on_term)
main = os.fork()
if main == 0:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    except OSError as exc:
        print(f"supervisor: cannot run {sys.argv[2]}: {exc}", flush=True)
    os._exit(127)
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
if os.getppid() != int(sys.argv[1]):
    on_term(signal.SIGTERM, None)  # the tests died before PDEATHSIG was armed
status = 1
while True:
    try:
        pid, wait_status = os.waitpid(-1, 0)
    except ChildProcessError:
        break
    if pid == main:
        status = os.waitstatus_to_exitcode(wait_status)
        if children():
            on_term(signal.SIGTERM, None)
sys.exit(status if status >= 0 else 128 - status)
"""


class ServerStartError(RuntimeError):
    """A git server did not come up; the message ends with its log tail."""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago.

    Another process may take it before the caller binds it; servers retry
    with a new port when that happens.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def git_client_env(home: Path, base: dict[str, str] | None = None) -> dict[str, str]:
    """Return an environment in which C git ignores the machine's own setup.

    ``home`` becomes ``HOME`` (a ``.gitconfig`` with a test identity and
    ``init.defaultBranch=main`` is written there); system config is off,
    prompts are off (``GIT_TERMINAL_PROMPT=0``) and every inherited ``GIT_*``,
    askpass and ssh-agent variable is dropped, so a client never reads real
    credentials or waits for a password.
    """
    source = dict(os.environ if base is None else base)
    dropped_prefixes = ("GIT_", "SSH_", "XDG_CONFIG")
    env = {k: v for k, v in source.items() if not k.startswith(dropped_prefixes)}
    env.pop("DISPLAY", None)  # no graphical askpass either
    home.mkdir(parents=True, exist_ok=True)
    (home / ".gitconfig").write_text(
        "[user]\n"
        "\tname = brainvcs test\n"
        "\temail = test@brainvcs.invalid\n"
        "[init]\n"
        "\tdefaultBranch = main\n"
        "[advice]\n"
        "\tdetachedHead = false\n",
        encoding="utf-8",
    )
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_TERMINAL_PROMPT="0",
        GIT_AUTHOR_NAME="brainvcs test",
        GIT_AUTHOR_EMAIL="test@brainvcs.invalid",
        GIT_COMMITTER_NAME="brainvcs test",
        GIT_COMMITTER_EMAIL="test@brainvcs.invalid",
        LC_ALL="C",
    )
    return env


def _which(name: str) -> str | None:
    """Find ``name`` on PATH or in the sbin directories (not on PATH for users)."""
    search = os.pathsep.join([os.environ.get("PATH", os.defpath), *_SBIN_DIRS])
    return shutil.which(name, path=search)


def _git_exec_path() -> Path | None:
    """Return git's exec path (where git-http-backend and git-daemon live)."""
    git = _which("git")
    if git is None:
        return None
    try:
        out = subprocess.run(
            [git, "--exec-path"], capture_output=True, text=True, check=True, timeout=10
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return Path(out.strip())


def _missing(*names: str) -> tuple[bool, str]:
    """Availability answer for a list of executables, naming the missing ones."""
    absent = [n for n in names if _which(n) is None]
    if absent:
        return False, "not installed: " + ", ".join(absent) + " (see .ci/apt-packages.txt)"
    return True, "all of " + ", ".join(names) + " found"


def _missing_git_program(program: str) -> tuple[bool, str]:
    """Availability answer for a program in git's exec path."""
    exec_path = _git_exec_path()
    if exec_path is None:
        return False, "not installed: git"
    if not os.access(exec_path / program, os.X_OK):
        return False, f"not installed: {program} (not in {exec_path})"
    return True, f"{program} found"


def _children_map() -> dict[int, list[int]]:
    """Map each pid to its child pids, read from /proc (Linux)."""
    children: dict[int, list[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return children
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            stat = Path("/proc", entry, "stat").read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue  # exited while we looked
        # "pid (comm) state ppid ...": comm may contain spaces and parentheses.
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 1:
            children.setdefault(int(fields[1]), []).append(int(entry))
    return children


def _descendants(pid: int) -> list[int]:
    """Return every live descendant of ``pid``.

    Needed because some children leave the process group (sshd puts each
    connection in its own session), so killing the group alone can leave them.
    """
    children = _children_map()
    found: list[int] = []
    todo = list(children.get(pid, []))
    while todo:
        child = todo.pop()
        found.append(child)
        todo.extend(children.get(child, []))
    return found


def _signal_quietly(pid: int, sig: signal.Signals, group: bool = False) -> None:
    """Send a signal, ignoring processes that are already gone."""
    try:
        if group:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _listening_inodes(host: str, port: int) -> set[str] | None:
    """Inodes of IPv4 sockets listening on ``host:port``; None without /proc."""
    try:
        lines = Path("/proc/net/tcp").read_text(encoding="ascii").splitlines()[1:]
    except OSError:
        return None
    want = f"{socket.htonl(int.from_bytes(socket.inet_aton(host), 'big')):08X}:{port:04X}"
    inodes: set[str] = set()
    for line in lines:
        fields = line.split()
        if len(fields) > 9 and fields[1] == want and fields[3] == "0A":  # 0A: LISTEN
            inodes.add(fields[9])
    return inodes


def _socket_inodes(pid: int) -> set[str]:
    """Inodes of the sockets process ``pid`` has open."""
    inodes: set[str] = set()
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return inodes
    for fd in fds:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    return inodes


def _log_tail(paths: list[Path], lines: int = 40) -> str:
    """The last ``lines`` lines of each existing log file, labelled."""
    parts = []
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        tail = "\n".join(text.splitlines()[-lines:])
        parts.append(f"--- {path.name} ---\n{tail or '(empty)'}")
    return "\n".join(parts) or "(no log files)"


def _run(argv: list[str], env: dict[str, str] | None = None) -> str:
    """Run a helper command to completion, raising with its output on failure."""
    proc = subprocess.run(
        argv, capture_output=True, text=True, env=env, timeout=_COMMAND_TIMEOUT, check=False
    )
    if proc.returncode != 0:
        raise ServerStartError(
            f"{shlex.join(argv)} exited {proc.returncode}:\n{proc.stdout}{proc.stderr}"
        )
    return proc.stdout


class GitServer:
    """Base class: a temporary directory, some processes, one loopback port.

    Subclasses implement :meth:`_launch` (start the processes for
    ``self.port``), :meth:`url_for` and :meth:`available`.  After ``start()``
    (or entering the ``with`` block) ``host``, ``port``, ``root`` and
    ``repos_root`` are set and ``startup_seconds`` says how long it took.
    """

    kind: ClassVar[str] = "git"
    host: str = LOOPBACK

    def __init__(
        self, parent: Path | None = None, startup_timeout: float = DEFAULT_STARTUP_TIMEOUT
    ) -> None:
        """Prepare (but do not start) a server whose files live under ``parent``."""
        self._parent = parent
        self.startup_timeout = startup_timeout
        self.port = 0
        self.root = Path()
        self.repos_root = Path()
        self.startup_seconds = 0.0
        self._procs: list[subprocess.Popen[bytes]] = []
        self._logs: list[Path] = []
        self._argv: dict[int, list[str]] = {}
        self._started = False

    # -- lifecycle -----------------------------------------------------------

    @classmethod
    def available(cls) -> tuple[bool, str]:
        """Whether the programs this server needs are installed, and why not."""
        raise NotImplementedError

    def start(self: _ServerT) -> _ServerT:
        """Start the server and return it once its port accepts connections."""
        if self._started:
            return self
        ok, why = self.available()
        if not ok:
            raise ServerStartError(f"{type(self).__name__} cannot start: {why}")
        began = time.monotonic()
        self.root = Path(tempfile.mkdtemp(prefix=f"bvcs-{self.kind}-", dir=self._parent))
        self.repos_root = self.root / "repos"
        self.repos_root.mkdir()
        (self.root / "home").mkdir()
        self._started = True
        try:
            for attempt in range(1, _PORT_ATTEMPTS + 1):
                self.port = free_port()
                self._launch()
                if self._wait_until_ready(last_attempt=attempt == _PORT_ATTEMPTS):
                    break
                self._kill_processes()  # lost the port race: try another port
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - began
        return self

    def stop(self) -> None:
        """Kill every process of the server and delete its directory."""
        self._kill_processes()
        if self._started:
            shutil.rmtree(self.root, ignore_errors=True)
            self._started = False

    def __enter__(self: _ServerT) -> _ServerT:
        """Start the server."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the server."""
        self.stop()

    @property
    def pids(self) -> list[int]:
        """Pids of the processes this server started and their live descendants."""
        pids = []
        for proc in self._procs:
            if proc.poll() is None:
                pids.append(proc.pid)
                pids.extend(_descendants(proc.pid))
        return pids

    # -- repositories --------------------------------------------------------

    def repo_path(self, name: str) -> Path:
        """Filesystem path of repository ``name`` on the server."""
        if not _REPO_NAME.fullmatch(name) or ".." in name:
            raise ValueError(f"bad repository name {name!r}: use letters, digits, '._-' and '/'")
        return self.repos_root / name

    def create_repo(self, name: str) -> str:
        """Create an empty bare repository (branch ``main``) and return its URL."""
        path = self.repo_path(name)
        if path.exists():
            raise FileExistsError(f"repository {name!r} already exists on {self.kind} server")
        env = self.server_env()
        _run(["git", "init", "--quiet", "--bare", "--initial-branch=main", str(path)], env)
        _run(["git", "-C", str(path), "config", "receive.fsckObjects", "true"], env)
        return self.url_for(name)

    def url_for(self, name: str) -> str:
        """URL a client uses for repository ``name``."""
        raise NotImplementedError

    def client_env(self) -> dict[str, str]:
        """Extra environment a C git client needs for this server (may be empty)."""
        return {}

    def log_tail(self, lines: int = 40) -> str:
        """The end of the server's log files, for error messages."""
        return _log_tail(self._logs, lines)

    # -- helpers for subclasses ----------------------------------------------

    def server_env(self) -> dict[str, str]:
        """Environment for server-side processes: no machine git config."""
        env = {
            "PATH": os.pathsep.join([os.environ.get("PATH", os.defpath), *_SBIN_DIRS]),
            "HOME": str(self.root / "home"),
            "LC_ALL": "C",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_COUNT": str(len(_SERVER_GIT_CONFIG)),
        }
        for index, (key, value) in enumerate(_SERVER_GIT_CONFIG):
            env[f"GIT_CONFIG_KEY_{index}"] = key
            env[f"GIT_CONFIG_VALUE_{index}"] = value
        return env

    def _launch(self) -> None:
        """Start this server's processes for ``self.port`` (subclass hook)."""
        raise NotImplementedError

    def _extra_ready(self) -> bool:
        """Readiness beyond an open port (subclass hook, e.g. a unix socket)."""
        return True

    def _spawn(self, argv: list[str], log_name: str, env: dict[str, str]) -> None:
        """Start one long-running server program under a supervisor (see _SUPERVISOR)."""
        log = self.root / log_name
        if log not in self._logs:
            self._logs.append(log)
        supervised = [sys.executable, "-c", _SUPERVISOR, str(os.getpid()), *argv]
        with open(log, "ab") as out:
            self._procs.append(
                subprocess.Popen(
                    supervised,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    env=env,
                    cwd=self.root,
                    start_new_session=True,
                )
            )
        self._argv[self._procs[-1].pid] = argv

    def _wait_until_ready(self, last_attempt: bool) -> bool:
        """Poll until ready; False means the port was taken and a retry may help."""
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            for proc in self._procs:
                if proc.poll() is not None:
                    tail = self.log_tail()
                    if not last_attempt and any(s in tail.lower() for s in _PORT_IN_USE):
                        return False
                    raise ServerStartError(
                        f"{type(self).__name__}: {shlex.join(self._argv.get(proc.pid, []))} exited with "
                        f"{proc.returncode} during startup\n{tail}"
                    )
            if self._extra_ready() and self._accepts_connections():
                return True
            time.sleep(_POLL_INTERVAL)
        raise ServerStartError(
            f"{type(self).__name__} did not accept connections on {self.host}:{self.port} "
            f"within {self.startup_timeout:g} s\n{self.log_tail()}"
        )

    def _accepts_connections(self) -> bool:
        """Whether the port accepts connections and one of our processes owns it.

        A connection alone could reach another program that took the port
        first; on Linux the listening socket's inode must be one of ours.
        """
        try:
            with socket.create_connection((self.host, self.port), timeout=1.0):
                pass
        except OSError:
            return False
        listening = _listening_inodes(self.host, self.port)
        if listening is None:
            return True  # no /proc: the connection is the best evidence we have
        return any(listening & _socket_inodes(pid) for pid in self.pids)

    def _kill_processes(self) -> None:
        """Stop every supervisor (which stops and reaps its tree); SIGKILL as a last resort."""
        procs, self._procs = self._procs, []
        for proc in reversed(procs):  # front end first, then what it talks to
            if proc.poll() is None:
                _signal_quietly(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        for proc in procs:
            try:
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                strays = _descendants(proc.pid)
                _signal_quietly(proc.pid, signal.SIGKILL, group=True)
                for pid in strays:
                    _signal_quietly(pid, signal.SIGKILL)
                proc.wait(timeout=STOP_TIMEOUT)
        self._argv.clear()


class HttpGitServer(GitServer):
    """Smart HTTP: nginx -> fcgiwrap -> ``git http-backend``, basic auth required.

    Every request, read or write, needs ``username``/``password``; push is
    enabled for authenticated users (``http.receivepack``).  URLs, including
    the one :meth:`create_repo` returns, carry the credentials; use
    ``url_for(name, with_credentials=False)`` to get a URL without them.
    """

    kind = "http"

    def __init__(
        self, parent: Path | None = None, startup_timeout: float = DEFAULT_STARTUP_TIMEOUT
    ) -> None:
        """Prepare a server with a freshly generated username and password."""
        super().__init__(parent, startup_timeout)
        self.username = "brainvcs-" + secrets.token_hex(4)
        self.password = secrets.token_urlsafe(18)

    @classmethod
    def available(cls) -> tuple[bool, str]:
        """Need git, git-http-backend, nginx and fcgiwrap."""
        ok, why = _missing("git", "nginx", "fcgiwrap")
        return (ok, why) if not ok else _missing_git_program("git-http-backend")

    def url_for(self, name: str, with_credentials: bool = True) -> str:
        """``http://[user:password@]127.0.0.1:PORT/NAME``."""
        self.repo_path(name)  # validates the name
        auth = ""
        if with_credentials:
            auth = f"{quote(self.username, safe='')}:{quote(self.password, safe='')}@"
        return f"http://{auth}{self.host}:{self.port}/{name}"

    @property
    def socket_path(self) -> Path:
        """The unix socket fcgiwrap listens on."""
        return self.root / "fcgiwrap.sock"

    def _launch(self) -> None:
        """Start fcgiwrap, write htpasswd and nginx.conf, start nginx."""
        if len(str(self.socket_path)) > _MAX_SOCKET_PATH:
            raise ServerStartError(f"unix socket path too long: {self.socket_path}")
        self.socket_path.unlink(missing_ok=True)
        # One fcgiwrap process (no prefork): requests queue, but a prefork
        # master dies without reaping its workers, leaving zombies for init.
        self._spawn(
            [str(_which("fcgiwrap")), "-c", "1", "-s", f"unix:{self.socket_path}"],
            "fcgiwrap.log",
            self.server_env(),
        )
        (self.root / "htpasswd").write_text(
            f"{self.username}:{_ssha(self.password)}\n", encoding="utf-8"
        )
        (self.root / "nginx-tmp").mkdir(exist_ok=True)
        (self.root / "nginx.conf").write_text(self._nginx_conf(), encoding="utf-8")
        self._spawn(
            [
                str(_which("nginx")),
                "-p", str(self.root),
                "-c", str(self.root / "nginx.conf"),
                "-e", str(self.root / "nginx-error.log"),
            ],
            "nginx-stderr.log",
            self.server_env(),
        )
        if self.root / "nginx-error.log" not in self._logs:
            self._logs.append(self.root / "nginx-error.log")

    def _extra_ready(self) -> bool:
        """fcgiwrap has created its socket."""
        return self.socket_path.exists()

    def _nginx_conf(self) -> str:
        """An nginx.conf that needs nothing from /etc/nginx or /var."""
        q = _nginx_quote
        backend = _git_exec_path() or Path("/usr/lib/git-core")
        # Run workers as whoever started the master: as root that must be said
        # explicitly (the default would be "nobody", who cannot use our files).
        user = pwd.getpwuid(os.getuid()).pw_name
        user_line = f"user {user};" if os.getuid() == 0 else ""
        params = {
            "SCRIPT_FILENAME": str(backend / "git-http-backend"),
            "GIT_PROJECT_ROOT": str(self.repos_root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": "$uri",
            "QUERY_STRING": "$args",
            "REQUEST_METHOD": "$request_method",
            "CONTENT_TYPE": "$content_type",
            "CONTENT_LENGTH": "$content_length",
            "REMOTE_USER": "$remote_user",
            "REMOTE_ADDR": "$remote_addr",
            "SERVER_PROTOCOL": "$server_protocol",
            "GATEWAY_INTERFACE": "CGI/1.1",
            "HTTP_CONTENT_ENCODING": "$http_content_encoding",
            "GIT_PROTOCOL": "$http_git_protocol",
            "GIT_CONFIG_KEY_%d" % len(_SERVER_GIT_CONFIG): "http.receivepack",
            "GIT_CONFIG_VALUE_%d" % len(_SERVER_GIT_CONFIG): "true",
        }
        # fcgiwrap gives the CGI only these parameters as its environment.
        server_env = self.server_env()
        server_env["GIT_CONFIG_COUNT"] = str(len(_SERVER_GIT_CONFIG) + 1)
        params.update(server_env)
        param_lines = "\n".join(
            f"            fastcgi_param {key} {q(value)};" for key, value in params.items()
        )
        root, temp = self.root, self.root / "nginx-tmp"
        return f"""\
# Generated by tests/compat/gitservers.py; self-contained, loopback only.
daemon off;
master_process on;
worker_processes 1;
{user_line}
pid {q(f"{root}/nginx.pid")};
error_log {q(f"{root}/nginx-error.log")} info;
events {{
    worker_connections 64;
}}
http {{
    access_log {q(f"{root}/nginx-access.log")};
    client_body_temp_path {q(f"{temp}/client_body")};
    proxy_temp_path {q(f"{temp}/proxy")};
    fastcgi_temp_path {q(f"{temp}/fastcgi")};
    uwsgi_temp_path {q(f"{temp}/uwsgi")};
    scgi_temp_path {q(f"{temp}/scgi")};
    client_max_body_size 0;
    server_tokens off;
    server {{
        listen {self.host}:{self.port};
        server_name localhost;
        location / {{
            auth_basic "brainvcs test git server";
            auth_basic_user_file {q(f"{root}/htpasswd")};
            fastcgi_pass {q(f"unix:{self.socket_path}")};
            fastcgi_read_timeout 120s;
{param_lines}
        }}
    }}
}}
"""


def _ssha(password: str) -> str:
    """An nginx ``{SSHA}`` htpasswd hash: base64(sha1(password + salt) + salt)."""
    salt = secrets.token_bytes(8)
    digest = hashlib.sha1(password.encode("utf-8") + salt).digest()
    return "{SSHA}" + base64.b64encode(digest + salt).decode("ascii")


def _nginx_quote(value: str) -> str:
    """Quote a value for nginx.conf (variables like ``$uri`` stay live)."""
    if re.fullmatch(r"[A-Za-z0-9_$./:*=-]+", value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class SshGitServer(GitServer):
    """OpenSSH ``sshd`` serving repositories to one generated client key.

    The host key is pinned in ``known_hosts`` and clients keep strict host
    key checking on; ``ssh_command`` (also in :meth:`client_env` as
    ``GIT_SSH_COMMAND``) carries the key, known_hosts file and port.  Only the
    current user (root in CI) may log in, by public key only.
    """

    kind = "ssh"

    def __init__(
        self, parent: Path | None = None, startup_timeout: float = DEFAULT_STARTUP_TIMEOUT
    ) -> None:
        """Prepare a server for the current user."""
        super().__init__(parent, startup_timeout)
        self.user = pwd.getpwuid(os.getuid()).pw_name
        self.client_key = Path()
        self.known_hosts = Path()
        self.known_hosts_line = ""

    @classmethod
    def available(cls) -> tuple[bool, str]:
        """Need git, sshd (at /usr/sbin/sshd or on PATH), ssh and ssh-keygen."""
        return _missing("git", "sshd", "ssh", "ssh-keygen")

    def url_for(self, name: str, scp_like: bool = False) -> str:
        """``ssh://user@127.0.0.1:PORT/abs/path`` or scp-like ``user@127.0.0.1:/abs/path``.

        The scp-like form cannot carry a port: it works only with
        :attr:`ssh_command`, which passes ``-p PORT``.
        """
        path = self.repo_path(name)
        if scp_like:
            return f"{self.user}@{self.host}:{path}"
        return f"ssh://{self.user}@{self.host}:{self.port}{path}"

    @property
    def ssh_args(self) -> list[str]:
        """argv of an ssh client pinned to this server's host key and client key."""
        return [
            _which("ssh") or "ssh",
            "-F", "/dev/null",  # no ~/.ssh/config or /etc/ssh/ssh_config
            "-i", str(self.client_key),
            "-o", "IdentitiesOnly=yes",
            "-o", f"UserKnownHostsFile={self.known_hosts}",
            "-o", "GlobalKnownHostsFile=/dev/null",
            "-o", "StrictHostKeyChecking=yes",
            "-o", "UpdateHostKeys=no",
            "-o", "BatchMode=yes",
            "-o", "ConnectTimeout=10",
            "-p", str(self.port),
        ]  # fmt: skip

    @property
    def ssh_command(self) -> str:
        """:attr:`ssh_args` as one shell string, for ``GIT_SSH_COMMAND``."""
        return shlex.join(self.ssh_args)

    def client_env(self) -> dict[str, str]:
        """``GIT_SSH_COMMAND`` for C git."""
        return {"GIT_SSH_COMMAND": self.ssh_command}

    def _launch(self) -> None:
        """Generate keys (once), write sshd_config, start ``sshd -D``."""
        host_key = self.root / "ssh_host_ed25519_key"
        self.client_key = self.root / "client_ed25519"
        if not host_key.exists():
            keygen = _which("ssh-keygen") or "ssh-keygen"
            for path, comment in ((host_key, "brainvcs-test-host"), (self.client_key, "client")):
                _run([keygen, "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)])
            authorized = self.root / "authorized_keys"
            authorized.write_text(
                (self.root / "client_ed25519.pub").read_text(encoding="utf-8"), encoding="utf-8"
            )
            authorized.chmod(0o600)
        host_public = " ".join(
            (self.root / "ssh_host_ed25519_key.pub").read_text(encoding="utf-8").split()[:2]
        )
        self.known_hosts_line = f"[{self.host}]:{self.port} {host_public}"
        self.known_hosts = self.root / "known_hosts"
        self.known_hosts.write_text(self.known_hosts_line + "\n", encoding="utf-8")
        # sshd run by root refuses to start without its privilege separation
        # directory; a non-root sshd does not use it (and could not create it).
        if os.getuid() == 0:
            Path("/run/sshd").mkdir(mode=0o755, parents=True, exist_ok=True)
        set_env = " ".join(f"{k}={v}" for k, v in self.server_env().items() if k != "PATH")
        config = self.root / "sshd_config"
        config.write_text(
            f"""\
# Generated by tests/compat/gitservers.py; loopback only, public key only.
Port {self.port}
ListenAddress {self.host}
AddressFamily inet
HostKey "{host_key}"
PidFile "{self.root}/sshd.pid"
AuthorizedKeysFile "{self.root}/authorized_keys"
AllowUsers {self.user}
PermitRootLogin yes
PubkeyAuthentication yes
AuthenticationMethods publickey
PasswordAuthentication no
KbdInteractiveAuthentication no
HostbasedAuthentication no
UsePAM no
StrictModes no
UseDNS no
PrintMotd no
PrintLastLog no
PermitTTY no
X11Forwarding no
AllowTcpForwarding no
AllowAgentForwarding no
PermitUserEnvironment no
MaxStartups 64
AcceptEnv GIT_PROTOCOL
SetEnv {set_env}
LogLevel VERBOSE
""",
            encoding="utf-8",
        )
        # sshd re-executes itself and so must be started by absolute path.
        sshd = os.path.abspath(_which("sshd") or "/usr/sbin/sshd")
        sshd_env = {"PATH": self.server_env()["PATH"], "LC_ALL": "C"}
        self._spawn([sshd, "-D", "-e", "-f", str(config)], "sshd.log", sshd_env)


class GitDaemonServer(GitServer):
    """``git daemon`` on ``git://``: anonymous clone and anonymous push."""

    kind = "daemon"

    @classmethod
    def available(cls) -> tuple[bool, str]:
        """Need git with its git-daemon program."""
        ok, why = _missing("git")
        return (ok, why) if not ok else _missing_git_program("git-daemon")

    def url_for(self, name: str) -> str:
        """``git://127.0.0.1:PORT/NAME``."""
        self.repo_path(name)  # validates the name
        return f"git://{self.host}:{self.port}/{name}"

    def _launch(self) -> None:
        """Start ``git daemon`` in the foreground."""
        self._spawn(
            [
                _which("git") or "git",
                "daemon",
                "--reuseaddr",
                "--informative-errors",
                "--verbose",
                f"--base-path={self.repos_root}",
                "--export-all",
                "--enable=receive-pack",
                f"--listen={self.host}",
                f"--port={self.port}",
                str(self.repos_root),
            ],
            "git-daemon.log",
            self.server_env(),
        )
