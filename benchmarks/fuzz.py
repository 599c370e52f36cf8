"""Fuzz every reader of outside data; a finding is anything but a clean refusal or the right brain.

Usage::

    python benchmarks/fuzz.py --seed 1 --cases 2000 [--target NAME] [--time-limit SECONDS]
    python benchmarks/fuzz.py --target repository --seed 1 --case 417 -v   # replay one case

Targets (each mutates a known-good input, then reads it with brainvcs):

==============  ==============================================================
``statefile``   ``statefile.parse_state`` of a mutated state file (bit flips,
                truncation, inserted JSON tokens such as NaN, deep nesting,
                duplicate keys; or a value replaced by a hostile one)
``snapshot``    ``layout.load`` over a mutated in-memory snapshot tree: blob
                bytes, digest files, markers and tensor chunks flipped,
                truncated, swapped, removed, renamed; or a blob replaced by
                hostile JSON with every digest re-sealed to match
``manifest``    ``layout.load`` with a mutated ``brain.json``: bytes, or its
                structure (types, module entries, format), fingerprint
                optionally recomputed so only deeper checks can catch it
``repository``  a copy of a small demo repository with a pack, index, loose
                object, ref, ``HEAD``, ``packed-refs`` or ``config`` flipped,
                truncated, swapped or removed; then ``Repository.open``,
                ``checkout`` and ``log`` of every ref, and ``verify``, in
                process, and a sample through the CLI in a subprocess
``seed-json``   ``adapters.seed_json.read_seed_json_file`` of a mutated
                ``fixtures/seed`` JSON document
``seed-sqlite`` ``adapters.seed_sqlite.read_seed_sqlite`` of a mutated
                ``fixtures/seed/brain_data.db`` (file bytes, or cells, tables
                and columns changed through SQL)
==============  ==============================================================

The oracle: a call either returns a result EQUAL to the original (for a
repository: the state the resolved commit held before the damage), or a result
for an input that legitimately changed which round-trips through brainvcs
("accepted", e.g. a state file whose flipped digit is still valid JSON), or
raises a ``BrainVCSError`` whose message and hint are one line each
("refused"). Anything else — another exception type, a different state, a
multi-line message, a CLI exit code 70 or a traceback, more than
``--case-timeout`` seconds — is a finding. Each case draws from its own RNG
(seeded by seed, target and case number), so ``--case N`` replays it exactly.
Exit status: 0 without findings, 1 with findings, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from brainvcs.snapshot import canonical, layout, statefile
from brainvcs.errors import BrainVCSError, CorruptObjectError
from brainvcs.repo import Repository

ROOT = Path(__file__).resolve().parent.parent
SEED_DIR = ROOT / "fixtures" / "seed"

#: JSON fragments that stress a parser when spliced into a document.
JSON_TOKENS: list[bytes] = [
    b"NaN", b"Infinity", b"-Infinity", b"1e999", b"-1e999", b"18446744073709551616", b"-9223372036854775809",
    b'"\\ud800"', b'"\\u0000"', b"\x00", b"\xff\xfe", b'{"$tensor": {"dtype": "<f8", "shape": [3], "values": [1]}}',
    b'{"$tensor": 1}', b'{"a": 1, "a": 2}', b"[" * 2000, b"]" * 50, b"{" * 300, b'"' + b"x" * 5000 + b'"',
    b"null", b"true", b"[]", b"{}", b'""', b",", b":", b"0", b"-0.0", b"1e-320", b"123456789012345678901234567890",
]


@dataclass
class Outcome:
    """How one case ended: ``same``, ``accepted``, ``refused`` or ``finding``."""

    kind: str
    mutation: str
    detail: str = ""


@dataclass
class TargetReport:
    """Counts for one target."""

    name: str
    cases: int = 0
    seconds: float = 0.0
    outcomes: Counter[str] = field(default_factory=Counter)
    refusals: Counter[str] = field(default_factory=Counter)
    findings: list[tuple[int, Outcome]] = field(default_factory=list)


class CaseTimeout(BaseException):
    """Raised by the alarm when one case runs too long (BaseException: library code must not swallow it)."""


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`CaseTimeout` in the body after ``seconds``."""

    def on_alarm(signum: int, frame: Any) -> None:
        raise CaseTimeout()

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# --------------------------------------------------------------------------
# Mutations


def mutate_bytes(data: bytes, rng: random.Random, *, tokens: bool = True) -> tuple[bytes, str]:
    """One random byte-level damage; returns the new bytes and a description."""
    ops = ["flip", "flip", "flip", "truncate", "zero", "delete", "duplicate", "insert", "extend"]
    if tokens:
        ops += ["token", "token"]
    op = rng.choice(ops)
    n = len(data)
    if n == 0:
        return rng.randbytes(rng.randint(1, 16)), "random bytes into an empty file"
    if op == "flip":
        out = bytearray(data)
        count = rng.choice([1, 1, 1, 2, 3, 8])
        for _ in range(count):
            i = rng.randrange(n)
            out[i] ^= 1 << rng.randrange(8)
        return bytes(out), f"flip {count} bit(s)"
    if op == "truncate":
        cut = rng.randrange(n)
        return data[:cut], f"truncate to {cut} of {n} bytes"
    i = rng.randrange(n)
    j = min(n, i + rng.randint(1, 64))
    if op == "zero":
        return data[:i] + bytes(j - i) + data[j:], f"zero bytes {i}..{j}"
    if op == "delete":
        return data[:i] + data[j:], f"delete bytes {i}..{j}"
    if op == "duplicate":
        k = rng.randrange(n)
        return data[:k] + data[i:j] + data[k:], f"copy bytes {i}..{j} to {k}"
    if op == "insert":
        junk = rng.randbytes(rng.randint(1, 16))
        return data[:i] + junk + data[i:], f"insert {len(junk)} random bytes at {i}"
    if op == "extend":
        return data + rng.randbytes(rng.randint(1, 64)), "append random bytes"
    token = rng.choice(JSON_TOKENS)
    if rng.random() < 0.5:
        return data[:i] + token + data[i:], f"insert {token[:24]!r} at {i}"
    return data[:i] + token + data[j:], f"replace bytes {i}..{j} by {token[:24]!r}"


