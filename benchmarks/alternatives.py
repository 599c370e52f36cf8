"""What people would use instead of brainvcs, each as plain functions on the same state.

* pickle (protocol 5) and gzip-pickle, as the seed's ``BrainPickleStorage`` does
  (``gzip.open`` at its default level 9). Benchmarks only: brainvcs itself never
  uses pickle; this module measures the thing it replaces.
* the seed's JSON file format: ``json.dump(state, f, indent=2)``;
* the seed's SQLite schema, written row by row the way the seed's
  ``BrainDatabase.save_brain_session`` does (and, like it, lossy: only working
  memory, the spike *count* and the response texts are kept, so its figures
  flatter SQLite);
* C git on the very files brainvcs would write (``layout.build(state).tree``);
* whole-file content addressing as DVC does it: the canonical JSON of the whole
  state, hashed with BLAKE3 and copied into a cache named by its digest.
"""

from __future__ import annotations

import gzip
import json
import os
import pickle
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import blake3

from brainvcs.snapshot import canonical

State = dict[str, Any]
PICKLE_PROTOCOL = 5

# -- pickle --------------------------------------------------------------------------


def pickle_dump(state: State, path: Path) -> int:
    """``pickle.dump`` to a file; returns its size."""
    with open(path, "wb") as f:
        pickle.dump(state, f, protocol=PICKLE_PROTOCOL)
    return path.stat().st_size


def pickle_load(path: Path) -> State:
    """``pickle.load`` from a file (our own file, written by :func:`pickle_dump`)."""
    with open(path, "rb") as f:
        return pickle.load(f)  # noqa: S301 - trusted file this benchmark just wrote


def gzip_pickle_dump(state: State, path: Path) -> int:
    """The seed's compressed save: ``pickle.dump`` through ``gzip.open``; returns the size."""
    with gzip.open(path, "wb") as f:
        pickle.dump(state, f, protocol=PICKLE_PROTOCOL)
    return path.stat().st_size


def gzip_pickle_load(path: Path) -> State:
    """Load a gzip-pickle written by :func:`gzip_pickle_dump`."""
    with gzip.open(path, "rb") as f:
        return pickle.load(f)  # noqa: S301 - trusted file this benchmark just wrote


# -- the seed's JSON file --------------------------------------------------------------


def json_dump(state: State, path: Path) -> int:
    """The seed's option 1: ``json.dump(indent=2)``; returns the size."""
    with open(path, "w", encoding="utf-8") as f:
        json.dump(state, f, indent=2)
    return path.stat().st_size


def json_load(path: Path) -> State:
    """``json.load`` of a file written by :func:`json_dump`."""
    with open(path, encoding="utf-8") as f:
        return json.load(f)


# -- the seed's SQLite schema ----------------------------------------------------------

_SCHEMA = """
CREATE TABLE IF NOT EXISTS brain_sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, session_name TEXT UNIQUE NOT NULL, user_id TEXT,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    version TEXT DEFAULT '1.0.0', metadata TEXT);
CREATE TABLE IF NOT EXISTS vocabulary (
    id INTEGER PRIMARY KEY AUTOINCREMENT, session_id INTEGER, word TEXT NOT NULL, neural_pattern TEXT,
    frequency INTEGER DEFAULT 1, learned_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    FOREIGN KEY (session_id) REFERENCES brain_sessions (id), UNIQUE(session_id, word));
CREATE TABLE IF NOT EXISTS neural_connections (
    id INTEGER PRIMARY KEY AUTOINCREMENT, session_id INTEGER, neuron_id TEXT NOT NULL, connections TEXT,
    threshold REAL, membrane_potential REAL, learning_rate REAL, spike_count INTEGER DEFAULT 0,
    FOREIGN KEY (session_id) REFERENCES brain_sessions (id), UNIQUE(session_id, neuron_id));
CREATE TABLE IF NOT EXISTS context_associations (
    id INTEGER PRIMARY KEY AUTOINCREMENT, session_id INTEGER, word TEXT NOT NULL, context_words TEXT,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, FOREIGN KEY (session_id) REFERENCES brain_sessions (id));
CREATE TABLE IF NOT EXISTS memory_states (
    id INTEGER PRIMARY KEY AUTOINCREMENT, session_id INTEGER, memory_type TEXT, content TEXT, timestamp REAL,
    FOREIGN KEY (session_id) REFERENCES brain_sessions (id));
CREATE TABLE IF NOT EXISTS response_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT, session_id INTEGER, input_text TEXT, response_text TEXT,
    neural_intensity REAL, cognitive_load REAL, created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    FOREIGN KEY (session_id) REFERENCES brain_sessions (id));
"""


