"""History queries: path values over commits, first appearance of a key, learning curves (brainvcs.query)."""

from __future__ import annotations

import copy
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from brainvcs import Repository
from brainvcs.brains import ReferenceBrain, bundled_texts, learning_step, synthetic_state
from brainvcs.brains.language import split_inputs
from brainvcs.errors import PathNotFoundError, RevisionNotFoundError, UsageError
from brainvcs.query import (STATS_COLUMNS, HistoryPoint, commits_in_range, first_learned, format_path, history,
                            parse_path, plot_stats, stats)
from brainvcs.storage.treereader import GitTreeReader

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def hand_made(step: int) -> dict[str, Any]:
    """Small states whose every value the tests know."""
    frequency = {"hello": 1 + step, "world": 1}
    if step >= 2:
        frequency["brain"] = step - 1
    if step == 3:
        del frequency["world"]
    return {
        "language_module": {
            "vocabulary": {word: {"n0": True} for word in frequency},
            "word_frequency": frequency,
            "neurons": {"n0": {"connections": {"n1": 0.5, "n2": 0.25 * step}}, "n1": {"connections": {}}},
        },
        "memory_module": {"working_memory": list(range(step)), "episodic_memory": ["e"] * (step // 2)},
        "response_generator": {"response_memory": [{"input": f"in {i}"} for i in range(step + 1)]},
        "brain_history": [{"step": i} for i in range(step)],
        "odd": {"a.b": {"c": step}},
    }


@pytest.fixture
def built(mem_repo: Repository) -> tuple[Repository, list[str]]:
    ids = [mem_repo.commit(hand_made(step), f"step {step}").commit.id for step in range(4)]
    return mem_repo, ids


def test_history_exact_values(built: tuple[Repository, list[str]]) -> None:
    repo, ids = built
    points = history(repo, "language_module.word_frequency.hello")
    assert [p.commit.id for p in points] == ids
    assert [(p.present, p.value, p.changed) for p in points] == [(True, 1, True), (True, 2, True), (True, 3, True),
                                                                (True, 4, True)]
    brain = history(repo, "language_module.word_frequency.brain")
    assert [(p.present, p.value, p.changed) for p in brain] == [(False, None, True), (False, None, False),
                                                               (True, 1, True), (True, 2, True)]
    world = history(repo, "language_module.word_frequency.world", changes_only=True)
    assert [(p.commit.id, p.present, p.value) for p in world] == [(ids[0], True, 1), (ids[3], False, None)]
    assert [p.value for p in history(repo, "memory_module.working_memory[-1]")] == [None, 0, 1, 2]
    assert [p.value for p in history(repo, 'odd["a.b"].c')] == [0, 1, 2, 3]
    assert [p.value for p in history(repo, "language_module.neurons.n0.connections")] == [
        {"n1": 0.5, "n2": 0.0}, {"n1": 0.5, "n2": 0.25}, {"n1": 0.5, "n2": 0.5}, {"n1": 0.5, "n2": 0.75}]
    with pytest.raises(PathNotFoundError, match="no_such_module.x does not exist in any of the 4 commit"):
        history(repo, "no_such_module.x")
    with pytest.raises(PathNotFoundError):  # below a scalar: no commit has it
        history(repo, "language_module.word_frequency.hello.deeper")


def test_history_ranges(built: tuple[Repository, list[str]]) -> None:
    repo, ids = built
    assert [p.value for p in history(repo, "language_module.word_frequency.hello", "HEAD~2..HEAD")] == [3, 4]
    assert [p.value for p in history(repo, "language_module.word_frequency.hello", f"{ids[0]}..")] == [2, 3, 4]
    assert [p.value for p in history(repo, "language_module.word_frequency.hello", "HEAD~1")] == [1, 2, 3]
    assert history(repo, "language_module.word_frequency.hello", "HEAD..HEAD~1") == []
    # A...B: the commits of either side and not of both (here: HEAD alone, HEAD~1 is on both)
    assert [p.commit.id for p in history(repo, "language_module", "HEAD...HEAD~1")] == [ids[-1]]
    with pytest.raises(RevisionNotFoundError):
        history(repo, "language_module", "nope")


def test_history_point_json(built: tuple[Repository, list[str]]) -> None:
    repo, ids = built
    point = history(repo, "language_module.word_frequency.brain")[2]
    assert isinstance(point, HistoryPoint)
    assert point.to_json() == {"commit": ids[2], "summary": "step 2", "author_time": point.commit.author_time,
                               "present": True, "changed": True, "value": 1}


def test_paths_parse_and_format() -> None:
    for text, segments in [("language_module.word_frequency.hello", ["language_module", "word_frequency", "hello"]),
                           ("brain_history[3].step", ["brain_history", 3, "step"]),
                           ('odd["a.b"].c', ["odd", "a.b", "c"]), ("m[-1]", ["m", -1])]:
        assert parse_path(text) == segments
        assert format_path(segments) == text
    for bad in ["", "a..b", "a.", "[0]", "a[x]", "a[1", 'a["x"y']:
        with pytest.raises(UsageError):
            parse_path(bad)


def test_first_learned_exact_commits(mem_repo: Repository) -> None:
    brain = ReferenceBrain(n_neurons=30)
    inputs = [line for text in bundled_texts().values() for line in split_inputs(text)][:24]
    learned_at: dict[str, str] = {}
    for index in range(0, len(inputs), 4):
        report = brain.learn("\n".join(inputs[index:index + 4]))
        result = mem_repo.commit(brain, f"inputs {index}..{index + 3}")
        for word in report.new_words:
            learned_at.setdefault(word, result.commit.id)
    assert len(learned_at) > 40 and len(set(learned_at.values())) == 6
    for word, commit_id in sorted(learned_at.items()):
        found = first_learned(mem_repo, "language_module.word_frequency", word)
        assert found is not None and found.id == commit_id, word
    assert first_learned(mem_repo, "language_module.word_frequency", "zyzzyva") is None
    ids = [c.id for c in reversed(mem_repo.log())]
    assert learned_at["garden"] == ids[0]
    # A range only finds keys that appeared inside it.
    assert first_learned(mem_repo, "language_module.word_frequency", "garden", "HEAD~3..HEAD") is None
    late = next(w for w, c in learned_at.items() if c == ids[-1])
    assert first_learned(mem_repo, "language_module.word_frequency", late, "HEAD~3..HEAD").id == ids[-1]
    assert first_learned(mem_repo, "language_module.word_frequency", late, "HEAD~1") is None


def test_commits_in_range_put_parents_first_across_merges(mem_repo: Repository) -> None:
    base = mem_repo.commit({"m": 0}, "base").commit.id
    main1 = mem_repo.commit({"m": 1}, "main 1").commit.id
    side = mem_repo.commit({"m": 2}, "side", branch="side", expected_head=None, parents=[base]).commit.id
    merge = mem_repo.commit({"m": 3}, "merge", parents=[main1, side]).commit.id
    assert [c.id for c in commits_in_range(mem_repo)] == [base, main1, side, merge]
    assert [c.id for c in commits_in_range(mem_repo, "side..HEAD")] == [main1, merge]
    assert [p.value for p in history(mem_repo, "m")] == [0, 1, 2, 3]


def test_stats_exact_values(built: tuple[Repository, list[str]]) -> None:
    repo, ids = built
    rows = stats(repo)
    assert [row.commit.id for row in rows] == ids
    table = [[getattr(row, c) for c in STATS_COLUMNS] for row in rows]
    assert table == [
        # words, seen, mean weight, links, working, episodic, responses, history
        [2, 2, 0.25, 2, 0, 0, 1, 0],
        [2, 3, 0.375, 2, 1, 0, 2, 1],
        [3, 5, 0.5, 2, 2, 1, 3, 2],
        [2, 6, 0.625, 2, 3, 1, 4, 3],
    ]
    assert rows[0].to_json()["vocabulary_size"] == 2 and rows[0].to_json()["commit"] == ids[0]
    assert [row.total_word_count for row in stats(repo, "HEAD~1..HEAD")] == [6]


def test_stats_of_a_brain_without_those_parts(mem_repo: Repository) -> None:
    mem_repo.commit({"something": {"else": 1}}, "not a brain")
    [row] = stats(mem_repo)
    assert [getattr(row, c) for c in STATS_COLUMNS] == [None] * len(STATS_COLUMNS)


def _synthetic_history(repo: Repository, steps: int = 5) -> list[dict[str, Any]]:
    state = synthetic_state(words=1500, neurons=120, connections=8, memories=200, seed=3)
    states = []
    for step in range(steps):
        if step:
            learning_step(state, step=step, touched_words=5, new_words=2, touched_neurons=3, seed=3)
        repo.commit(state, f"step {step}")
        states.append(copy.deepcopy(state))
    return states


def _lookup(state: Any, segments: list[Any]) -> tuple[bool, Any]:
    for segment in segments:
        try:
            state = state[segment]
        except (KeyError, IndexError, TypeError):
            return False, None
    return True, state


def test_sharded_layout_agrees_with_full_checkouts(mem_repo: Repository) -> None:
    states = _synthetic_history(mem_repo)
    layout = mem_repo.manifest()["modules"]["language_module"]["kind"]
    assert layout == "dict"
    words = list(states[-1]["language_module"]["word_frequency"])
    paths = [["language_module", "word_frequency", w] for w in (words[0], words[700], words[-1], "nope")]
    paths += [["language_module", "vocabulary", words[-2]], ["language_module", "neurons", "lang_neuron_7"],
              ["memory_module", "episodic_memory", 150, "content"], ["memory_module", "episodic_memory", -1],
              ["memory_module", "working_memory", 0], ["language_module", "context_associations", words[3], 0],
              ["cognitive_metrics", "step"], ["language_module", "word_frequency"]]
    for segments in paths:
        expected = [_lookup(s, segments) for s in states]
        if not any(present for present, _ in expected):
            with pytest.raises(PathNotFoundError):
                history(mem_repo, segments)
            continue
        points = history(mem_repo, segments)
        assert [(p.present, p.value) for p in points] == expected, segments
    for row, state in zip(stats(mem_repo), states):
        language = state["language_module"]
        weights = [w for n in language["neurons"].values() for w in n["connections"].values()]
        assert [getattr(row, c) for c in STATS_COLUMNS] == [
            len(language["vocabulary"]), sum(language["word_frequency"].values()),
            float(sum(map(Fraction, weights)) / len(weights)), len(weights),
            len(state["memory_module"]["working_memory"]), len(state["memory_module"]["episodic_memory"]),
            len(state["response_generator"]["response_memory"]), len(state["brain_history"])]


@pytest.mark.parametrize("delta_maps", [False, True])
def test_history_reads_only_the_shard_that_holds_the_key(mem_repo: Repository, monkeypatch: pytest.MonkeyPatch,
                                                         delta_maps: bool) -> None:
    mem_repo.delta_maps = delta_maps
    big = {f"key{i:05d}": "x" * 300 for i in range(5000)}  # > 1 MiB: a map sharded two levels deep
    for step in range(4):
        big["key00042"] = "y" * step
        big[f"other{step}"] = "z"
        mem_repo.commit({"big": big, "elsewhere": {"step": step}}, f"step {step}")
    reads: list[str] = []
    real = GitTreeReader.read_file

    def counting(self: GitTreeReader, path: str) -> bytes:
        reads.append(path)
        return real(self, path)

    monkeypatch.setattr(GitTreeReader, "read_file", counting)
    points = history(mem_repo, "big.key00042")
    assert [p.value for p in points] == ["", "y", "yy", "yyy"]
    blobs = [p for p in reads if not p.endswith(("_b3.json", "brain.json", "_map.json"))]
    # Version 1: big/xx/y.json, once per change. Version 2: the base's shard once; each later commit's delta
    # (read by id, not by path) holds the key.
    assert len(blobs) == (1 if delta_maps else 4) and len(set(blobs)) == 1 and blobs[0].count("/") == 2
    assert not any(p.startswith("elsewhere") for p in reads)
    reads.clear()
    assert [p.value for p in history(mem_repo, "big.key00100")] == ["x" * 300] * 4  # in a shard no step touches
    assert len([p for p in reads if not p.endswith(("_b3.json", "brain.json", "_map.json"))]) == 1


def test_unchanged_modules_cost_no_reads(mem_repo: Repository, monkeypatch: pytest.MonkeyPatch) -> None:
    for step in range(5):
        mem_repo.commit({"stable": {"value": 1}, "moving": step}, f"step {step}")
    reads: list[str] = []
    real = GitTreeReader.read_file
    monkeypatch.setattr(GitTreeReader, "read_file", lambda self, path: reads.append(path) or real(self, path))
    assert [p.value for p in history(mem_repo, "stable.value")] == [1] * 5
    assert reads.count("stable.json") == 1 and set(reads) == {"brain.json", "stable.json"}


def test_plot_writes_a_png(built: tuple[Repository, list[str]], tmp_path: Path) -> None:
    repo, _ = built
    target = tmp_path / "curves.png"
    plot_stats(stats(repo), str(target))
    data = target.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    import matplotlib.image

    pixels = matplotlib.image.imread(str(target))
    assert pixels.shape == (700, 1000, 4)
    with pytest.raises(UsageError):
        plot_stats([], str(tmp_path / "empty.png"))


def test_plot_without_matplotlib_says_how_to_install(built: tuple[Repository, list[str]], tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    repo, _ = built
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(UsageError) as info:
        plot_stats(stats(repo), str(tmp_path / "x.png"))
    assert info.value.hint == "pip install 'brainvcs[plot]'"
    assert not (tmp_path / "x.png").exists()


def test_plots_join_each_commit_to_its_parents(repo: Repository) -> None:
    from brainvcs.query.stats import parent_edges

    repo.commit({"language_module": {"word_frequency": {"a": 1}}}, "base")
    repo.create_branch("side")
    repo.commit({"language_module": {"word_frequency": {"a": 2}}}, "main work")
    repo.commit({"language_module": {"word_frequency": {"a": 1, "b": 1}}}, "side work", branch="side")
    repo.merge("side")
    rows = stats(repo)
    ids = {row.commit.summary: row.commit.id for row in rows}
    merge = next(summary for summary in ids if summary.startswith("Merge"))
    assert sorted(parent_edges(rows)) == sorted([
        (ids["base"], ids["main work"]), (ids["base"], ids["side work"]),
        (ids["main work"], ids[merge]), (ids["side work"], ids[merge])])
