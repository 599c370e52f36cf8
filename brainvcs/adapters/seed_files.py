"""States imported from the seed's files -> a live instance of the seed's brain class.

The seed restores its JSON files with ``restore_brain_from_state`` and its
SQLite sessions with ``load_brain_session``: both make a fresh brain and copy
each saved part onto it. These functions do the same with a brainvcs state
imported by ``brainvcs import seed-json`` / ``import seed-sqlite``, so
``checkout(rev, factory=EnhancedCognitiveBrainWithLanguage)`` gives what the
seed's own loader gave. Neurons the fresh brain lacks are skipped, as the
seed skips them; parts the seed does not restore (spike counts, metadata,
learning statistics) stay in history only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import InvalidStateError

__all__ = ["is_seed_file_state", "restore_seed_file_state"]


def _format(state: Mapping[str, Any]) -> str | None:
    language = state.get("language_module")
    if isinstance(language, Mapping) and "neuron_states" in language:
        return "json"
    if {"vocabulary", "neural_connections", "context_associations", "memory_states"} <= set(state):
        return "sqlite"
    return None


def is_seed_file_state(state: Mapping[str, Any]) -> bool:
    """Whether ``state`` is laid out as an import of the seed's JSON file or SQLite session."""
    return _format(state) is not None


def _neurons(brain: Any, saved: Mapping[str, Any]) -> None:
    neurons = brain.language_module.neurons
    for nid, data in saved.items():
        if nid in neurons:
            neuron = neurons[nid]
            neuron.connections = dict(data["connections"])
            neuron.threshold = data["threshold"]
            neuron.membrane_potential = data["membrane_potential"]
            neuron.learning_rate = data["learning_rate"]


def _refill(holder: Any, key: str, items: Any) -> None:
    """Put ``items`` in ``holder[key]``, keeping the fresh brain's container (a deque keeps its maxlen)."""
    current = holder.get(key)
    if hasattr(current, "extend") and hasattr(current, "clear"):
        current.clear()
        current.extend(items)
    else:
        holder[key] = list(items)


def _from_json(brain: Any, state: Mapping[str, Any]) -> None:
    lang = state["language_module"]
    brain.language_module.vocabulary = dict(lang["vocabulary"])
    brain.language_module.word_frequency.update(lang["word_frequency"])
    for word, contexts in lang["context_associations"].items():
        brain.language_module.context_associations[word].extend(contexts)
    _neurons(brain, lang["neuron_states"])
    memory = state["memory_module"]
    for part in ("working_memory", "episodic_memory"):
        _refill(brain.memory_module, part, memory[part])
    brain.memory_module["active"] = memory["module_active"]
    responses = state["response_generator"]
    brain.response_generator.response_memory.extend(responses["response_memory"])
    brain.response_generator.conversation_context = responses["conversation_context"]
    brain.brain_history.extend(state["brain_history"])
    metrics = state["cognitive_metrics"]
    brain.cognitive_load = metrics["cognitive_load"]
    brain.attention_focus = metrics["attention_focus"]


def _from_sqlite(brain: Any, state: Mapping[str, Any]) -> None:
    lang = brain.language_module
    for word, row in state["vocabulary"].items():
        lang.vocabulary[word] = row["neural_pattern"]
        lang.word_frequency[word] = row["frequency"]
    _neurons(brain, state["neural_connections"])
    for word, rows in state["context_associations"].items():
        for row in rows:
            lang.context_associations[word].extend(row["context_words"])
    for row in state["memory_states"].get("working", [])[:100]:
        brain.memory_module["working_memory"].append(row["content"])


def restore_seed_file_state(state: Mapping[str, Any], brain: Any) -> Any:
    """Copy an imported seed state onto ``brain`` (a freshly made seed brain) as the seed's loader does."""
    kind = _format(state)
    try:
        if kind == "json":
            _from_json(brain, state)
        elif kind == "sqlite":
            _from_sqlite(brain, state)
        else:
            raise InvalidStateError("", "the state is not an import of the seed's JSON or SQLite files")
    except (KeyError, TypeError, AttributeError) as exc:
        raise InvalidStateError("", f"cannot restore the imported seed state into a "
                                f"{type(brain).__qualname__} ({type(exc).__name__}: {exc})",
                                "check it out as a dict (no factory=) to see what it holds") from None
    return brain