def sqlite_save(state: State, path: Path, session_name: str = "bench") -> int:
    """Save ``state`` the way the seed's ``save_brain_session`` does: one INSERT per row, one transaction."""
    language = state["language_module"]
    load = float(state["cognitive_metrics"]["cognitive_load"])
    conn = sqlite3.connect(path)
    try:
        cursor = conn.cursor()
        cursor.executescript(_SCHEMA)
        cursor.execute(
            "INSERT OR REPLACE INTO brain_sessions (session_name, user_id, updated_at, metadata) VALUES (?, ?, ?, ?)",
            (session_name, None, time.strftime("%Y-%m-%dT%H:%M:%S"),
             json.dumps({"vocabulary_size": len(language["vocabulary"]), "cognitive_load": load,
                         "total_interactions": len(state["brain_history"])})))
        session = cursor.lastrowid
        frequency = language["word_frequency"]
        for word, pattern in language["vocabulary"].items():
            cursor.execute("INSERT OR REPLACE INTO vocabulary (session_id, word, neural_pattern, frequency) "
                           "VALUES (?, ?, ?, ?)", (session, word, json.dumps(pattern), frequency.get(word, 1)))
        for nid, neuron in language["neurons"].items():
            cursor.execute(
                "INSERT OR REPLACE INTO neural_connections (session_id, neuron_id, connections, threshold, "
                "membrane_potential, learning_rate, spike_count) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (session, nid, json.dumps(neuron["connections"]), neuron["threshold"],
                 neuron["membrane_potential"], neuron["learning_rate"], len(neuron["spike_history"])))
        for word, contexts in language["context_associations"].items():
            cursor.execute("INSERT INTO context_associations (session_id, word, context_words) VALUES (?, ?, ?)",
                           (session, word, json.dumps(list(contexts))))
        for item in state["memory_module"]["working_memory"]:
            cursor.execute("INSERT INTO memory_states (session_id, memory_type, content, timestamp) "
                           "VALUES (?, ?, ?, ?)", (session, "working", json.dumps(item), time.time()))
        for item in state["response_generator"]["response_memory"]:
            cursor.execute(
                "INSERT INTO response_history (session_id, input_text, response_text, neural_intensity, "
                "cognitive_load) VALUES (?, ?, ?, ?, ?)",
                (session, item.get("input", ""), item.get("response", ""),
                 item.get("neural_pattern", {}).get("intensity", 0.0), load))
        conn.commit()
    finally:
        conn.close()
    return path.stat().st_size


def sqlite_load(path: Path, session_name: str = "bench") -> State:
    """Read back what :func:`sqlite_save` wrote, as the seed's ``load_brain_session`` reads it."""
    conn = sqlite3.connect(path)
    try:
        cursor = conn.cursor()
        cursor.execute("SELECT id FROM brain_sessions WHERE session_name = ?", (session_name,))
        (session,) = cursor.fetchone()
        vocabulary: dict[str, Any] = {}
        frequency: dict[str, int] = {}
        cursor.execute("SELECT word, neural_pattern, frequency FROM vocabulary WHERE session_id = ?", (session,))
        for word, pattern, count in cursor.fetchall():
            vocabulary[word] = json.loads(pattern)
            frequency[word] = count
        neurons: dict[str, Any] = {}
        cursor.execute("SELECT neuron_id, connections, threshold, membrane_potential, learning_rate, spike_count "
                       "FROM neural_connections WHERE session_id = ?", (session,))
        for nid, connections, threshold, potential, rate, spikes in cursor.fetchall():
            neurons[nid] = {"connections": json.loads(connections), "threshold": threshold,
                            "membrane_potential": potential, "learning_rate": rate, "spike_count": spikes}
        contexts: dict[str, list[str]] = {}
        cursor.execute("SELECT word, context_words FROM context_associations WHERE session_id = ?", (session,))
        for word, words in cursor.fetchall():
            contexts.setdefault(word, []).extend(json.loads(words))
        cursor.execute("SELECT content FROM memory_states WHERE session_id = ? AND memory_type = 'working'",
                       (session,))
        working = [json.loads(content) for (content,) in cursor.fetchall()]
        cursor.execute("SELECT input_text, response_text FROM response_history WHERE session_id = ?", (session,))
        responses = [{"input": text, "response": answer} for text, answer in cursor.fetchall()]
    finally:
        conn.close()
    return {"language_module": {"vocabulary": vocabulary, "word_frequency": frequency,
                                "context_associations": contexts, "neurons": neurons},
            "memory_module": {"working_memory": working}, "response_generator": {"response_memory": responses}}


