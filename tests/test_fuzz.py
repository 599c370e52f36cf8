"""A bounded run of benchmarks/fuzz.py on every target, and one regression test per fuzz finding.

The full run (``python benchmarks/fuzz.py --seed 1 --cases 2000``) and its
table are in docs/reliability.md; here each target gets a few dozen cases with
a fixed seed, so a regression in any reader of outside data fails the suite.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from dulwich.object_format import SHA1
from dulwich.pack import load_pack_index

from benchmarks import fuzz
from brainvcs import Repository
from brainvcs.snapshot import statefile
from brainvcs.errors import CorruptObjectError
from tests.conftest import run_cli, sample_state

CASES = {"statefile": 150, "snapshot": 150, "manifest": 150, "repository": 20, "seed-json": 100, "seed-sqlite": 60}


@pytest.mark.parametrize("target", sorted(fuzz.TARGETS))
def test_bounded_fuzz_run_has_no_findings(target: str) -> None:
    report = fuzz.run_target(target, seed=1, cases=CASES[target], cli_every=20)
    assert report.cases == CASES[target]
    assert sum(report.outcomes.values()) == report.cases
    assert report.outcomes["refused"] > 0  # the damage is real: most cases must be refused
    assert [f"#{i}: {o.mutation} -> {o.detail}" for i, o in report.findings] == []


def test_a_case_replays_exactly() -> None:
    first = fuzz.run_target("snapshot", seed=7, cases=0, only=11)
    again = fuzz.run_target("snapshot", seed=7, cases=0, only=11)
    assert first.cases == again.cases == 1
    assert first.outcomes == again.outcomes


def test_the_oracle_flags_what_it_must() -> None:
    """A different state, a non-BrainVCSError and a multi-line message are findings; a clean refusal is not."""
    tree = fuzz.layout.build({"a": 1, "b": 2}).tree
    expected = fuzz.state_bytes({"a": 1, "b": 2})
    wrong = fuzz.layout.build({"a": 1, "b": 3}).tree
    assert fuzz.load_outcome(wrong, None, "m", False, expected, {}).kind == "finding"
    assert fuzz.load_outcome(tree, None, "m", False, expected, {}).kind == "same"
    assert fuzz.crashed(KeyError("x"), "m").kind == "finding"
    assert fuzz.refused(CorruptObjectError("two\nlines"), "m").kind == "finding"
    assert fuzz.refused(CorruptObjectError("one line"), "m").kind == "refused"


# --------------------------------------------------------------------------
# Regressions: each fuzz finding, fixed, stays fixed


@pytest.fixture
def brain(tmp_path: Path) -> Path:
    path = tmp_path / "brain"
    with Repository.init(path) as repo:
        repo.commit(sample_state(0), "first")
        repo.commit(sample_state(1), "second")
        repo.create_tag("v1")
        repo.git.refs.pack_refs(all=True)
    return path


def assert_cli_refuses(path: Path, *args: str) -> None:
    result = run_cli(*args, "--repo", path)
    assert result.exit_code == CorruptObjectError.exit_code, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and lines[0].startswith("error: ") and lines[1].startswith("hint: "), result.stderr


@pytest.mark.parametrize("damage", [
    b"a70e819dbce37a8772d[]ec47ad670e2f1e refs/heads/main\n",  # not hex (fuzz: repository #20)
    b"a70e819d\n",  # truncated line (#33)
    b"\x89#[.\x08\xa3X\x9e",  # binary garbage (#93)
    b"PACK\x00\x00\x00\x02",  # another file swapped in (#27)
])
def test_damaged_packed_refs_are_corruption_not_a_crash(brain: Path, damage: bytes) -> None:
    (brain / "packed-refs").write_bytes(damage)
    with Repository.open(brain) as repo:
        with pytest.raises(CorruptObjectError, match="packed-refs is damaged"):
            repo.refs.branches()
        with pytest.raises(CorruptObjectError):
            repo.checkout("main")
    for verb in ("log", "checkout", "verify", "branch"):
        assert_cli_refuses(brain, verb)


@pytest.mark.parametrize(("head", "match"), [
    (b"ref: ", "ends too early"),  # repository #82 (seed 2): dulwich raised StopIteration
    (b"ref: r\xe5fs/he`ds/main\n", "UnicodeDecodeError|not a ref name"),  # #163
    (b"ref: refs/\xe8eads/main\n", "not a ref name"),  # #204 (seed 2): looked unborn, verify said ok
    (b"PACK\x00\x00\x00\x02\x00\x00\x00\x01\xca\x0bx\x01\xbe", "not an object id|UnicodeDecodeError"),  # #16
    (b"0123456789abcdef\n", "not an object id"),
])
def test_a_damaged_head_is_corruption_everywhere(brain: Path, head: bytes, match: str) -> None:
    (brain / "HEAD").write_bytes(head)
    with Repository.open(brain) as repo:
        with pytest.raises(CorruptObjectError, match=match):
            repo.checkout("HEAD")
        with pytest.raises(CorruptObjectError, match=match):
            repo.verify()  # it must not report a clean repository with HEAD unreadable
        assert repo.checkout("v1") == sample_state(1)  # the rest stays readable
    assert_cli_refuses(brain, "checkout")
    assert_cli_refuses(brain, "verify")


def test_a_ref_holding_garbage_is_corruption(brain: Path) -> None:
    (brain / "refs" / "heads").mkdir(parents=True, exist_ok=True)
    (brain / "refs" / "heads" / "main").write_bytes(b"x\x9c+)JMU023d0\n")  # a loose object swapped in (#61)
    with Repository.open(brain) as repo:
        with pytest.raises(CorruptObjectError, match="refs/heads/main cannot be read"):
            repo.resolve("main")


def test_a_damaged_pack_is_exit_9_not_an_internal_error(brain: Path) -> None:
    """Repository #40: dulwich's exception kept views of the pack's mmap alive, and closing the repository
    then failed with BufferError (exit 70) instead of reporting the corruption."""
    with Repository.open(brain) as repo:
        commit = repo.head()
    assert commit is not None
    for pack in sorted((brain / "objects" / "pack").glob("*.pack")):  # the pack holding the head commit
        index = load_pack_index(str(pack.with_suffix(".idx")), SHA1)
        try:
            offset = index.object_offset(bytes.fromhex(commit))
            break
        except KeyError:
            continue
        finally:
            index.close()
    else:
        raise AssertionError("the head commit is in no pack")
    data = bytearray(pack.read_bytes())
    for i in range(offset + 4, offset + 24):  # the commit's zlib stream, well inside the pack
        data[i] ^= 0x55
    pack.write_bytes(bytes(data))
    assert_cli_refuses(brain, "log")
    assert_cli_refuses(brain, "checkout")


def test_a_state_file_with_an_out_of_range_tensor_value(tmp_path: Path) -> None:
    """statefile #34: 300 in an int16 tensor raised OverflowError."""
    text = json.dumps({"m": {"$tensor": {"dtype": "<i2", "shape": [1], "values": [2**40]}}}).encode()
    with pytest.raises(statefile.InputFileError, match="malformed tensor"):
        statefile.parse_state(text, "f.json")


