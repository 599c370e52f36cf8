"""Attacks on brainvcs by a hostile repository, file or URL, each performed as written in the review.

The attacks that need C git or a server (drivers run by ``git log -p``, a
credential helper behind a recording HTTP server) are in
``tests/compat/test_security.py``; docs/reliability.md's threat model lists both.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
import tracemalloc
import zlib
from pathlib import Path
from typing import Any

import pytest
from dulwich.objects import Blob

from brainvcs import Repository
from brainvcs.snapshot import canonical, layout
from brainvcs.errors import BrainVCSError, CorruptObjectError, InputFileError, InvalidStateError, UnsafePathError
from brainvcs.files import atomic_write, check_no_symlinks
from brainvcs.seed.api import import_seed_sqlite
from brainvcs.storage.lock import RepositoryLock
from brainvcs.merge.strategies import MAX_RULES, MergeRules
from brainvcs.remote import ops
from brainvcs.remote.urls import parse_url, redact_text
from brainvcs.storage.objects import MAX_JSON_BLOB_BYTES, ObjectWriter, oid
from tests.conftest import run_cli, sample_state
from tests.test_hostile import _commit, hostile_snapshot, raw_tree, write_raw_pack

SEED_DB = Path(__file__).resolve().parent.parent / "fixtures" / "seed" / "brain_data.db"


def one_error(result: Any, code: int) -> str:
    """The CLI failed with ``code`` and said one error line and one hint line; returns the error line."""
    assert result.exit_code == code, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and lines[0].startswith("error: ") and lines[1].startswith("hint: "), result.stderr
    return lines[0]


# --------------------------------------------------------------------------
# 1. A snapshot may hold nothing the manifest does not account for


def test_a_planted_python_package_at_the_snapshot_root_is_refused(tmp_path: Path) -> None:
    def edit(tree: layout.SnapshotTree) -> None:
        tree.entries["brainvcs"] = layout.SnapshotTree({"__main__.py": b"open('/tmp/pwned', 'w')\n"})
    # added the way `git add` would: beside the snapshot, with brain.json untouched
    path = hostile_snapshot(tmp_path / "repo", {"m": {"w": 1}}, edit, sealed=False)
    with Repository.open(path) as repo:
        with pytest.raises(CorruptObjectError, match="does not account for: 'brainvcs'"):
            repo.checkout("main")
        report = repo.verify()
        assert not report.ok and any("does not account for: 'brainvcs'" in p for p in report.problems)
    verified = run_cli("verify", "-C", path)
    assert verified.exit_code == 9 and "does not account for: 'brainvcs'" in verified.output


def test_a_file_in_the_tensor_store_that_is_no_chunk_is_reported_by_verify(tmp_path: Path) -> None:
    def edit(tree: layout.SnapshotTree) -> None:
        tree.entries[layout.TENSOR_DIR] = layout.SnapshotTree({"brainvcs": layout.SnapshotTree(
            {"__main__.py": b"print('pwned')\n"})})
    path = hostile_snapshot(tmp_path / "repo", {"m": {"w": 1}}, edit, sealed=False)
    with Repository.open(path) as repo:
        problems = repo.verify().problems
    assert any("_tensors/brainvcs/__main__.py: not a tensor chunk" in p for p in problems), problems


# --------------------------------------------------------------------------
# 3, 4, 5. Writes never go through a symlink


def test_checkout_output_ignores_a_symlink_planted_at_the_old_temporary_name(tmp_path: Path) -> None:
    with Repository.init(tmp_path / "brain") as repo:
        repo.commit(sample_state(), "one")
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    out = tmp_path / "out.json"
    # brainvcs used to write .<name>.tmp<pid> without O_EXCL; the CLI runs in this process
    (tmp_path / f".out.json.tmp{os.getpid()}").symlink_to(victim)
    for args in (["checkout", "HEAD", "-o", out], ["export", "HEAD", "--format", "seed-json", "-o", tmp_path / "x"]):
        result = run_cli(*args, "-C", tmp_path / "brain")
        assert victim.read_text() == "precious\n", args
        assert result.exit_code in (0, 3), result.output  # the demo state is no seed document: export may refuse
    assert canonical.decode(out.read_bytes()) == canonical.decode(canonical.encode(sample_state()))


def test_atomic_write_replaces_a_symlink_instead_of_writing_through_it(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    link = tmp_path / "state.json"
    link.symlink_to(victim)
    atomic_write(link, b"{}\n")
    assert victim.read_text() == "precious\n" and not link.is_symlink() and link.read_bytes() == b"{}\n"


def test_a_symlinked_directory_on_the_way_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "tree"
    root.mkdir()
    (root / "language_module").symlink_to(outside)
    with pytest.raises(UnsafePathError, match="language_module: is a symbolic link"):
        atomic_write(root / "language_module" / "_.json", b"{}\n", root=root)
    with pytest.raises(UnsafePathError):
        check_no_symlinks(root / "language_module" / "deeper" / "x.json", root)
    assert list(outside.iterdir()) == []


def test_a_lock_file_symlinked_outside_is_neither_emptied_nor_created(tmp_path: Path) -> None:
    with Repository.init(tmp_path / "brain") as repo:
        repo.commit(sample_state(), "one")
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    lock = tmp_path / "brain" / "brainvcs.storage.lock"
    lock.unlink(missing_ok=True)
    lock.symlink_to(victim)
    state = tmp_path / "s.json"
    state.write_bytes(canonical.encode(sample_state(1)))
    assert "brainvcs.storage.lock: is a symbolic link" in one_error(run_cli("commit", "-C", tmp_path / "brain", "-m", "x",
                                                                     state), 3)
    assert victim.read_text() == "precious\n"
    lock.unlink()
    lock.symlink_to(tmp_path / "created-outside")
    one_error(run_cli("commit", "-C", tmp_path / "brain", "-m", "x", state), 3)
    assert not (tmp_path / "created-outside").exists()
    lock.unlink()
    lock.mkdir()
    assert "brainvcs.storage.lock: is a directory" in one_error(run_cli("commit", "-C", tmp_path / "brain", "-m", "x",
                                                                 state), 3)
    with pytest.raises(UnsafePathError):
        RepositoryLock(tmp_path / "brain").acquire()


def test_a_damaged_object_directory_is_a_clean_error(tmp_path: Path) -> None:
    with Repository.init(tmp_path / "brain") as repo:
        repo.commit(sample_state(), "one")
    pack_dir = tmp_path / "brain" / "objects" / "pack"
    for child in pack_dir.iterdir():
        child.unlink()
    pack_dir.rmdir()
    pack_dir.write_text("not a directory")
    state = tmp_path / "s.json"
    state.write_bytes(canonical.encode(sample_state(1)))
    assert "is not a directory" in one_error(run_cli("commit", "-C", tmp_path / "brain", "-m", "x", state), 9)


# --------------------------------------------------------------------------
# 7. SQLite: tables only, bounded work


def _seed_db_with(tmp_path: Path, statements: list[str]) -> Path:
    path = tmp_path / "brain_data.db"
    path.write_bytes(SEED_DB.read_bytes())
    with sqlite3.connect(path) as connection:
        for statement in statements:
            connection.execute(statement)
    return path


def test_a_recursive_view_in_a_seed_database_is_refused_at_once(tmp_path: Path) -> None:
    path = _seed_db_with(tmp_path, [
        "DROP TABLE memory_states",
        "CREATE VIEW memory_states AS WITH RECURSIVE r(id, session_id, memory_type, content, timestamp) AS "
        "(SELECT 1, 1, 'working', '[]', 0 UNION ALL SELECT id + 1, 1, 'working', "
        "printf('%.1000c', 'x'), 0 FROM r) SELECT * FROM r"])
    started = time.monotonic()
    with Repository.init(tmp_path / "brain") as repo:
        with pytest.raises(InputFileError, match="'memory_states' is a view, not a table"):
            import_seed_sqlite(repo, path)
    assert time.monotonic() - started < 10
    one_error(run_cli("import", "seed-sqlite", "-C", tmp_path / "brain", path), 3)


def test_sqlite_work_is_bounded_by_the_files_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from brainvcs.seed import sqlite_file as seed_sqlite

    monkeypatch.setattr(seed_sqlite._WorkBudget, "EVERY", 100)
    monkeypatch.setattr(seed_sqlite._WorkBudget, "MINIMUM", 1000)
    monkeypatch.setattr(seed_sqlite._WorkBudget, "PER_BYTE", 0)
    with pytest.raises(InputFileError, match="more work than a file of its size can need"):
        seed_sqlite.read_seed_sqlite(SEED_DB)


# --------------------------------------------------------------------------
# 8. Malformed tensors are corruption, reported by verify, never an internal error


@pytest.mark.parametrize("descriptor, problem", [
    ({"bytes": 8, "chunks": [], "dtype": "<f8", "shape": [1] * 100}, "shape"),
    ({"bytes": 0, "chunks": [], "dtype": "<f8", "shape": [2 ** 62, 2 ** 62, 0]}, "declares 0 bytes"),
    ({"bytes": 8, "chunks": [], "dtype": "<f8", "shape": [2 ** 40, 2 ** 40]}, "declares 8 bytes"),
    ({"bytes": 8, "chunks": [], "dtype": "O", "shape": [1]}, "dtype"),
    ({"bytes": 8, "chunks": [7], "dtype": "<f8", "shape": [1]}, "chunk list"),
])
def test_malformed_tensor_descriptors(tmp_path: Path, descriptor: dict[str, Any], problem: str) -> None:
    def edit(tree: layout.SnapshotTree) -> None:
        tree.entries["m.json"] = canonical.encode({"w": {"TENSOR": descriptor}}).replace(b'"TENSOR"', b'"$tensor"')
    path = hostile_snapshot(tmp_path / "repo", {"m": {"w": 0}, "n": 1}, edit)
    with Repository.open(path) as repo:
        with pytest.raises(CorruptObjectError, match=problem):
            repo.checkout("main")
        report = repo.verify()
        assert not report.ok and any(problem in p for p in report.problems), report.problems
        hostile_tip = repo.head()
        assert hostile_tip is not None
        for branch, n in (("side", 2), ("main", 3)):  # two clean children: the hostile one is their merge base
            writer = ObjectWriter(repo.objects)
            child = _commit(writer.add_tree(layout.build({"m": {"w": 1}, "n": n}).tree).encode(), branch)
            child.parents = [hostile_tip.encode()]
            writer.add_commit(child)
            writer.flush()
            repo.refs.move(f"refs/heads/{branch}", repo.refs.get(f"refs/heads/{branch}"), oid(child.id), "test")
    # every command that reads the tensor refuses with the corruption code; none is an internal error
    for args in (["checkout", "main~1", "-o", tmp_path / "o.json"], ["history", "m.w"], ["merge", "side"]):
        one_error(run_cli(*args, "-C", path), 9)
    verified = run_cli("verify", "-C", path)
    assert verified.exit_code == 9 and problem in verified.output
    for args in (["show", "main~1"], ["stats"], ["log", "--stat"]):  # these read no tensor bytes
        assert run_cli(*args, "-C", path).exit_code in (0, 2, 9), args  # (stats: nothing it measures, 2)


# --------------------------------------------------------------------------
# 9. A huge blob is refused by its header, before anything is inflated


def _zero_blob_pack_entry(size: int) -> tuple[bytes, bytes]:
    """(object id, zlib stream) of a blob of ``size`` zero bytes, made in 1 MiB steps."""
    sha = hashlib.sha1(b"blob %d\0" % size)
    deflater = zlib.compressobj(1)
    stream = bytearray()
    step = b"\0" * (1 << 20)
    for _ in range(size >> 20):
        sha.update(step)
        stream += deflater.compress(step)
    stream += deflater.flush()
    return sha.hexdigest().encode(), bytes(stream)


def test_a_quarter_gigabyte_blob_of_zeros_costs_no_memory(tmp_path: Path) -> None:
    size = MAX_JSON_BLOB_BYTES + (1 << 20)
    sha, stream = _zero_blob_pack_entry(size)
    assert len(stream) < 2 << 20  # the whole attack fits in a small pack
    snapshot = layout.build({"m": 0, "n": 1})
    manifest = Blob.from_string(canonical.encode(snapshot.manifest))
    n_blob = Blob.from_string(snapshot.tree.entries["n.json"])  # type: ignore[arg-type]
    tree_bytes = raw_tree([(0o100644, b"brain.json", manifest.id), (0o100644, b"m.json", sha),
                           (0o100644, b"n.json", n_blob.id)])
    commit = _commit(hashlib.sha1(b"tree %d\0" % len(tree_bytes) + tree_bytes).hexdigest().encode())
    path = tmp_path / "repo"
    with Repository.init(path) as repo:
        write_raw_pack(path / "objects" / "pack", [
            {"type": 3, "data": b"", "declared": size, "payload": stream, "sha": sha},
            {"type": 3, "data": manifest.as_raw_string()}, {"type": 3, "data": n_blob.as_raw_string()},
            {"type": 2, "data": tree_bytes}, {"type": 1, "data": commit.as_raw_string()}])
        repo.refs.move("refs/heads/main", None, commit.id.decode(), "hostile")
    with Repository.open(path) as repo:
        tracemalloc.start()
        try:
            with pytest.raises(CorruptObjectError, match=f"declares {size} bytes, over the {MAX_JSON_BLOB_BYTES}"):
                repo.checkout("main")
            assert not repo.verify().ok
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert peak < 32 << 20, peak


def test_a_file_over_the_blob_limit_is_refused_at_commit(repo: Repository, monkeypatch: pytest.MonkeyPatch) -> None:
    from brainvcs.storage import objects as store

    monkeypatch.setattr(store, "MAX_JSON_BLOB_BYTES", 1000)
    with pytest.raises(InvalidStateError, match="big.json: one stored file would hold"):
        repo.commit({"big": "x" * 2000}, "too big")
    assert repo.head() is None


# --------------------------------------------------------------------------
# 10. A fast-forward never adopts a snapshot that readers refuse


def test_merge_and_pull_refuse_to_fast_forward_to_a_hostile_snapshot(tmp_path: Path) -> None:
    def edit(tree: layout.SnapshotTree) -> None:
        tree.entries["brainvcs"] = layout.SnapshotTree({"__main__.py": b"x\n"})
    hostile = hostile_snapshot(tmp_path / "hostile", {"m": {"w": 1}}, edit, sealed=False)
    with Repository.open(hostile) as bad:
        tip = bad.head()
    with Repository.init(tmp_path / "brain") as repo:
        ops.remote_add(repo, "origin", str(hostile))
        ops.fetch(repo, "origin")
        with pytest.raises(CorruptObjectError, match="is not a valid brain snapshot"):
            ops.pull(repo, "origin", "main")
        assert repo.refs.branches() == {}
        repo.refs.move("refs/heads/side", None, tip, "test")
        with pytest.raises(CorruptObjectError, match="is not a valid brain snapshot"):
            _merge(repo, "side")
        assert repo.head() is None
    one_error(run_cli("merge", "-C", tmp_path / "brain", "side"), 9)


def _merge(repo: Repository, branch: str) -> Any:
    from brainvcs.merge.api import merge

    return merge(repo, branch)


# --------------------------------------------------------------------------
# 2, 11. URLs


@pytest.mark.parametrize("url", [
    "http://x%0aurl=https%3A%2F%2Fgithub.com@127.0.0.1:9/r.git",
    "https://alice%0d%0ahost=github.com@127.0.0.1/r.git",
    "https://alice:pw%00@127.0.0.1/r.git",
    "https://127.0.0.1/r%0a.git",
])
def test_control_characters_in_any_decoded_url_part_are_refused(url: str) -> None:
    with pytest.raises(BrainVCSError, match="control character"):
        parse_url(url)
    assert "control character" in one_error(run_cli("ls-remote", url), 2)


def test_a_password_with_a_raw_at_sign_is_redacted_whole() -> None:
    text = "cannot connect to http://u:pw@SECRETTAIL@127.0.0.1:9/r.git: refused"
    assert "SECRETTAIL" not in redact_text(text)
    result = run_cli("ls-remote", "http://u:pw@SECRETTAIL@127.0.0.1:9/r.git")
    assert result.exit_code == 10 and "SECRETTAIL" not in result.output and "u:***@" in result.output


# --------------------------------------------------------------------------
# 12. Merge rules are bounded


def test_a_merge_policy_with_thousands_of_rules_is_refused() -> None:
    rules = {"rules": [{"path": f"m.k{i}", "strategy": "max"} for i in range(MAX_RULES + 1)]}
    with pytest.raises(InvalidStateError, match=f"over the limit of {MAX_RULES}"):
        MergeRules.parse(rules)
    with pytest.raises(InvalidStateError, match="at most 512 characters"):
        MergeRules.parse({"rules": [{"path": "m." + "*." * 400 + "x", "strategy": "max"}]})
    assert len(MergeRules.parse({"rules": rules["rules"][:MAX_RULES]}).rules) == MAX_RULES


# --------------------------------------------------------------------------
# 13. Duplicate keys


def test_a_state_file_with_a_duplicate_key_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "s.json"
    state.write_text('{"language_module": {"hello": 1, "hello": 2}}')
    with Repository.init(tmp_path / "brain"):
        pass
    line = one_error(run_cli("commit", "-C", tmp_path / "brain", "-m", "x", state), 3)
    assert "key 'hello' appears more than once" in line


def test_a_seed_file_whose_top_object_repeats_a_key_says_so(tmp_path: Path) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text('{"language_module": {}, "language_module": {}}')
    with Repository.init(tmp_path / "brain"):
        pass
    line = one_error(run_cli("import", "seed-json", "-C", tmp_path / "brain", seed), 3)
    assert "key 'language_module' appears more than once" in line and "_Refused" not in line