# -- DVC-like whole-file content addressing -------------------------------------------


def dvc_add(state: State, workspace: Path, cache: Path) -> str:
    """Save the whole state as canonical JSON, hash it with BLAKE3, copy it into ``cache/xx/rest``."""
    data = canonical.encode(state)
    workspace.write_bytes(data)
    hasher = blake3.blake3()
    with open(workspace, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            hasher.update(block)
    digest = hasher.hexdigest()
    target = cache / digest[:2] / digest[2:]
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(workspace, target)
    return digest


def dvc_checkout(digest: str, cache: Path) -> State:
    """Read a state back from the cache by digest."""
    value: State = canonical.decode((cache / digest[:2] / digest[2:]).read_bytes())
    return value


# -- C git on brainvcs's files -----------------------------------------------------------

_GIT_ENV = {
    "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@localhost",
    "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@localhost",
    "GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0",
}


class CGit:
    """A C git repository whose work tree holds the same canonical files brainvcs writes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._env = {**os.environ, **_GIT_ENV, "HOME": str(path.parent)}

    def run(self, *args: str, stdin: bytes | None = None) -> bytes:
        """Run one git command in the work tree; returns its stdout."""
        done = subprocess.run(["git", "-c", "core.hooksPath=/dev/null", "-c", "gc.auto=0", *args],
                              cwd=self.path, env=self._env, input=stdin, capture_output=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"git {' '.join(args)} failed: {done.stderr.decode(errors='replace').strip()}")
        return done.stdout

    def init(self) -> CGit:
        """Create the repository (branch main, no automatic gc)."""
        self.path.mkdir(parents=True, exist_ok=True)
        self.run("init", "-q", "-b", "main")
        return self

    def write_files(self, files: Iterable[tuple[str, bytes]]) -> int:
        """Write (path, bytes) pairs into the work tree; returns how many."""
        count = 0
        for name, data in files:
            target = self.path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            count += 1
        return count

    def remove_files(self, names: Iterable[str]) -> None:
        """Delete files from the work tree."""
        for name in names:
            (self.path / name).unlink(missing_ok=True)

    def add_commit(self, message: str) -> str:
        """``git add -A && git commit`` with ``message`` kept verbatim; returns the new commit id."""
        self.run("add", "-A")
        self.run("commit", "-q", "--no-verify", "--cleanup=verbatim", "-m", message)
        return self.head()

    def head(self) -> str:
        """The commit HEAD names."""
        return self.run("rev-parse", "HEAD").decode().strip()

    def gc_aggressive(self) -> None:
        """``git gc --aggressive --prune=now``: git's smallest storage."""
        self.run("gc", "-q", "--aggressive", "--prune=now")

    def storage_bytes(self) -> int:
        """Bytes under ``.git/objects``."""
        return tree_bytes(self.path / ".git" / "objects")

    def push_bytes(self, old: str, new: str) -> int:
        """Size of the thin pack ``git push`` sends when the remote already has ``old``."""
        pack = self.run("pack-objects", "--revs", "--thin", "--stdout", "-q", stdin=f"{new}\n^{old}\n".encode())
        return len(pack)


def tree_bytes(root: Path) -> int:
    """Total size of the files below ``root``."""
    total = 0
    for directory, _, names in os.walk(root):
        for name in names:
            try:
                total += os.path.getsize(os.path.join(directory, name))
            except OSError:
                pass
    return total


def files_changed(before: Mapping[str, bytes], after: Mapping[str, bytes]) -> tuple[dict[str, bytes], list[str]]:
    """Files of ``after`` that are new or different, and names only ``before`` has."""
    changed = {name: data for name, data in after.items() if before.get(name) != data}
    removed = [name for name in before if name not in after]
    return changed, removed