def test_a_state_file_nested_past_orjsons_limit(tmp_path: Path) -> None:
    """statefile #183: orjson refused 1,025 levels, and the stdlib fallback hit RecursionError."""
    with pytest.raises(statefile.InputFileError, match="nested deeper than"):
        statefile.parse_state(b'{"m": ' + b"[" * 5000 + b"]" * 5000 + b"}", "f.json")


@pytest.mark.parametrize("damage", ["truncate", "count"])
def test_a_damaged_pack_index_is_corruption_when_resolving_an_id(brain: Path, damage: str) -> None:
    """Repository #4/#45 (seed 3): looking an id up made dulwich parse the index with assertions."""
    with Repository.open(brain) as repo:
        commit = repo.head()
    assert commit is not None
    for idx in (brain / "objects" / "pack").glob("*.idx"):
        data = idx.read_bytes()
        # v2 index: 8-byte header, then 256 fan-out counts; the last one is the object count
        idx.write_bytes(data[: len(data) - 100] if damage == "truncate" else
                        data[:8 + 255 * 4] + (10**9).to_bytes(4, "big") + data[8 + 256 * 4:])
    with Repository.open(brain) as repo:
        with pytest.raises(CorruptObjectError, match="cannot be searched|cannot be read"):
            repo.resolve(commit)
        with pytest.raises(CorruptObjectError):
            repo.resolve(commit[:10])
    assert_cli_refuses(brain, "show", commit)


def test_gc_refuses_a_damaged_repository_and_changes_nothing(brain: Path) -> None:
    """CLI smoke run: gc on a truncated pack index, or a damaged loose object, was exit 70."""
    for idx in (brain / "objects" / "pack").glob("*.idx"):
        idx.write_bytes(idx.read_bytes()[:1100])
    before = sorted(p.name for p in (brain / "objects" / "pack").iterdir())
    assert_cli_refuses(brain, "gc")
    assert sorted(p.name for p in (brain / "objects" / "pack").iterdir()) == before
