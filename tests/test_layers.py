"""Architecture checks over the source of brainvcs/ (DESIGN.md §2, §3.7; STYLE.md habits 1 and 9).

* Layers import downward only: each module may import modules of the same or a
  lower rank (imports inside functions count too).
* No pickle, marshal, shelve, eval or exec anywhere.
* Every public module, function, class and method has a docstring.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "brainvcs"

#: Rank of each folder (and, where a folder has an inner order, each module) of brainvcs, dotted and
#: relative to the package; the longest matching prefix wins. A module may import only modules of its
#: own or a lower rank. The folders are the layers of DESIGN.md §2, bottom up.
RANKS: dict[str, int] = {
    "errors": 0, "files": 0,  # files: safe writes, needs only the errors
    # snapshot/: values -> canonical bytes -> a tree of blobs, and back
    "snapshot": 2, "snapshot.canonical": 1, "snapshot.tensors": 1, "snapshot.names": 1,
    # storage/: git objects and packs, refs and the lock, then what walks them (verify, gc)
    "storage": 3, "storage.refs": 4, "storage.lock": 4, "storage.graph": 4, "storage.verify": 5, "storage.gc": 5,
    "storage.transaction": 5, "storage.revisions": 5,
    "diff": 6, "merge": 6,  # pure engines: repo may call them, so they must not import repo
    # The repository-level halves of diff and merge (by revision, the git drivers) are features.
    "diff.api": 8, "merge.api": 8, "merge.gitdriver": 8, "merge.reseal": 8,
    "repo": 7,
    # 8: features (adapters, autosave, remote, query, seed, concurrency) and any module not listed here
    "brains": 9,
    "demo": 10,
    "cli": 11,
    "__main__": 12,
}
#: The rank of a module this table does not name yet: a feature.
DEFAULT_RANK = 8
#: The package's ``__init__`` re-exports the repository API, so importing it counts as a feature import.
PACKAGE_ROOT_RANK = 8
LAYER_NAMES = {0: "errors", 1: "snapshot", 2: "snapshot layout", 3: "storage", 4: "storage refs", 5: "storage walks",
               6: "engines (diff, merge)", 7: "repo", 8: "features", 9: "brains", 10: "demo", 11: "cli",
               12: "__main__"}

#: Deliberate exceptions, each with its reason: (importing module, imported module) -> why.
ALLOWED_UPWARD: dict[tuple[str, str], str] = {}

FORBIDDEN_MODULES = {"pickle", "cPickle", "_pickle", "marshal", "shelve", "dill", "cloudpickle", "joblib"}
FORBIDDEN_CALLS = {"eval", "exec", "__import__"}


@dataclass(frozen=True)
class SourceModule:
    """One .py file of the package."""

    path: Path
    name: str  # dotted, e.g. "brainvcs.cli.core"
    is_package: bool

    @property
    def display_path(self) -> str:
        """The path from the directory holding the package, e.g. ``brainvcs/cli/core.py``."""
        depth = len(self.name.split(".")) - 1 + self.is_package
        return self.path.relative_to(self.path.parents[depth]).as_posix()

    def tree(self) -> ast.Module:
        """The parsed source."""
        return ast.parse(self.path.read_text(encoding="utf-8"), filename=str(self.path))


def source_modules() -> list[SourceModule]:
    """Every module of the package."""
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        out.append(SourceModule(path, ".".join(parts), is_package))
    return out


MODULES = source_modules()
MODULE_NAMES = {m.name for m in MODULES}


def rank_of(name: str) -> int:
    """Rank of a dotted brainvcs module name (longest prefix in RANKS; the root has its own rank)."""
    parts = name.split(".")[1:]
    if not parts:
        return PACKAGE_ROOT_RANK
    for end in range(len(parts), 0, -1):
        rank = RANKS.get(".".join(parts[:end]))
        if rank is not None:
            return rank
    return DEFAULT_RANK


def imported_modules(module: SourceModule) -> list[tuple[int, str]]:
    """(line, dotted name) of every brainvcs module ``module`` imports, anywhere in the file, in source order."""
    package = module.name if module.is_package else module.name.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(module.tree()):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names if alias.name.split(".")[0] == "brainvcs")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                parts = parts[:len(parts) - (node.level - 1)]
                base = ".".join(parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            if base.split(".")[0] != "brainvcs":
                continue
            for alias in node.names:
                # `from . import layout` names a module; `from .repo import Repository` names a member.
                candidate = f"{base}.{alias.name}"
                found.append((node.lineno, candidate if candidate in MODULE_NAMES else base))
    return sorted(set(found))


def layer_violations(modules: list[SourceModule]) -> list[str]:
    """One line per import of a higher-ranked module (allowlisted pairs excepted)."""
    violations = []
    for module in modules:
        own = rank_of(module.name)
        for line, target in imported_modules(module):
            theirs = rank_of(target)
            if theirs > own and (module.name, target) not in ALLOWED_UPWARD:
                violations.append(f"{module.display_path}:{line}: {module.name} (layer {own}, {LAYER_NAMES[own]}) "
                                  f"imports {target} (layer {theirs}, {LAYER_NAMES[theirs]})")
    return violations


def test_every_module_is_found() -> None:
    for expected in ("brainvcs", "brainvcs.errors", "brainvcs.repo", "brainvcs.cli", "brainvcs.cli.core",
                     "brainvcs.brains.reference", "brainvcs.__main__"):
        assert expected in MODULE_NAMES


def test_imports_only_go_down_the_layers() -> None:
    violations = layer_violations(MODULES)
    unranked = sorted({m.name.split(".")[1] for m in MODULES
                       if m.name.count(".") and m.name.split(".")[1] not in RANKS})
    message = ("\nlayer violations (a module may import only modules of its own or a lower layer; "
               "see RANKS in tests/test_layers.py and DESIGN.md §2):\n  " + "\n  ".join(violations))
    if unranked:
        message += (f"\nmodules not in RANKS, treated as features (layer {DEFAULT_RANK}): {', '.join(unranked)}; "
                    "if one belongs lower (e.g. storage plumbing), add it to RANKS")
    assert not violations, message


def import_cycles(modules: list[SourceModule]) -> list[list[str]]:
    """Groups of modules that import each other, directly or through others (imports inside functions count).

    Tarjan's strongly connected components over the import graph; a package
    importing its own submodules, and a submodule importing a sibling through
    the package (``from . import sibling``), are ordinary edges.
    """
    graph = {m.name: sorted({target for _, target in imported_modules(m) if target != m.name}) for m in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, []):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for name in sorted(graph):
        if name not in index:
            visit(name)
    return sorted(cycles)


def test_no_import_cycles() -> None:
    # A package's __init__ re-exporting its modules is not a cycle unless a module imports the package back.
    cycles = import_cycles(MODULES)
    assert not cycles, "import cycles (break them by moving the shared piece down a layer):\n  " + "\n  ".join(
        " <-> ".join(group) for group in cycles)


def test_the_cycle_check_finds_a_cycle_through_a_function_level_import(tmp_path: Path) -> None:
    (tmp_path / "brainvcs").mkdir()
    a = tmp_path / "brainvcs" / "a.py"
    b = tmp_path / "brainvcs" / "b.py"
    a.write_text("from . import b\n")
    b.write_text("def f():\n    from .a import x\n")
    modules = [SourceModule(a, "brainvcs.a", False), SourceModule(b, "brainvcs.b", False)]
    global MODULE_NAMES
    saved = MODULE_NAMES
    MODULE_NAMES = saved | {"brainvcs.a", "brainvcs.b"}
    try:
        assert import_cycles(modules) == [["brainvcs.a", "brainvcs.b"]]
    finally:
        MODULE_NAMES = saved


def test_every_allowlisted_import_still_exists() -> None:
    present = {(m.name, target) for m in MODULES for _, target in imported_modules(m)}
    assert set(ALLOWED_UPWARD) <= present, "remove stale entries from ALLOWED_UPWARD"


def test_the_layer_check_catches_upward_imports(tmp_path: Path) -> None:
    fake = tmp_path / "brainvcs" / "storage" / "objects.py"
    fake.parent.mkdir(parents=True)
    fake.write_text("from ..repo import Repository\nfrom .. import errors\n\n\n"
                    "def f():\n    from ..cli import main\n    import brainvcs.demo\n")
    module = SourceModule(fake, "brainvcs.storage.objects", False)
    assert imported_modules(module) == [(1, "brainvcs.repo"), (2, "brainvcs.errors"), (6, "brainvcs.cli"),
                                        (7, "brainvcs.demo")]
    assert layer_violations([module]) == [
        "brainvcs/storage/objects.py:1: brainvcs.storage.objects (layer 3, storage) imports brainvcs.repo (layer 7, repo)",
        "brainvcs/storage/objects.py:6: brainvcs.storage.objects (layer 3, storage) imports brainvcs.cli (layer 11, cli)",
        "brainvcs/storage/objects.py:7: brainvcs.storage.objects (layer 3, storage) imports brainvcs.demo "
        "(layer 10, demo)",
    ]
    assert [rank_of(n) for n in ("brainvcs", "brainvcs.merge.plan", "brainvcs.merge.api", "brainvcs.newthing",
                                 "brainvcs.cli.core", "brainvcs.errors", "brainvcs.snapshot.canonical",
                                 "brainvcs.snapshot.read", "brainvcs.storage.gc")] == [8, 6, 8, 8, 11, 0, 1, 2, 5]


def test_relative_import_resolution() -> None:
    core = next(m for m in MODULES if m.name == "brainvcs.cli.core")
    targets = {t for _, t in imported_modules(core)}
    assert {"brainvcs.repo", "brainvcs.snapshot.statefile", "brainvcs.cli._common"} <= targets
    repo = next(m for m in MODULES if m.name == "brainvcs.repo.repository")
    assert {"brainvcs.snapshot.layout", "brainvcs.errors", "brainvcs.storage.objects", "brainvcs.storage.refs"} <= {
        t for _, t in imported_modules(repo)}


# --------------------------------------------------------------------------
# No code execution from data


def _is_builtins(node: ast.expr) -> bool:
    return isinstance(node, ast.Name) and node.id == "builtins"


def forbidden_uses(module: SourceModule) -> list[str]:
    """Imports of pickle-like modules and calls to eval/exec/__import__, as ``line: what``."""
    problems = []
    for node in ast.walk(module.tree()):
        if isinstance(node, ast.Import):
            problems.extend(f"{node.lineno}: import {a.name}" for a in node.names
                            if a.name.split(".")[0] in FORBIDDEN_MODULES)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in FORBIDDEN_MODULES:
            problems.append(f"{node.lineno}: from {node.module} import ...")
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in FORBIDDEN_CALLS:
                problems.append(f"{node.lineno}: call to {func.id}()")
            elif isinstance(func, ast.Attribute) and func.attr in FORBIDDEN_CALLS and _is_builtins(func.value):
                problems.append(f"{node.lineno}: call to {func.attr}()")
    return sorted(problems, key=lambda p: int(p.split(":")[0]))


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.name)
def test_no_code_execution_from_data(module: SourceModule) -> None:
    assert forbidden_uses(module) == [], f"{module.display_path}: pickle/marshal/shelve/eval/exec are not allowed"


def test_the_forbidden_scan_catches_them(tmp_path: Path) -> None:
    fake = tmp_path / "bad.py"
    fake.write_text("import pickle\nfrom marshal import loads\nx = eval('1')\nexec('y=1')\nimport shelve as s\n"
                    "import builtins\nbuiltins.eval('2')\nrepo.exec('a method of our own is fine')\n"
                    "__import__('os')\n")
    assert forbidden_uses(SourceModule(fake, "brainvcs.bad", False)) == [
        "1: import pickle", "2: from marshal import ...", "3: call to eval()", "4: call to exec()",
        "5: import shelve", "7: call to eval()", "9: call to __import__()"]


# --------------------------------------------------------------------------
# Docstrings


def undocumented(module: SourceModule) -> list[str]:
    """Public functions, classes and methods without a docstring (and a missing module docstring).

    A method overriding a documented method of a base class defined in the same
    module inherits that docstring (as ``inspect.getdoc`` shows it) and counts as documented.
    """
    missing = []
    tree = module.tree()
    if ast.get_docstring(tree) is None:
        missing.append("<module docstring>")
    classes = {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}

    def inherits_doc(cls: ast.ClassDef, method: str, seen: frozenset[str]) -> bool:
        for base in cls.bases:
            parent = classes.get(base.id) if isinstance(base, ast.Name) else None
            if parent is None or parent.name in seen:
                continue
            for item in parent.body:
                if (isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name == method
                        and ast.get_docstring(item) is not None):
                    return True
            if inherits_doc(parent, method, seen | {parent.name}):
                return True
        return False

    def visit(body: list[ast.stmt], prefix: str, owner: ast.ClassDef | None) -> None:
        for node in body:
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue
            if node.name.startswith("_"):
                continue
            if any(isinstance(d, ast.Name) and d.id == "overload" for d in node.decorator_list):
                continue
            documented = ast.get_docstring(node) is not None or (
                owner is not None and not isinstance(node, ast.ClassDef)
                and inherits_doc(owner, node.name, frozenset({owner.name})))
            if not documented:
                missing.append(prefix + node.name)
            if isinstance(node, ast.ClassDef):
                visit(node.body, f"{prefix}{node.name}.", node)

    visit(tree.body, "", None)
    return missing


def test_the_docstring_check(tmp_path: Path) -> None:
    fake = tmp_path / "doc.py"
    fake.write_text(
        "class Base:\n    'Doc.'\n    def check(self):\n        'Doc.'\n    def bare(self):\n        pass\n"
        "class Child(Base):\n    'Doc.'\n    def check(self):\n        pass\n    def bare(self):\n        pass\n"
        "    def _private(self):\n        pass\n    def __len__(self):\n        return 0\n"
        "def public():\n    pass\ndef _helper():\n    pass\nclass Undocumented:\n    pass\n")
    assert undocumented(SourceModule(fake, "brainvcs.doc", False)) == [
        "<module docstring>", "Base.bare", "Child.bare", "public", "Undocumented"]


def test_every_public_name_has_a_docstring() -> None:
    missing = {m.display_path: names for m in MODULES if (names := undocumented(m))}
    assert missing == {}, "public names without a docstring:\n" + "\n".join(
        f"  {path}: {', '.join(names)}" for path, names in sorted(missing.items()))
