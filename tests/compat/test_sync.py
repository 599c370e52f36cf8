"""``sync``: two machines train the same brain on different texts and neither side's learning is lost.

Runs over git daemon (a real server, no credentials to set up) with the real
semantic merge engine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from brainvcs import Repository
from brainvcs.brains import ReferenceBrain, bundled_texts
from brainvcs.demo import learn, load_reference_brain
from brainvcs.remote import ops

from . import remote_checks as checks
from .gitservers import GitDaemonServer


#: The reference brain's scalar "primary focus" is a string both sides change; "theirs" settles it
#: (counters still add up and vocabularies still unite: the strategy only decides true conflicts).
STRATEGY = "theirs"


def _frequencies(repo: Repository, rev: str = "HEAD") -> dict[str, int]:
    return dict(repo.checkout(rev)["language_module"]["word_frequency"])


def _vocabulary(repo: Repository, rev: str = "HEAD") -> set[str]:
    return set(_frequencies(repo, rev))


def _words_of(text: str) -> set[str]:
    brain = ReferenceBrain()
    brain.learn(text)
    return set(brain.to_state()["language_module"]["word_frequency"])


@pytest.fixture
def base_remote(git_daemon_server: GitDaemonServer, tmp_path: Path) -> str:
    """A remote holding a brain that learned the first bundled text."""
    url = git_daemon_server.create_repo(checks.unique_name("sync"))
    with Repository.init(tmp_path / "base") as base:
        learn(base, [checks.texts()[0]])
        ops.remote_add(base, "origin", url)
        ops.push(base)
    return url


def test_sync_of_two_clones_keeps_both_learnings(base_remote: str, tmp_path: Path) -> None:
    texts = bundled_texts()
    names = sorted(texts)
    laptop = ops.clone(base_remote, tmp_path / "laptop")
    desktop = ops.clone(base_remote, tmp_path / "desktop")
    try:
        base = _frequencies(laptop)
        learn(laptop, [texts[names[1]]])
        learn(desktop, [texts[names[2]]])
        laptop_words = _vocabulary(laptop)
        desktop_words = _vocabulary(desktop)
        assert laptop_words - set(base) and desktop_words - set(base)
        expected = {word: base.get(word, 0) + (_frequencies(laptop).get(word, 0) - base.get(word, 0))
                    + (_frequencies(desktop).get(word, 0) - base.get(word, 0))
                    for word in laptop_words | desktop_words}

        first = ops.sync(laptop, strategy=STRATEGY)
        assert (first.status, first.attempts) == ("pushed", 1)
        second = ops.sync(desktop, strategy=STRATEGY)
        assert (second.status, second.attempts) == ("pushed", 1)
        assert [p.status for p in second.pulls] == ["merged"]
        third = ops.sync(laptop, strategy=STRATEGY)
        assert third.status == "up-to-date"
        assert [p.status for p in third.pulls] == ["fast-forward"]

        remote_head = ops.ls_remote(base_remote).refs["refs/heads/main"]
        assert laptop.head() == desktop.head() == remote_head
        merge = desktop.commit_info()
        assert len(merge.parents) == 2
        merged_words = _vocabulary(desktop)
        assert merged_words == laptop_words | desktop_words
        assert _frequencies(laptop) == expected
        assert _words_of(texts[names[1]]) <= merged_words
        assert _words_of(texts[names[2]]) <= merged_words
        # The merged brain is still a working reference brain, on every machine.
        brain = load_reference_brain(laptop)
        assert brain.vocabulary_size == len(merged_words)
        assert laptop.verify().ok and desktop.verify().ok
        with ops.clone(base_remote, tmp_path / "third") as third_machine:
            assert third_machine.manifest()["fingerprint"] == desktop.manifest()["fingerprint"]
    finally:
        laptop.close()
        desktop.close()


def test_sync_retries_when_the_remote_moves_between_fetch_and_push(
        base_remote: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    texts = checks.texts()
    ours = ops.clone(base_remote, tmp_path / "ours")
    racer = ops.clone(base_remote, tmp_path / "racer")
    real_fetch = ops.fetch
    fetches: list[str] = []

    def fetch_then_race(repo: Repository, remote: str = "origin", **kwargs: Any) -> ops.FetchResult:
        result = real_fetch(repo, remote, **kwargs)
        fetches.append(str(repo.gitdir))
        if len(fetches) == 1:
            # Another machine pushes its learning right after our fetch.
            learn(racer, [texts[3]])
            ops.push(racer)
        return result

    try:
        learn(ours, [texts[1]])
        monkeypatch.setattr(ops, "fetch", fetch_then_race)
        result = ops.sync(ours, strategy=STRATEGY)
        assert (result.status, result.attempts) == ("pushed", 2)
        assert [p.status for p in result.pulls] == ["up-to-date", "merged"]
        assert result.push is not None and result.push.ok
        assert ours.head() == ops.ls_remote(base_remote).refs["refs/heads/main"]
        assert ours.is_ancestor(racer.head(), ours.head())
        assert _words_of(texts[3]) | _words_of(texts[1]) <= _vocabulary(ours)
    finally:
        ours.close()
        racer.close()
