"""A small team learning one brain: clients that learn, commit and sync against one remote, and the ledger of
what they learned, to check that every clone converges to exactly the brain the learnings imply.

Each learning step bumps a few shared counters by known amounts, appends
events that are unique across the team, and adds a new association key.
After the team's last sync, :func:`check_converged` requires every clone and
the remote to hold one fingerprint, counters equal to the base plus every
client's increments (a lost or double-counted learning shows here), every
event exactly once, and every new key present.
"""

from __future__ import annotations

import random
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from brainvcs import Repository
from brainvcs.errors import PushRejectedError
from brainvcs.remote import ops

WORDS = ("the", "sea", "tree", "song", "light", "stone")
BASE_STATE: dict[str, Any] = {
    "language_module": {"word_frequency": {w: 1 for w in WORDS}},
    "memory": {"episodes": ["born"]},
    "associations": {},
}


@dataclass
class Ledger:
    """What the whole team learned (the truth the merged brain must equal)."""

    increments: Counter[str] = field(default_factory=Counter)
    events: list[str] = field(default_factory=list)
    keys: set[str] = field(default_factory=set)
    lock: Any = None

    def expected_frequency(self) -> dict[str, int]:
        """Base counts plus every increment."""
        base = BASE_STATE["language_module"]["word_frequency"]
        return {w: base.get(w, 0) + self.increments[w] for w in set(base) | set(self.increments)}


def seed_remote(url: str, workdir: Path, brain: Any = None) -> None:
    """Push the team's base brain (default :data:`BASE_STATE`; any live object too) to the empty remote at ``url``."""
    with Repository.init(workdir / "seed") as seed:
        seed.commit(BASE_STATE if brain is None else brain, "the team's base brain")
        ops.remote_add(seed, "origin", url)
        ops.push(seed)


def bare_remote(workdir: Path, brain: Any = None) -> str:
    """A bare repository made by C git in ``workdir``, seeded with the base brain; returns its path as a URL."""
    url = str(workdir / "remote.git")
    subprocess.run(["git", "init", "-q", "--bare", url], check=True)
    seed_remote(url, workdir, brain)
    return url


def learn(repo: Repository, client: int, step: int, rng: random.Random, ledger: Ledger) -> None:
    """One learning step on ``repo``'s brain, committed, and recorded in the ledger once committed."""
    state = repo.checkout("HEAD")
    freq = state["language_module"]["word_frequency"]
    bumps = Counter(rng.choice(WORDS) for _ in range(rng.randint(1, 3)))
    for word, n in bumps.items():
        freq[word] = freq.get(word, 0) + n
    event = f"client{client}-step{step}"
    state["memory"]["episodes"].append(event)
    key = f"c{client}s{step}"
    state["associations"][key] = rng.randint(1, 9)
    repo.commit(state, f"client {client} learned step {step}")
    if ledger.lock is not None:
        with ledger.lock:
            ledger.increments.update(bumps)
            ledger.events.append(event)
            ledger.keys.add(key)
    else:
        ledger.increments.update(bumps)
        ledger.events.append(event)
        ledger.keys.add(key)


def sync_until_pushed(repo: Repository, rounds: int = 40) -> None:
    """``sync``, retrying while other clients keep winning the push race (bounded)."""
    for _ in range(rounds):
        try:
            ops.sync(repo, attempts=3)
            return
        except PushRejectedError:
            continue
    raise AssertionError(f"{repo.gitdir}: sync did not get through in {rounds} rounds")


def settle(clients: list[Repository], rounds: int = 3) -> None:
    """Every client syncs until nothing moves (a bounded number of extra rounds)."""
    for _ in range(rounds):
        for repo in clients:
            sync_until_pushed(repo)
    for repo in clients:  # the last pusher's merge reaches everybody
        sync_until_pushed(repo)


def check_converged(clients: list[Repository], url: str, ledger: Ledger) -> dict[str, Any]:
    """Assert one brain everywhere, equal to what the ledger says was learned; return that state."""
    remote_tip = ops.ls_remote(url).refs["refs/heads/main"]
    heads = {repo.resolve("main") for repo in clients}
    assert heads == {remote_tip}, f"clones disagree: {sorted(h[:7] for h in heads)} vs remote {remote_tip[:7]}"
    fingerprints = {repo.commit_info("main").fingerprint for repo in clients}
    assert len(fingerprints) == 1
    state = clients[0].checkout("main")
    assert state["language_module"]["word_frequency"] == ledger.expected_frequency(), "a learning was lost or counted twice"
    episodes = state["memory"]["episodes"]
    assert sorted(episodes) == sorted(["born", *ledger.events]), "an event was lost or duplicated"
    assert set(state["associations"]) == ledger.keys
    return state
