"""Convergence as a property: any interleaving of 2-4 clients learning, committing and syncing against one
remote (a local bare repository) ends, after the team's last syncs, with one brain everywhere that equals
what the learnings imply: counters exact, every event once, every new key present (tests/teamsync.py)."""

from __future__ import annotations

import random
import sys
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brainvcs.remote import ops

sys.path.insert(0, str(Path(__file__).parent))
from teamsync import Ledger, bare_remote, check_converged, learn, settle, sync_until_pushed  # noqa: E402

#: (client, action): learn and commit, sync, or both.
steps = st.lists(st.tuples(st.integers(0, 3), st.sampled_from(["learn", "sync", "learn+sync"])),
                 min_size=1, max_size=24)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(2, 4), steps, st.integers(0, 2**32 - 1))
def test_any_interleaving_converges_to_what_was_learned(n: int, plan: list[tuple[int, str]], seed: int) -> None:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="converge-") as tmp:
        root = Path(tmp)
        url = bare_remote(root)
        clients = [ops.clone(url, root / f"client{i}") for i in range(n)]
        ledger = Ledger()
        try:
            for number, (who, action) in enumerate(plan):
                repo = clients[who % n]
                if "learn" in action:
                    learn(repo, who % n, number, rng, ledger)
                if "sync" in action:
                    sync_until_pushed(repo)
            settle(clients)
            check_converged(clients, url, ledger)
        finally:
            for repo in clients:
                repo.close()