def hostile_value(rng: random.Random) -> Any:
    """A value no state should accept as-is, or a legal one of an unexpected type."""
    choice = rng.randrange(14)
    if choice == 0:
        return float("nan")
    if choice == 1:
        return float(rng.choice(["inf", "-inf"]))
    if choice == 2:
        return 2**64 + rng.randrange(10)
    if choice == 3:
        deep: Any = 0
        levels = rng.choice([127, 129, 300, 1100])
        if levels > 300:  # json.dumps would recurse too deep: dump_json writes it out
            return f"{DEEP_MARK}{levels}"
        for _ in range(levels):
            deep = [deep]
        return deep
    if choice == 4:
        return {"$tensor": rng.choice([1, {}, {"dtype": "<f8", "shape": [10**9, 10**9], "values": []},
                                       {"dtype": "O", "shape": [1], "values": [1]},
                                       {"dtype": "<f8", "shape": [2], "values": [1, 2, 3]}])}
    if choice == 5:
        return 10**12
    if choice == 6:
        return -1
    if choice == 7:
        return "x" * rng.randint(0, 3000)
    if choice == 8:
        return None
    if choice == 9:
        return [rng.random() for _ in range(rng.randint(0, 5))]
    if choice == 10:
        return {str(i): i for i in range(rng.randint(0, 5))}
    if choice == 11:
        return "\ud800"
    if choice == 12:
        return rng.choice([True, False, 0.5, "0", ""])
    return {"": {"..": {"/": "x"}}}


def json_paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path to a value inside a JSON document (dict keys and list indexes)."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from json_paths(item, prefix + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from json_paths(item, prefix + (index,))


