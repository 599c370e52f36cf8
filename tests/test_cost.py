"""Cost follows the change (DESIGN §3.3): the issue's 100,000-word acceptance figure."""

from __future__ import annotations

from pathlib import Path

from brainvcs import Repository
from brainvcs.brains import SIZES, learning_step, synthetic_state


def test_learning_step_on_a_large_brain_writes_under_two_percent(tmp_path: Path) -> None:
    state = synthetic_state(**SIZES["M"])
    assert len(state["language_module"]["word_frequency"]) == 100_000
    assert len(state["language_module"]["neurons"]) == 10_000
    with Repository.init(tmp_path / "brain") as repo:
        first = repo.commit(state, "first snapshot")
        # one step: 100 words' frequencies and context windows, one new word, a few
        # neurons' weights, one new memory in a rolling window of 5,000
        learning_step(state, step=1, touched_words=100, new_words=1, touched_neurons=5,
                      new_memories=1, max_memories=5000)
        assert len(state["memory_module"]["episodic_memory"]) == 5000
        step = repo.commit(state, "one learning step")
        noop = repo.commit(state, "nothing changed")
        ratio = step.written.bytes / first.written.bytes
        print(f"first snapshot {first.written.bytes} bytes in {first.written.objects} objects; "
              f"learning step {step.written.bytes} bytes in {step.written.objects} objects ({ratio:.2%}); "
              f"no-op {noop.written.objects} objects")
        assert step.changed and ratio <= 0.02
        assert not noop.changed and noop.written.objects == 0 and noop.written.bytes == 0
        assert repo.log(max_count=5)[0].id == step.commit.id  # type: ignore[union-attr]
