"""Team sync under faults: clients killed with SIGKILL mid-sync, connections cut mid-pack, pushes that lose races.

    python benchmarks/torture_sync.py --clients 4 --kills 200 --drops 200

A bare repository is served by ``git daemon`` behind a loopback TCP proxy that
cuts a share of connections at a random byte offset. Each client is its own
process looping *learn -> commit -> sync*; the controller SIGKILLs a random
client every few hundred milliseconds (at any instant: mid-fetch, mid-merge,
mid-push, mid-commit) and starts it again. A learning is deterministic in its
(client, step) name, so the truth needs no ledger that a kill could tear: a
learning counts once it is in the client's own branch (its commit returned).
When the kill and drop targets are reached, faults stop, every client syncs
until nothing moves, and the check runs: one fingerprint everywhere, each
learning's event exactly once, counters equal to the base plus every
learning's increments (a lost learning or a merge that added a delta twice
shows here). Prints the figures; ``tests/compat/test_sync_faults.py`` runs a
short version in CI.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from brainvcs.errors import BrainVCSError
from brainvcs.remote import ops
from brainvcs.repo import Repository

RESULTS = Path(__file__).resolve().parent / "results" / "torture_sync.json"
WORDS = ("the", "sea", "tree", "song", "light", "stone", "rain", "bird")
BASE = {"language_module": {"word_frequency": {w: 1 for w in WORDS}}, "memory": {"episodes": ["born"]}}


def bumps(event: str) -> Counter[str]:
    """The counter increments of one learning, a pure function of its name."""
    rng = random.Random(event)
    return Counter(rng.choice(WORDS) for _ in range(rng.randint(1, 3)))


# ---------------------------------------------------------------------------------------------------------
# The proxy: cuts connections at random byte offsets


class DroppingProxy:
    """A loopback TCP proxy to ``upstream`` that cuts a share of connections at a random offset."""

    def __init__(self, upstream: int, drop_rate: float, seed: int = 0) -> None:
        self.upstream = upstream
        self.drop_rate = drop_rate
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.drops = 0
        self.connections = 0
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        """Stop accepting."""
        self.closed = True
        self.listener.close()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
                cut = self.rng.randint(0, 64 * 1024) if self.rng.random() < self.drop_rate else None
            threading.Thread(target=self._serve, args=(client, cut), daemon=True).start()

    def _serve(self, client: socket.socket, cut: int | None) -> None:
        try:
            server = socket.create_connection(("127.0.0.1", self.upstream))
        except OSError:
            client.close()
            return
        budget = [cut]
        cut_now = threading.Event()

        def pump(src: socket.socket, dst: socket.socket) -> None:
            try:
                while not cut_now.is_set():
                    data = src.recv(16384)
                    if not data:
                        dst.shutdown(socket.SHUT_WR)  # pass a half-close on; the other direction goes on
                        return
                    with self.lock:
                        if budget[0] is not None and budget[0] >= 0:
                            if len(data) >= budget[0]:
                                data = data[:budget[0]]
                                budget[0] = -1
                                self.drops += 1
                                cut_now.set()
                            else:
                                budget[0] -= len(data)
                    dst.sendall(data)
            except OSError:
                cut_now.set()
            finally:
                if cut_now.is_set():
                    for s in (client, server):
                        try:
                            s.shutdown(socket.SHUT_RDWR)
                        except OSError:
                            pass

        threads = [threading.Thread(target=pump, args=(client, server), daemon=True),
                   threading.Thread(target=pump, args=(server, client), daemon=True)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        client.close()
        server.close()


# ---------------------------------------------------------------------------------------------------------
# A client process


def client_main(repo_path: str, index: int, log: str) -> None:
    """Learn, commit, sync forever (until killed); one line per sync outcome in ``log``."""
    with Repository.open(repo_path) as repo:
        state = repo.checkout("HEAD")
        mine = [e for e in state["memory"]["episodes"] if e.startswith(f"c{index}-")]
        step = 1 + max((int(e.split("-s")[1]) for e in mine), default=-1)
        while True:
            event = f"c{index}-s{step}"
            state = repo.checkout("HEAD")
            freq = state["language_module"]["word_frequency"]
            for word, n in bumps(event).items():
                freq[word] = freq.get(word, 0) + n
            state["memory"]["episodes"].append(event)
            repo.commit(state, f"client {index} learned {event}")
            step += 1
            try:
                result = ops.sync(repo, attempts=2)
                outcome = result.status
            except BrainVCSError as exc:
                outcome = type(exc).__name__
            with open(log, "a", encoding="utf-8") as f:
                f.write(outcome + "\n")


# ---------------------------------------------------------------------------------------------------------
# The controller


@dataclass
class Figures:
    """What a torture run did and found."""

    clients: int
    seconds: float
    syncs: int
    syncs_pushed_or_current: int
    sync_errors: int
    kills: int
    drops: int
    connections: int
    learnings: int
    lost_learnings: int
    double_counted: int
    converged: bool


def _start_daemon(root: Path) -> tuple[subprocess.Popen[bytes], int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    proc = subprocess.Popen(["git", "daemon", "--reuseaddr", f"--base-path={root}", "--export-all",
                             "--enable=receive-pack", "--listen=127.0.0.1", f"--port={port}", str(root)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("git daemon did not start")


def _spawn(path: Path, index: int, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "benchmarks.torture_sync", "client", str(path), str(index),
                             str(log)], cwd=Path(__file__).resolve().parent.parent,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run(clients: int = 4, kills: int = 200, drops: int = 200, drop_rate: float = 0.25, seed: int = 0,
        max_seconds: float = 3600, progress: Any = None) -> Figures:
    """The whole torture run (see the module docstring)."""
    rng = random.Random(seed)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="torture-sync-") as tmp:
        root = Path(tmp)
        served = root / "served"
        served.mkdir()
        subprocess.run(["git", "init", "-q", "--bare", str(served / "brain.git")], check=True)
        daemon, port = _start_daemon(served)
        proxy = DroppingProxy(port, drop_rate, seed)
        url = f"git://127.0.0.1:{proxy.port}/brain.git"
        direct = f"git://127.0.0.1:{port}/brain.git"
        try:
            with Repository.init(root / "seed") as first:
                first.commit(BASE, "the team's base brain")
                ops.remote_add(first, "origin", direct)
                ops.push(first)
            paths = [root / f"client{i}" for i in range(clients)]
            for path in paths:
                ops.clone(direct, path).close()
                subprocess.run(["git", "--git-dir", str(path), "remote", "set-url", "origin", url], check=True)
            logs = [root / f"client{i}.log" for i in range(clients)]
            procs = [_spawn(p, i, logs[i]) for i, p in enumerate(paths)]
            done_kills = 0
            while (done_kills < kills or proxy.drops < drops) and time.monotonic() - started < max_seconds:
                time.sleep(rng.uniform(0.05, 0.6))
                if done_kills < kills:
                    victim = rng.randrange(clients)
                    procs[victim].send_signal(signal.SIGKILL)
                    procs[victim].wait()
                    done_kills += 1
                    procs[victim] = _spawn(paths[victim], victim, logs[victim])
                if progress and done_kills % 20 == 0:
                    progress(f"kills {done_kills}/{kills}, drops {proxy.drops}/{drops}")
            for proc in procs:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
            proxy.drop_rate = 0.0
            # Faults over: every client syncs until nothing moves.
            repos = [Repository.open(p) for p in paths]
            try:
                learned: set[str] = set()
                for repo in repos:  # what each client acknowledged: its own branch's learnings
                    learned |= {e for e in repo.checkout("main")["memory"]["episodes"] if e != "born"}
                for _ in range(4):
                    for repo in repos:
                        for _attempt in range(20):
                            try:
                                ops.sync(repo, attempts=3)
                                break
                            except BrainVCSError as exc:
                                if progress:
                                    progress(f"settling {repo.gitdir}: {type(exc).__name__}: {exc}")
                                continue
                heads = {repo.resolve("main") for repo in repos}
                remote_tip = ops.ls_remote(direct).refs["refs/heads/main"]
                converged = heads == {remote_tip}
                final = repos[0].checkout("main")
                events = Counter(e for e in final["memory"]["episodes"] if e != "born")
                expected = Counter({w: 1 for w in WORDS})
                for event in learned:
                    expected.update(bumps(event))
                freq = Counter(final["language_module"]["word_frequency"])
                lost = len(learned - set(events))
                doubled = sum(n - 1 for n in events.values() if n > 1)
                # a counter above what the learnings imply is a delta added twice
                doubled += sum(max(0, freq[w] - expected[w]) for w in set(freq) | set(expected))
                lost += sum(1 for w in expected if freq[w] < expected[w])
            finally:
                for repo in repos:
                    repo.close()
            outcomes = Counter(line.strip() for log in logs if log.exists()
                               for line in log.read_text(encoding="utf-8").splitlines() if line.strip())
        finally:
            proxy.close()
            daemon.kill()
            daemon.wait()
    if progress:
        progress(f"client sync outcomes: {dict(outcomes)}")
    ok = outcomes["pushed"] + outcomes["up-to-date"]
    return Figures(clients=clients, seconds=round(time.monotonic() - started, 1), syncs=sum(outcomes.values()),
                   syncs_pushed_or_current=ok, sync_errors=sum(outcomes.values()) - ok, kills=done_kills,
                   drops=proxy.drops, connections=proxy.connections, learnings=len(learned), lost_learnings=lost,
                   double_counted=doubled, converged=converged)


def main(argv: list[str] | None = None) -> int:
    """``client REPO INDEX LOG`` (internal) or the controller."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["client"]:
        client_main(argv[1], int(argv[2]), argv[3])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--kills", type=int, default=200)
    parser.add_argument("--drops", type=int, default=200)
    parser.add_argument("--drop-rate", type=float, default=0.25, help="share of connections cut")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    figures = run(args.clients, args.kills, args.drops, args.drop_rate, args.seed,
                  progress=lambda m: print(m, file=sys.stderr, flush=True))
    print(f"sync torture: {figures.clients} clients, {figures.seconds} s")
    for name, value in asdict(figures).items():
        print(f"  {name:<26} {value}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(asdict(figures), indent=2) + "\n", encoding="utf-8")
    ok = figures.converged and figures.lost_learnings == 0 and figures.double_counted == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
