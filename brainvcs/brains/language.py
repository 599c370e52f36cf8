"""The reference brain's vocabulary: its modules and window sizes, tokenizing, word patterns, bundled texts.

Shared by the reference brain (:mod:`.reference`) and the synthetic
generator (:mod:`.synthetic`), so both make states of one layout.
"""

from __future__ import annotations

import hashlib
import re
from importlib import resources
from typing import Any


#: A brain state: module name -> JSON-like value (dict, list, str, int, float, bool, None).
State = dict[str, Any]

#: The modules every state of this package has, in the seed's order.
MODULES: tuple[str, ...] = (
    "language_module",
    "memory_module",
    "response_generator",
    "brain_history",
    "cognitive_metrics",
)

# Caps of the rolling windows. They mirror the seed's deque(maxlen=...) fields;
# rolling at the head is the access pattern brainvcs's list chunking is built for.
CONTEXT_CAP = 50
SPIKE_HISTORY_CAP = 20
WORKING_MEMORY_CAP = 7
EPISODIC_MEMORY_CAP = 1000
RESPONSE_MEMORY_CAP = 100
CONVERSATION_CAP = 10
HISTORY_CAP = 50

#: How many neighbours on each side of a word count as its context.
CONTEXT_WINDOW = 3

# Six decimals keep floats exact-looking in JSON and make untouched values stable.
DIGITS = 6
_WORD_RE = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
_SENTENCE_END_RE = re.compile(r"(?<=[.!?])\s+")

def neuron_id(index: int) -> str:
    """Return the id of the neuron at ``index`` (``lang_neuron_<index>``, as in the seed)."""
    return f"lang_neuron_{index}"


def copy_json(value: Any) -> Any:
    """Return a deep copy of a JSON-like value (dicts and lists are new, scalars shared)."""
    # Much faster than copy.deepcopy, and scalars are immutable so sharing them is safe.
    if isinstance(value, dict):
        return {key: copy_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [copy_json(item) for item in value]
    return value


def tokenize(text: str) -> list[str]:
    """Split ``text`` into lowercase words (letters and digits, inner apostrophes kept)."""
    return _WORD_RE.findall(text.lower())


def split_inputs(text: str) -> list[str]:
    """Split ``text`` into inputs: one per sentence of each non-blank line."""
    inputs: list[str] = []
    for line in text.splitlines():
        for part in _SENTENCE_END_RE.split(line.strip()):
            if part:
                inputs.append(part)
    return inputs


def word_pattern(word: str, n_neurons: int) -> dict[str, bool]:
    """Return which of ``n_neurons`` neurons ``word`` reaches and which of them it activates.

    Derived from SHA-256 of the word alone, so a word has the same pattern in
    every process and every brain with the same number of neurons.
    """
    block = hashlib.sha256(word.encode("utf-8")).digest()
    size = min(n_neurons, 5 + block[0] % 11)  # 5..15 neurons, like the seed's patterns
    chosen: list[int] = []
    seen: set[int] = set()
    pos = 1
    while len(chosen) < size:
        if pos + 2 > len(block):
            block = hashlib.sha256(block).digest()
            pos = 0
        index = int.from_bytes(block[pos : pos + 2], "big") % n_neurons
        pos += 2
        if index not in seen:
            seen.add(index)
            chosen.append(index)
    chosen.sort()
    # Activity bits come from a separate digest so they do not bias which neurons are chosen.
    bits = hashlib.sha256(b"active:" + word.encode("utf-8")).digest()
    pattern = {neuron_id(index): bool(bits[k] & 1) for k, index in enumerate(chosen)}
    if not any(pattern.values()):
        pattern[neuron_id(chosen[0])] = True
    return pattern


def bundled_texts() -> dict[str, str]:
    """Return the bundled training texts, name (file stem) -> text, sorted by name."""
    folder = resources.files("brainvcs.brains").joinpath("texts")
    texts: dict[str, str] = {}
    for entry in sorted(folder.iterdir(), key=lambda item: item.name):
        if entry.name.endswith(".txt") and entry.is_file():
            texts[entry.name[: -len(".txt")]] = entry.read_text(encoding="utf-8")
    return texts
