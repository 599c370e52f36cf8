"""The one commit pipeline (brainvcs.storage.transaction): all of a transaction lands, or none of it."""

from __future__ import annotations

from pathlib import Path

import pytest

from brainvcs import Repository
from brainvcs.errors import RefConflict, UsageError
from brainvcs.snapshot import layout
from brainvcs.storage.objects import oid, pack_count
from brainvcs.storage.transaction import check_author, make_commit
from tests.conftest import IDENTITY, sample_state


def test_every_ref_moves_or_none_does(repo: Repository) -> None:
    first = repo.commit(sample_state(), "one").commit.id
    snapshot = layout.build(sample_state(1))
    packs = pack_count(repo.objects)
    with pytest.raises(RefConflict):
        with repo.transaction("two branches") as tx:
            commit = tx.add_commit(tx.add_tree(snapshot.tree), [first], "two", IDENTITY, snapshot.fingerprint)
            tx.move("refs/heads/a", None, oid(commit.id), "test")
            tx.move("refs/heads/main", oid(commit.id), oid(commit.id), "test: expects the wrong tip")
    assert repo.refs.get("refs/heads/a") is None  # created, then rolled back
    assert repo.head() == first
    assert pack_count(repo.objects) == packs + 1  # the objects were durable before any ref moved


def test_an_error_inside_the_block_writes_nothing(repo: Repository) -> None:
    snapshot = layout.build(sample_state())
    with pytest.raises(KeyError):
        with repo.transaction("broken") as tx:
            tx.add_tree(snapshot.tree)
            raise KeyError("the caller failed")
    assert pack_count(repo.objects) == 0 and repo.head() is None
    with repo.transaction("no-op") as tx:
        tx.add_tree(snapshot.tree)
        tx.discard()
    assert pack_count(repo.objects) == 0


def test_one_author_rule_for_every_writer(tmp_path: Path) -> None:
    assert check_author("Ada <ada@example.org>") == "Ada <ada@example.org>"
    for bad in ("ada", "Ada <a\nb>", "<a@b>", "Ada <a@b"):
        with pytest.raises(UsageError, match="invalid author"):
            check_author(bad)
    with pytest.raises(UsageError, match="invalid trailer"):
        make_commit("4b825dc642cb6eb9a060e54bf8d69288fbee4904", [], "m", IDENTITY, "0" * 64,
                    trailers={"Bad Key": "x"})
    commit = make_commit("4b825dc642cb6eb9a060e54bf8d69288fbee4904", [], "m", IDENTITY, "f" * 64,
                         trailers={"Brain-Step": "3"}, timestamp=1, summary="+1 word")
    assert commit.message == b"m\n\n+1 word\n\nBrain-Fingerprint: " + b"f" * 64 + b"\nBrain-Step: 3\n"