def replace_at(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    """``value`` with the item at ``path`` replaced (in place for containers; returns the root)."""
    if not path:
        return new
    node = value
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = new
    return value


def mutate_json_structure(value: Any, rng: random.Random) -> tuple[Any, str]:
    """Replace a random item of a decoded JSON document, or drop or add a key."""
    paths = list(json_paths(value))
    path = rng.choice(paths)
    op = rng.randrange(4)
    node = value
    for part in path[:-1] if path else []:
        node = node[part]
    if op == 0 and path and isinstance(node, dict):
        del node[path[-1]]
        return value, f"drop {_show(path)}"
    target = _get(value, path)
    if op == 1 and isinstance(target, dict):
        key = rng.choice(["$tensor", "", "..", "a/b", "x" * 300, "\x00", "_b3.json"])
        target[key] = hostile_value(rng)
        return value, f"add key {key[:12]!r} under {_show(path)}"
    new = hostile_value(rng)
    return replace_at(value, path, new), f"set {_show(path)} to a {type(new).__name__}"


def _get(value: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        value = value[part]
    return value


def _show(path: tuple[Any, ...]) -> str:
    return "/".join(str(p)[:20] for p in path) or "<root>"


DEEP_MARK = "\x00deep:"


def dump_json(value: Any) -> bytes:
    """Serialise a (possibly hostile) value the way a careless writer would: NaN allowed, lone surrogates escaped.

    A string ``DEEP_MARK + N`` becomes N nested arrays (too deep for ``json.dumps`` to write itself).
    """
    text = json.dumps(value, allow_nan=True)
    marker = json.dumps(DEEP_MARK)[:-1]
    while marker in text:
        start = text.index(marker)
        end = text.index('"', start + len(marker))
        levels = int(text[start + len(marker):end])
        text = text[:start] + "[" * levels + "0" + "]" * levels + text[end + 1:]
    return text.encode("utf-8")


# --------------------------------------------------------------------------
# Oracle helpers


def one_line(exc: BrainVCSError) -> bool:
    """Whether an error's message and hint are one line each."""
    return "\n" not in exc.message and "\n" not in (exc.hint or "")


def refused(exc: BrainVCSError, mutation: str) -> Outcome:
    """The outcome of a BrainVCSError: a clean refusal, or a finding if it spans lines."""
    if not one_line(exc):
        return Outcome("finding", mutation, f"multi-line message from {type(exc).__name__}: {exc.message!r}")
    return Outcome("refused", mutation, type(exc).__name__)


def crashed(exc: BaseException, mutation: str) -> Outcome:
    """The outcome of any other exception: always a finding, with where it was raised."""
    if isinstance(exc, CaseTimeout):
        return Outcome("finding", mutation, "timeout")
    frames = traceback.extract_tb(exc.__traceback__)
    where = next((f"{Path(f.filename).name}:{f.lineno}" for f in reversed(frames) if "brainvcs" in f.filename),
                 f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "?")
    return Outcome("finding", mutation, f"{type(exc).__name__} at {where}: {str(exc)[:200]}")


def state_bytes(state: Any) -> bytes:
    """Canonical bytes of a state (tensors as value lists): equal bytes means equal states."""
    return statefile.encode_state(state)


def round_trips(value: dict[str, Any]) -> str | None:
    """Why an accepted state does not survive build + load unchanged (None: it does)."""
    snapshot = layout.build(value)
    back = layout.load(layout.MemoryTreeReader(snapshot.tree))
    if state_bytes(back) != state_bytes(value):
        return "the accepted state does not round-trip through the snapshot layout"
    return None


def worst(outcomes: list[Outcome], mutation: str) -> Outcome:
    """Combine the outcomes of several calls on one damaged input."""
    for kind in ("finding", "refused", "accepted"):
        hits = [o for o in outcomes if o.kind == kind]
        if hits:
            return Outcome(kind, mutation, "; ".join(sorted({o.detail for o in hits}))[:400])
    return Outcome("same", mutation)


# --------------------------------------------------------------------------
# Targets


class Target:
    """A reader of outside data and the good input it damages."""

    name = ""

    def setup(self, workdir: Path) -> None:
        """Prepare the known-good inputs (once per run)."""

    def case(self, rng: random.Random, workdir: Path) -> Outcome:
        """Damage the input one way and read it back."""
        raise NotImplementedError


def reference_state(texts: int = 1) -> dict[str, Any]:
    """The reference brain after learning the first ``texts`` bundled texts."""
    from brainvcs.brains import ReferenceBrain, bundled_texts

    brain = ReferenceBrain()
    bundled = bundled_texts()
    for name in sorted(bundled)[:texts]:
        brain.learn(bundled[name])
    return brain.to_state()


def layout_state() -> dict[str, Any]:
    """A state with every node kind: value, dict directory, map, list, tensors, odd names."""
    return {
        "language_module": {
            "word_frequency": {f"w{i}": i for i in range(1200)},
            "vocabulary": {f"k{i}": "x" * 300 for i in range(20)},
            "active": True,
        },
        "memory_module": {"episodic_memory": [{"content": f"memory {i}", "step": i, "w": i / 7} for i in range(700)]},
        "weights": {"w": np.arange(600, dtype=np.float32).reshape(20, 30), "b": np.zeros(0), "s": np.int64(3)},
        "odd": {"": [1, None], "ünï/..": {"$x": -0.0}, "x" * 250: list(range(300))},
        "cognitive_metrics": {"cognitive_load": 0.25, "step": 3},
    }


class StateFileTarget(Target):
    """``statefile.parse_state`` of a damaged state file."""

    name = "statefile"

    def setup(self, workdir: Path) -> None:
        small = {"m": {"a": [1, 2.5, None, "é"], "t": np.arange(6, dtype=np.int16).reshape(2, 3)}, "n": 1}
        self.documents = [statefile.encode_state(reference_state()), statefile.encode_state(small)]
        self.originals = [statefile.parse_state(doc, "original") for doc in self.documents]

    def case(self, rng: random.Random, workdir: Path) -> Outcome:
        index = rng.randrange(len(self.documents))
        if rng.random() < 0.7:
            data, mutation = mutate_bytes(self.documents[index], rng)
        else:
            value, mutation = mutate_json_structure(json.loads(self.documents[index]), rng)
            data = dump_json(value)
        try:
            value = statefile.parse_state(data, "fuzz.json")
            if state_bytes(value) == state_bytes(self.originals[index]):
                return Outcome("same", mutation)
            problem = round_trips(value)
        except BrainVCSError as exc:
            return refused(exc, mutation)
        except Exception as exc:
            return crashed(exc, mutation)
        if problem:
            return Outcome("finding", mutation, problem)
        return Outcome("accepted", mutation, "a different, valid state")


def copy_tree(tree: layout.SnapshotTree) -> layout.SnapshotTree:
    """A deep copy of a snapshot tree (blobs are immutable bytes and shared)."""
    return layout.SnapshotTree({name: copy_tree(entry) if isinstance(entry, layout.SnapshotTree) else entry
                                for name, entry in tree.entries.items()})


def tree_entries(tree: layout.SnapshotTree, prefix: str = "") -> Iterator[tuple[str, layout.SnapshotTree, str]]:
    """``(path, parent directory, name)`` of every entry, directories included."""
    for name, entry in sorted(tree.entries.items()):
        yield f"{prefix}{name}", tree, name
        if isinstance(entry, layout.SnapshotTree):
            yield from tree_entries(entry, f"{prefix}{name}/")


def reseal(tree: layout.SnapshotTree) -> None:
    """Recompute every ``_b3.json`` and the manifest's digests and fingerprint after an edit.

    The result is a self-consistent snapshot: only semantic checks can refuse it.
    """

    def seal(directory: layout.SnapshotTree) -> str:
        digests = {}
        for name, entry in directory.entries.items():
            if name == layout.DIGESTS:
                continue
            digests[name] = seal(entry) if isinstance(entry, layout.SnapshotTree) else canonical.blake3_hex(entry)
        sealed = canonical.encode(digests)
        directory.entries[layout.DIGESTS] = sealed
        return canonical.blake3_hex(sealed)

    try:
        manifest = json.loads(tree.entries[layout.MANIFEST])  # type: ignore[arg-type]
    except (KeyError, ValueError, TypeError):
        return
    if not isinstance(manifest, dict):
        return
    digests = {}
    for name, entry in tree.entries.items():
        if name in (layout.MANIFEST, layout.TENSOR_DIR):
            continue
        digests[name] = seal(entry) if isinstance(entry, layout.SnapshotTree) else canonical.blake3_hex(entry)
    manifest["digests"] = digests
    modules = manifest.get("modules")
    if isinstance(modules, dict):
        for info in modules.values():
            if isinstance(info, dict) and isinstance(info.get("entry"), str) and info["entry"] in digests:
                info["digest"] = digests[info["entry"]]
    manifest["fingerprint"] = canonical.blake3_hex(canonical.encode(digests))
    try:
        tree.entries[layout.MANIFEST] = canonical.encode(manifest)
    except BrainVCSError:  # a hostile value (a lone surrogate...) went into the manifest itself
        tree.entries[layout.MANIFEST] = dump_json(manifest)


def maybe_reseal(tree: layout.SnapshotTree, rng: random.Random) -> bool:
    """Half the time, make the damaged tree's digests consistent again; returns whether it did."""
    if rng.random() < 0.5:
        reseal(tree)
        return True
    return False


class SnapshotTarget(Target):
    """``layout.load`` over a damaged in-memory snapshot tree."""

    name = "snapshot"

    def setup(self, workdir: Path) -> None:
        self.state = layout_state()
        self.snapshot = layout.build(self.state)
        self.expected = state_bytes(layout.load(layout.MemoryTreeReader(self.snapshot.tree)))
        self.per_module = {m: state_bytes({m: v}) for m, v in
                           layout.load(layout.MemoryTreeReader(self.snapshot.tree)).items()}

    def damage(self, tree: layout.SnapshotTree, rng: random.Random) -> tuple[str, bool]:
        """Damage ``tree`` in place; returns the description and whether digests were re-sealed."""
        entries = list(tree_entries(tree))
        blobs = [e for e in entries if not isinstance(e[1].entries[e[2]], layout.SnapshotTree)]
        op = rng.choice(["bytes", "bytes", "bytes", "swap", "remove", "add", "rename", "kind", "hostile", "hostile"])
        path, parent, name = rng.choice(blobs if op in ("bytes", "swap", "hostile") else entries)
        if op == "bytes":
            data, how = mutate_bytes(parent.entries[name], rng)  # type: ignore[arg-type]
            parent.entries[name] = data
            return f"{path}: {how}", False
        if op == "swap":
            other_path, other_parent, other_name = rng.choice(blobs)
            parent.entries[name], other_parent.entries[other_name] = other_parent.entries[other_name], parent.entries[name]
            return f"swap {path} and {other_path}", False
        if op == "remove":
            del parent.entries[name]
            return f"remove {path}", maybe_reseal(tree, rng)
        if op == "add":
            new = rng.choice(["..", ".", "x.json", "_b3.json", "%zz", "a.json", "_tensors", "00.json", "000001.json"])
            extra: list[layout.Entry] = [b"{}\n", b"[]\n", b"1\n", rng.randbytes(8), layout.SnapshotTree()]
            parent.entries[new] = rng.choice(extra)
            return f"add {new} beside {path}", maybe_reseal(tree, rng)
        if op == "rename":
            new = rng.choice(["..", "x.json", name + ".json", name.upper(), "%41", "a%2Fb", name[:-5] or "q"])
            if new in parent.entries:
                return "no-op rename", False
            parent.entries[new] = parent.entries.pop(name)
            return f"rename {path} to {new}", maybe_reseal(tree, rng)
        if op == "kind":
            entry = parent.entries[name]
            replacement: layout.Entry = (layout.SnapshotTree({"_.json": b"{}\n"}) if isinstance(entry, bytes)
                                         else canonical.encode({"replaced": "directory"}))
            parent.entries[name] = replacement
            return f"turn {path} into the other kind", maybe_reseal(tree, rng)
        # hostile: valid JSON with the wrong shape, digests made consistent again
        original = parent.entries[name]
        try:
            value = json.loads(original) if isinstance(original, bytes) else None
        except ValueError:
            value = None
        if value is None or rng.random() < 0.3:
            blob = rng.choice([b'{"a": 1, "a": 2}\n', b"[" * 1200 + b"]" * 1200 + b"\n", b'{"bits": 1, "count": 1000000000000}\n',
                               b'{"chunks": 99999999999, "count": -1}\n', b"[]\n", b"{}\n", b"null\n", b'"x"\n',
                               b'{\n  "count": 1,\n  "bits": 64\n}\n'])
            how = f"replace {path} by {blob[:24]!r}"
        else:
            value, how = mutate_json_structure(value, rng)
            try:
                blob = canonical.encode(value)
            except BrainVCSError:
                blob = dump_json(value)
            how = f"{path}: {how}"
        parent.entries[name] = blob
        reseal(tree)
        return how + " (re-sealed)", True

    def case(self, rng: random.Random, workdir: Path) -> Outcome:
        tree = copy_tree(self.snapshot.tree)
        mutation, resealed = self.damage(tree, rng)
        modules = None if rng.random() < 0.7 else [rng.choice(sorted(self.state))]
        return load_outcome(tree, modules, mutation, resealed, self.expected, self.per_module)


def load_outcome(tree: layout.SnapshotTree, modules: list[str] | None, mutation: str, resealed: bool,
                 expected: bytes, per_module: dict[str, bytes]) -> Outcome:
    """Run ``layout.load`` on a damaged tree and judge the result."""
    try:
        value = layout.load(layout.MemoryTreeReader(tree), modules=modules)
        got = state_bytes(value)
    except BrainVCSError as exc:
        return refused(exc, mutation)
    except Exception as exc:
        return crashed(exc, mutation)
    want = expected if modules is None else per_module[modules[0]]
    if got == want:
        return Outcome("same", mutation)
    if not resealed:
        return Outcome("finding", mutation, "a damaged snapshot loaded as a DIFFERENT state")
    try:
        problem = round_trips(value)
    except BrainVCSError as exc:
        return Outcome("finding", mutation, f"loaded a state brainvcs cannot store again ({exc.message})")
    except Exception as exc:
        return crashed(exc, mutation)
    if problem:
        return Outcome("finding", mutation, problem)
    return Outcome("accepted", mutation, "a self-consistent snapshot of another state")


class ManifestTarget(SnapshotTarget):
    """``layout.load`` with a damaged or hostile ``brain.json``."""

    name = "manifest"

    def case(self, rng: random.Random, workdir: Path) -> Outcome:
        tree = copy_tree(self.snapshot.tree)
        original = tree.entries[layout.MANIFEST]
        assert isinstance(original, bytes)
        modules = None if rng.random() < 0.7 else [rng.choice(sorted(self.state))]
        if rng.random() < 0.4:
            data, mutation = mutate_bytes(original, rng)
            tree.entries[layout.MANIFEST] = data
            return load_outcome(tree, modules, mutation, False, self.expected, self.per_module)
        manifest = json.loads(original)
        op = rng.randrange(4)
        if op == 0:
            names = sorted(manifest["modules"])
            a, b = rng.sample(names, 2)
            info = manifest["modules"]
            if rng.random() < 0.5:
                info[a], info[b] = info[b], info[a]
                mutation = f"swap the entries of modules {a} and {b}"
            else:
                info[a] = dict(info[b])
                mutation = f"point module {a} at the entry of {b}"
        elif op == 1:
            manifest, mutation = mutate_json_structure(manifest, rng)
        elif op == 2:
            manifest["format"] = rng.choice(["brainvcs-snapshot/2", None, 1, "", "brainvcs-snapshot/1 "])
            mutation = f"format {manifest['format']!r}"
        else:
            manifest["modules"][rng.choice(["extra", "", "../x", "language_module"])] = rng.choice(
                [{"entry": "nothing.json", "digest": "0" * 64, "kind": "value"}, {"entry": 3}, [], None,
                 {"entry": "brain.json", "digest": manifest["digests"].get("brain.json"), "kind": "value"}])
            mutation = "add or replace a module entry"
        if rng.random() < 0.6 and isinstance(manifest, dict) and isinstance(manifest.get("digests"), dict):
            try:
                manifest["fingerprint"] = canonical.blake3_hex(canonical.encode(manifest["digests"]))
                mutation += " (fingerprint recomputed)"
            except BrainVCSError:
                pass
        try:
            tree.entries[layout.MANIFEST] = canonical.encode(manifest)
        except BrainVCSError:
            tree.entries[layout.MANIFEST] = dump_json(manifest)
        # A manifest edit is not corruption the digests can catch; the loaded state must still be
        # exactly the snapshot's (fingerprinted) content, so "resealed" stays False.
        return load_outcome(tree, modules, mutation, False, self.expected, self.per_module)


class RepositoryTarget(Target):
    """A damaged copy of a small demo repository, read in process and (sampled) through the CLI."""

    name = "repository"
    cli_every = 25

    def setup(self, workdir: Path) -> None:
        self.origin = workdir / "origin"
        build_demo_repository(self.origin)
        with Repository.open(self.origin) as repo:
            self.revs = ["HEAD", "main", "v1", "v1-light", "explore", "HEAD~1", "main~2"]
            self.states: dict[str, bytes] = {}
            self.infos: dict[str, dict[str, Any]] = {}
            for info in repo.log("main") + repo.log("explore"):
                self.states[info.id] = state_bytes(repo.checkout(info.id))
                self.infos[info.id] = info.to_json()
            self.features = feature_calls([info.id for info in repo.log("main")])
            self.expected_features = {name: call(repo) for name, call in self.features.items()}
            assert repo.verify().ok
        self.files = sorted(str(p.relative_to(self.origin)) for p in self.origin.rglob("*")
                            if p.is_file() and not p.name.endswith(".lock") and "hooks" not in p.parts
                            and p.name not in ("description", "brainvcs.storage.lock"))
        self.counter = 0

    def pick_file(self, rng: random.Random) -> str:
        groups = {
            "pack": [f for f in self.files if f.endswith(".pack")],
            "idx": [f for f in self.files if f.endswith(".idx")],
            "loose": [f for f in self.files if "/objects/" in "/" + f and len(Path(f).name) == 38],
            "ref": [f for f in self.files if f.startswith("refs/") or f in ("HEAD", "packed-refs")],
            "other": [f for f in self.files if f in ("config", "info/refs", "objects/info/packs")],
        }
        group = rng.choice([g for g in ("pack", "pack", "idx", "idx", "loose", "ref", "ref", "other") if groups[g]])
        return rng.choice(groups[group])

    def damage(self, copy: Path, rng: random.Random) -> str:
        name = self.pick_file(rng)
        path = copy / name
        op = rng.random()
        if op < 0.1:
            path.unlink()
            return f"remove {name}"
        if op < 0.2:
            other = self.pick_file(rng)
            a, b = path.read_bytes(), (copy / other).read_bytes()
            path.write_bytes(b)
            (copy / other).write_bytes(a)
            return f"swap {name} and {other}"
        data, how = mutate_bytes(path.read_bytes(), rng, tokens=name.startswith("refs") or name in ("HEAD", "packed-refs"))
        path.chmod(0o644)
        path.write_bytes(data)
        return f"{name}: {how}"

    def case(self, rng: random.Random, workdir: Path) -> Outcome:
        copy = workdir / "case"
        if copy.exists():
            shutil.rmtree(copy)
        shutil.copytree(self.origin, copy)
        mutation = self.damage(copy, rng)
        outcomes: list[Outcome] = []
        head_state: bytes | None = None
        head_error = True
        try:
            repo = Repository.open(copy, search_parents=False)
        except BrainVCSError as exc:
            outcomes.append(refused(exc, mutation))
            repo = None
        except Exception as exc:
            outcomes.append(crashed(exc, mutation))
            repo = None
        corrupt_seen = False
        if repo is not None:
            with repo:
                for rev in self.revs:
                    outcome, got = self.read_rev(repo, rev, mutation)
                    outcomes.append(outcome)
                    corrupt_seen |= outcome.detail in ("CorruptObjectError", "IntegrityError")
                    if rev == "HEAD":
                        head_state, head_error = got, outcome.kind == "refused"
                for name, call in self.features.items():
                    outcomes.append(self.feature(repo, name, call, mutation))
            outcomes.append(self.verify(copy, mutation, corrupt_seen))
        if self.counter % self.cli_every == 0:
            outcomes.extend(self.cli(copy, mutation, head_state, head_error))
        self.counter += 1
        return worst(outcomes, mutation)

    def verify(self, copy: Path, mutation: str, corrupt_seen: bool) -> Outcome:
        """``verify`` in a fresh instance (caches of the first one may hide damage) must see what checkout saw."""
        try:
            with Repository.open(copy, search_parents=False) as repo:
                report = repo.verify()
        except BrainVCSError as exc:
            return refused(exc, mutation)
        except Exception as exc:
            return crashed(exc, mutation)
        if corrupt_seen and report.ok:
            return Outcome("finding", mutation, "checkout met corruption that verify missed")
        return Outcome("same" if report.ok else "refused", mutation, "" if report.ok else "verify reported problems")

    def feature(self, repo: Repository, name: str, call: Callable[[Repository], Any], mutation: str) -> Outcome:
        """A feature over commits named by id (diff, history query): the original's result, or a clean refusal."""
        try:
            got = call(repo)
        except BrainVCSError as exc:
            return refused(exc, mutation)
        except Exception as exc:
            return crashed(exc, mutation)
        if got != self.expected_features[name]:
            return Outcome("finding", mutation, f"{name} returned a DIFFERENT result")
        return Outcome("same", mutation)

    def read_rev(self, repo: Repository, rev: str, mutation: str) -> tuple[Outcome, bytes | None]:
        """Resolve, check out and log ``rev``; the results must match what that commit held."""
        try:
            commit = repo.resolve(rev)
            if commit not in self.states:
                return Outcome("finding", mutation, f"{rev} resolved to {commit[:12]}, which was never committed"), None
            got = state_bytes(repo.checkout(commit))
            if got != self.states[commit]:
                return Outcome("finding", mutation, f"checkout of {rev} returned a DIFFERENT state"), None
            for info in repo.log(rev):
                if self.infos.get(info.id) != info.to_json():
                    return Outcome("finding", mutation, f"log of {rev} returned a commit that differs"), None
            return Outcome("same", mutation), got
        except BrainVCSError as exc:
            return refused(exc, mutation), None
        except Exception as exc:
            return crashed(exc, mutation), None

    def cli(self, copy: Path, mutation: str, head_state: bytes | None, head_error: bool) -> list[Outcome]:
        """Run checkout, log, verify, status, diff and gc through the CLI; no traceback, no exit 70, one-line errors."""
        outcomes = []
        # gc last: it rewrites the copy (refusing, or dropping only what nothing reaches).
        for args in (["checkout"], ["log", "--oneline"], ["verify"], ["status"], ["diff", "main~1", "main"], ["gc"]):
            proc = subprocess.run([sys.executable, "-m", "brainvcs", *args, "--repo", str(copy)],
                                  capture_output=True, timeout=120, env=cli_env())
            outcomes.append(judge_cli(proc, args[0], mutation))
            if args[0] == "checkout" and proc.returncode == 0 and head_state is not None and proc.stdout != head_state:
                outcomes.append(Outcome("finding", mutation, "the CLI checkout printed a different state"))
            if args[0] == "checkout" and (proc.returncode == 0) == head_error and head_state is not None:
                outcomes.append(Outcome("finding", mutation, "the CLI and the API disagree on HEAD"))
        return outcomes


def feature_calls(main: list[str]) -> dict[str, Callable[[Repository], Any]]:
    """Features that read snapshots on their own (not through checkout), over fixed commit ids.

    Each is included when its module exists in this checkout.
    """
    calls: dict[str, Callable[[Repository], Any]] = {}
    try:
        from brainvcs.diff import api as diffapi

        calls["diff"] = lambda repo: [repr(r) for r in diffapi.diff(repo, main[-1], main[0]).records()]
    except ImportError:
        pass
    try:
        from brainvcs import query

        calls["history"] = lambda repo: [p.to_json() for p in query.history(
            repo, "language_module.word_frequency", main[0])]
    except ImportError:
        pass
    return calls


def cli_env() -> dict[str, str]:
    """The environment for CLI subprocesses: this checkout first on the path, no debug tracebacks."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_") and k != "BRAINVCS_DEBUG"}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def judge_cli(proc: subprocess.CompletedProcess[bytes], verb: str, mutation: str) -> Outcome:
    """A CLI run is fine when it succeeds, or fails with a documented code and an ``error:``/``hint:`` pair."""
    err = proc.stderr.decode("utf-8", "replace")
    if "Traceback" in err or proc.returncode == 70 or proc.returncode < 0:
        return Outcome("finding", mutation, f"cli {verb}: exit {proc.returncode}: {err.strip()[-300:]}")
    if proc.returncode == 0:
        return Outcome("same", mutation)
    lines = [line for line in err.splitlines() if line.strip()]
    error_lines = [line for line in lines if line.startswith("error: ")]
    if verb == "verify" and proc.returncode == CorruptObjectError.exit_code and not error_lines:
        return Outcome("refused", mutation, "verify reported problems")
    if len(error_lines) != 1 or any(not line.startswith(("error: ", "hint: ")) for line in lines) or len(lines) > 2:
        return Outcome("finding", mutation, f"cli {verb}: not one error line and one hint: {err[-300:]!r}")
    return Outcome("refused", mutation, f"cli exit {proc.returncode}")


def build_demo_repository(path: Path) -> None:
    """A small, deterministic repository with every kind of file a reader meets.

    Four commits on two branches in several packs, the newest commit and its
    root tree and manifest as loose objects, an annotated tag ``v1``, a
    lightweight tag, and ``packed-refs`` holding the tags and ``explore``.
    """
    from unittest import mock

    from dulwich.objects import Commit, ShaFile

    from brainvcs.brains import ReferenceBrain, bundled_texts

    texts = bundled_texts()
    names = sorted(texts)
    brain = ReferenceBrain(n_neurons=40)
    # Commits take their time in the transaction, annotated tags in the branch operations.
    with mock.patch("brainvcs.storage.transaction.now", return_value=1_700_000_050), \
            mock.patch("brainvcs.repo.branches.now", return_value=1_700_000_050), Repository.init(path) as repo:
        brain.learn(texts[names[0]][:2000])
        repo.commit(brain.to_state(), "first text", timestamp=1_700_000_000)
        brain.learn(texts[names[1]][:2000])
        repo.commit(brain.to_state(), "second text", timestamp=1_700_000_100)
        repo.gc()  # one deltified pack: delta chains are read too
        repo.create_tag("v1", message="after two texts")
        repo.create_tag("v1-light")
        repo.create_branch("explore")
        explore = ReferenceBrain.from_state(brain.to_state())
        explore.learn(texts[names[3]][:2000])
        repo.commit(explore.to_state(), "explore", branch="explore", timestamp=1_700_000_150)
        brain.learn(texts[names[2]][:2000])
        pack_dir = path / "objects" / "pack"
        before = {p.name for p in pack_dir.iterdir()}
        result = repo.commit(brain.to_state(), "third text", timestamp=1_700_000_200)
        assert result.commit is not None
        # Store the newest commit, its root tree and its manifest as loose objects, the rest of
        # its pack as a new pack: loose-object readers are fuzzed too, with few directories to copy.
        store = repo.objects
        commit = store[result.commit.id.encode()]
        assert isinstance(commit, Commit)
        tree = store[commit.tree]
        loose = {commit.id, tree.id, tree[b"brain.json"][1]}
        for name in sorted({p.name for p in pack_dir.iterdir()} - before):
            if name.endswith(".pack"):
                objects: list[ShaFile] = [store[sha] for sha in _pack_shas(pack_dir / name)]
                for suffix in (".pack", ".idx"):
                    (pack_dir / (name[:-5] + suffix)).unlink()
                store._update_pack_cache()
                for obj in objects:
                    if obj.id in loose:
                        store.add_object(obj)
                store.add_objects([(obj, None) for obj in objects if obj.id not in loose])
        refs = repo.git.refs
        packed = {k: v for k, v in refs.as_dict().items() if k.startswith((b"refs/tags/", b"refs/heads/explore"))}
        refs.add_packed_refs(packed)
        for ref in packed:
            (path / ref.decode()).unlink(missing_ok=True)


def _pack_shas(pack_path: Path) -> list[bytes]:
    from dulwich.object_format import SHA1
    from dulwich.pack import load_pack_index

    index = load_pack_index(str(pack_path)[:-5] + ".idx", SHA1)
    try:
        return [s for s, _, _ in index.iterentries()]
    finally:
        index.close()


class SeedJsonTarget(Target):
    """``read_seed_json_file`` of a damaged seed JSON document."""

    name = "seed-json"

    def setup(self, workdir: Path) -> None:
        from brainvcs.seed.json_file import read_seed_json_file

        self.source = SEED_DIR / "readme_after_20_inputs.json"
        self.data = self.source.read_bytes()
        self.original = state_bytes(read_seed_json_file(self.source).state)

    def case(self, rng: random.Random, workdir: Path) -> Outcome:
        from brainvcs.seed.json_file import read_seed_json_file

        if rng.random() < 0.7:
            data, mutation = mutate_bytes(self.data, rng)
        else:
            value, mutation = mutate_json_structure(json.loads(self.data), rng)
            data = dump_json(value)
        path = workdir / "seed.json"
        path.write_bytes(data)
        try:
            state = read_seed_json_file(path).state
            if state_bytes(state) == self.original:
                return Outcome("same", mutation)
            problem = round_trips(state)
        except BrainVCSError as exc:
            return refused(exc, mutation)
        except Exception as exc:
            return crashed(exc, mutation)
        if problem:
            return Outcome("finding", mutation, problem)
        return Outcome("accepted", mutation, "a different, valid document")


class SeedSqliteTarget(Target):
    """``read_seed_sqlite`` of a damaged seed database."""

    name = "seed-sqlite"

    def setup(self, workdir: Path) -> None:
        from brainvcs.seed.sqlite_file import read_seed_sqlite

        self.source = SEED_DIR / "brain_data.db"
        self.data = self.source.read_bytes()
        self.original = [state_bytes(s.state) for s in read_seed_sqlite(self.source)]
        with sqlite3.connect(self.source) as conn:
            self.tables = {name: [row[1] for row in conn.execute(f"PRAGMA table_info({name})")]
                           for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}

    def sql_damage(self, path: Path, rng: random.Random) -> str:
        table = rng.choice(sorted(self.tables))
        column = rng.choice(self.tables[table])
        value = rng.choice([None, "", "{", "[1, 2", "NaN", '{"a": NaN}', "[" * 3000, "\ud800".encode("utf-8", "surrogatepass"),
                            b"\x00\xff", 2**63 - 1, -(2**63), float("inf"), float("nan"), 1e308, "not a date",
                            '{"$tensor": 1}', json.dumps({"x": [1] * 3}), "x" * 100000, 3.5, -1])
        op = rng.randrange(4)
        with sqlite3.connect(path) as conn:
            if op == 0:
                conn.execute(f'UPDATE "{table}" SET "{column}" = ? WHERE rowid IN '
                             f'(SELECT rowid FROM "{table}" ORDER BY random() LIMIT 1)', (value,))
                return f"set {table}.{column} of one row to {repr(value)[:30]}"
            if op == 1:
                conn.execute(f'UPDATE "{table}" SET "{column}" = ?', (value,))
                return f"set {table}.{column} of every row to {repr(value)[:30]}"
            if op == 2:
                conn.execute(f'ALTER TABLE "{table}" RENAME COLUMN "{column}" TO "{column}_x"')
                return f"rename column {table}.{column}"
            conn.execute(f'DROP TABLE "{table}"')
            return f"drop table {table}"

    def case(self, rng: random.Random, workdir: Path) -> Outcome:
        from brainvcs.seed.sqlite_file import read_seed_sqlite

        path = workdir / "brain_data.db"
        if rng.random() < 0.6:
            data, mutation = mutate_bytes(self.data, rng, tokens=False)
            path.write_bytes(data)
        else:
            path.write_bytes(self.data)
            try:
                mutation = self.sql_damage(path, rng)
            except sqlite3.Error as exc:
                return Outcome("same", f"sql edit refused by sqlite ({exc})")
        try:
            sessions = read_seed_sqlite(path)
            got = [state_bytes(s.state) for s in sessions]
            if got == self.original:
                return Outcome("same", mutation)
            problems = [p for p in (round_trips(s.state) for s in sessions) if p]
        except BrainVCSError as exc:
            return refused(exc, mutation)
        except Exception as exc:
            return crashed(exc, mutation)
        if problems:
            return Outcome("finding", mutation, problems[0])
        return Outcome("accepted", mutation, "a different, valid database")


TARGETS: dict[str, Callable[[], Target]] = {
    "statefile": StateFileTarget,
    "snapshot": SnapshotTarget,
    "manifest": ManifestTarget,
    "repository": RepositoryTarget,
    "seed-json": SeedJsonTarget,
    "seed-sqlite": SeedSqliteTarget,
}


# --------------------------------------------------------------------------
# Running


def case_rng(seed: int, target: str, index: int) -> random.Random:
    """The RNG of one case: the same seed, target and index always damage the same way."""
    return random.Random(f"{seed}:{target}:{index}")


def run_target(name: str, *, seed: int, cases: int, time_budget: float | None = None,
               case_timeout: float = 60.0, only: int | None = None, verbose: bool = False,
               cli_every: int | None = None) -> TargetReport:
    """Run ``cases`` cases of one target (or just case ``only``) and count the outcomes."""
    target = TARGETS[name]()
    if cli_every is not None and isinstance(target, RepositoryTarget):
        target.cli_every = cli_every
    report = TargetReport(name)
    # A RAM disk makes the thousands of copies and removals of the repository target cheap.
    scratch = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    with tempfile.TemporaryDirectory(prefix=f"brainvcs-fuzz-{name}-", dir=scratch) as tmp:
        workdir = Path(tmp)
        target.setup(workdir)
        start = time.monotonic()
        indexes = [only] if only is not None else range(cases)
        for index in indexes:
            if time_budget is not None and time.monotonic() - start > time_budget:
                break
            rng = case_rng(seed, name, index)
            try:
                with time_limit(case_timeout):
                    outcome = target.case(rng, workdir)
            except BrainVCSError as exc:  # raised while damaging: a bug of this script, not a refusal
                outcome = Outcome("finding", "(while damaging)", f"the fuzzer itself failed: {exc.message}")
            except BaseException as exc:
                if isinstance(exc, KeyboardInterrupt):
                    raise
                outcome = crashed(exc, "(while damaging or judging)")
            report.cases += 1
            report.outcomes[outcome.kind] += 1
            if outcome.kind == "refused":
                report.refusals[outcome.detail.split(";")[0]] += 1
            if outcome.kind == "finding":
                report.findings.append((index, outcome))
            if verbose:
                print(f"{name} #{index}: {outcome.kind}: {outcome.mutation} -> {outcome.detail}")
        report.seconds = time.monotonic() - start
    return report


def print_table(reports: list[TargetReport], seed: int) -> None:
    """Counts per target and outcome, then every finding with the command that replays it."""
    print(f"{'target':<12} {'cases':>6} {'same':>6} {'accepted':>9} {'refused':>8} {'findings':>9} {'seconds':>8}")
    for r in reports:
        print(f"{r.name:<12} {r.cases:>6} {r.outcomes['same']:>6} {r.outcomes['accepted']:>9} "
              f"{r.outcomes['refused']:>8} {r.outcomes['finding']:>9} {r.seconds:>8.1f}")
    for r in reports:
        if r.refusals:
            shown = ", ".join(f"{k} {v}" for k, v in r.refusals.most_common(6))
            print(f"  {r.name} refusals: {shown}")
    for r in reports:
        for index, outcome in r.findings[:20]:
            print(f"FINDING {r.name} #{index}: {outcome.mutation} -> {outcome.detail}")
            print(f"  replay: python benchmarks/fuzz.py --target {r.name} --seed {seed} --case {index} -v")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cases", type=int, default=200, help="cases per target")
    parser.add_argument("--target", choices=sorted(TARGETS), action="append",
                        help="run only this target (repeatable; default: all)")
    parser.add_argument("--case", type=int, default=None, help="replay only this case number")
    parser.add_argument("--time-limit", type=float, default=600.0, help="seconds per target before stopping early")
    parser.add_argument("--case-timeout", type=float, default=60.0, help="seconds one case may take")
    parser.add_argument("--cli-every", type=int, default=None, help="run the CLI on every Nth repository case")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every case")
    args = parser.parse_args(argv)
    reports = []
    for name in args.target or list(TARGETS):
        reports.append(run_target(name, seed=args.seed, cases=args.cases, time_budget=args.time_limit,
                                  case_timeout=args.case_timeout, only=args.case, verbose=args.verbose,
                                  cli_every=args.cli_every))
    print_table(reports, args.seed)
    return 1 if any(r.findings for r in reports) else 0


if __name__ == "__main__":
    sys.exit(main())
