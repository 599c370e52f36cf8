"""init, commit, log, show, checkout/export, status."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from ..errors import UsageError
from ..snapshot import statefile
from ..repo import Repository
from ..storage.revisions import split_path
from ._common import emit_json, json_option, print_commit, with_repo
from ..diff.api import commit_diff_json
from .diffcmds import print_commit_diff
from .graph import graph_rows


@click.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False))
@click.option("--initial-branch", "-b", "default_branch", default="main", show_default=True,
              help="Name of the first branch.")
@json_option
def init(directory: str, default_branch: str, as_json: bool) -> None:
    """Create an empty brain repository in DIRECTORY (a bare git repository)."""
    with Repository.init(directory, default_branch=default_branch) as repo:
        if as_json:
            emit_json({"path": str(repo.gitdir), "branch": default_branch})
        else:
            click.echo(f"Initialized empty brain repository in {repo.gitdir} (branch {default_branch})")


@click.command()
@click.argument("state_path", metavar="STATE", required=False, type=click.Path(dir_okay=True))
@click.option("--message", "-m", required=True, help="Commit message.")
@click.option("--reference", is_flag=True, help="Commit the bundled reference brain trained on the bundled texts.")
@click.option("--branch", default=None, help="Branch to commit to (default: the current branch).")
@click.option("--author", default=None, help="Author as 'Name <email>' (default: git config or GIT_AUTHOR_*).")
@click.option("--allow-empty", is_flag=True, help="Create a commit even if the state did not change.")
@click.option("--allow-remove", is_flag=True, help="Commit even if STATE lacks modules the branch tip has (they go).")
@json_option
@with_repo
def commit(repo: Repository, state_path: str | None, message: str, reference: bool, branch: str | None,
           author: str | None, allow_empty: bool, allow_remove: bool, as_json: bool) -> None:
    """Snapshot STATE (a JSON file of modules, or a directory of <module>.json files) as a new commit.

    A state that cannot be stored exactly (NaN, infinities, non-string keys,
    sets...) is refused with the path of the value, and nothing is committed.
    """
    if reference == (state_path is not None):
        raise click.UsageError("give exactly one of STATE or --reference")
    if reference:
        from ..brains import ReferenceBrain, bundled_texts

        brain = ReferenceBrain()
        for text in bundled_texts().values():
            brain.learn(text)
        state = brain.to_state()
    else:
        assert state_path is not None
        state = statefile.read_state(state_path)
    result = repo.commit(state, message, author=author, branch=branch, allow_empty=allow_empty,
                         allow_remove=allow_remove)
    if as_json:
        emit_json(result.to_json())
        return
    short_ref = result.ref.removeprefix("refs/heads/")
    if not result.changed:
        assert result.commit is not None
        click.echo(f"nothing to commit: the state equals {short_ref} ({result.commit.id[:7]})")
        return
    assert result.commit is not None
    root = " (root-commit)" if not result.commit.parents else ""
    click.echo(f"[{short_ref}{root} {result.commit.id[:7]}] {result.commit.summary}")
    click.echo(f" {result.written.objects} new objects, {result.written.bytes} bytes; "
               f"fingerprint {result.fingerprint[:16]}")
    if result.removed_modules:
        click.echo(f" removed module(s): {', '.join(result.removed_modules)}")


@click.command()
@click.argument("rev", default="HEAD")
@click.option("--max-count", "-n", type=click.IntRange(min=0), default=None, help="Show at most N commits.")
@click.option("--oneline", is_flag=True, help="One line per commit.")
@click.option("--first-parent", is_flag=True, help="Follow only the first parent of merges.")
@click.option("--graph", is_flag=True, help="Draw the history as lines of descent (branches and merges).")
@click.option("--learned", metavar="WORD", default=None,
              help="Show only the commit where WORD first appeared in language_module.word_frequency.")
@click.option("--stat", is_flag=True, help="After each commit, what it changed against its first parent.")
@click.option("--patch", "-p", is_flag=True, help="After each commit, its whole learning diff against its first parent.")
@json_option
@with_repo
def log(repo: Repository, rev: str, max_count: int | None, oneline: bool, first_parent: bool, graph: bool,
        learned: str | None, stat: bool, patch: bool, as_json: bool) -> None:
    """Show the commit history reachable from REV (default HEAD), newest first."""
    if learned is not None:
        from ..query import DEFAULT_LEARNED_MAP, first_learned

        found = first_learned(repo, DEFAULT_LEARNED_MAP, learned, rev)
        commits = [found] if found is not None else []
        if found is None and not as_json:
            click.echo(f"{learned!r} was never learned in the history of {rev}", err=True)
    else:
        commits = repo.log(rev, max_count=max_count, first_parent=first_parent)
    if as_json:
        emit_json([dict(c.to_json(), diff=commit_diff_json(repo, c.id)) if stat or patch else c.to_json()
                   for c in commits])
        return
    labels = repo.ref_labels()
    if graph:
        for info, row in zip(commits, graph_rows(commits)):
            for line in row.before:
                click.echo(line.rstrip())
            click.echo(f"{row.prefix} ", nl=False)
            print_commit(info, labels.get(info.id), oneline=True)
            for line in row.after:
                click.echo(line.rstrip())
        return
    for info in commits:
        print_commit(info, labels.get(info.id), oneline=oneline)
        if stat or patch:
            print_commit_diff(repo, info.id, stat=not patch)


@click.command()
@click.argument("rev", default="HEAD")
@json_option
@with_repo
def show(repo: Repository, rev: str, as_json: bool) -> None:
    """Show a commit: its message, the modules of its snapshot, and its diff against its parent.

    REV:PATH (such as HEAD~1:language_module.word_frequency.hello) shows the
    value at PATH in that commit's snapshot instead, as JSON.
    """
    at, path = split_path(rev)
    if path is not None:
        from ..query import to_jsonable, value_at

        click.echo(statefile.encode_value(to_jsonable(value_at(repo, at, path))).decode("utf-8"), nl=False)
        return
    info = repo.commit_info(rev)
    manifest = repo.manifest(info.id)
    if as_json:
        emit_json({"commit": info.to_json(), "manifest": manifest, "diff": commit_diff_json(repo, info.id)})
        return
    print_commit(info, repo.ref_labels().get(info.id))
    click.echo(f"fingerprint {manifest['fingerprint']}")
    for name, module in sorted(manifest["modules"].items()):
        click.echo(f"  {name:<28} {module['kind']:<6} {module['digest'][:16]}")
    click.echo("")
    print_commit_diff(repo, info.id)


def _write_out(repo: Repository, rev: str, output: str | None, modules: tuple[str, ...], split: bool,
               as_json: bool, force: bool) -> None:
    if output is None and rev in repo.refs.branches() and sys.stdout.isatty():
        # What a git user types to switch branches: never answer it with a screen of JSON.
        raise UsageError(f"{rev!r} is a branch: checkout writes a stored state out, it does not switch branches",
                         f"switch with `brainvcs switch {rev}`; write its state with `brainvcs checkout {rev} -o FILE`")
    state = repo.checkout(rev, modules=list(modules) or None)
    if output is None:
        click.echo(statefile.encode_state(state).decode("utf-8"), nl=False)
        return
    files = statefile.write_state(state, output, as_directory=split, overwrite=force)
    if as_json:
        emit_json({"rev": repo.resolve(rev), "files": [str(f) for f in files], "modules": sorted(state)})
    else:
        click.echo(f"wrote {len(state)} module(s) of {repo.resolve(rev)[:7]} to {output}", err=True)


def _checkout_options(func: Any) -> Any:
    for option in reversed([
        click.argument("rev", default="HEAD"),
        click.option("--output", "-o", type=click.Path(), default=None,
                     help="Write to this file (or directory with --split) instead of stdout."),
        click.option("--module", "modules", multiple=True, help="Only this module (repeatable)."),
        click.option("--split", is_flag=True, help="Write one <module>.json file per module into the --output directory."),
        click.option("--force", "-f", is_flag=True, help="Overwrite --output files that exist."),
        json_option,
    ]):
        func = option(func)
    return func


@click.command()
@_checkout_options
@click.argument("paths", nargs=-1, metavar="[-- PATH...]")
@with_repo
def checkout(repo: Repository, rev: str, output: str | None, modules: tuple[str, ...], split: bool,
             as_json: bool, force: bool, paths: tuple[str, ...]) -> None:
    """Write the state stored at REV as JSON (every digest verified on the way).

    The output is a state file that `brainvcs commit` accepts back. HEAD does
    not move: use `brainvcs switch` to change branches. With `-o FILE --
    PATH...`, only those paths of FILE are set to their values at REV, as
    `git restore --source REV` does; the rest of FILE stays.
    """
    if paths:
        if output is None:
            raise UsageError("restoring paths needs the state file to restore them into: -o FILE",
                             f"options go before --: brainvcs checkout {rev} -o state.json -- PATH...")
        from ..restore import restore

        result = restore(repo, rev, list(paths), output)
        if as_json:
            emit_json(result.to_json())
            return
        for path in result.restored:
            click.echo(f"restored {path} from {rev} into {output}")
        for path in result.removed:
            click.echo(f"removed {path} from {output} (absent in {rev})")
        return
    _write_out(repo, rev, output, modules, split, as_json, force)


@click.command()
@_checkout_options
@click.option("--format", "format_", type=click.Choice(["state", "seed-json"]), default="state", show_default=True,
              help="state: a brainvcs state file; seed-json: the seed's BrainStateSerializer JSON.")
@with_repo
def export(repo: Repository, rev: str, output: str | None, modules: tuple[str, ...], split: bool,
           as_json: bool, format_: str, force: bool) -> None:
    """Export the state at REV as a JSON state file (same as `checkout`), or in the seed's JSON format."""
    if format_ == "seed-json":
        from ..seed.api import export_seed_json, seed_json_text

        if modules or split:
            raise click.UsageError("--module and --split do not apply to --format seed-json")
        document = export_seed_json(repo, rev, output, overwrite=force)
        if output is None:
            click.echo(seed_json_text(document), nl=False)
        elif as_json:
            emit_json({"rev": repo.resolve(rev), "files": [output], "format": "seed-json"})
        else:
            click.echo(f"wrote the seed JSON of {repo.resolve(rev)[:7]} to {output}", err=True)
        return
    _write_out(repo, rev, output, modules, split, as_json, force)


@click.command()
@click.argument("state_path", metavar="[STATE]", required=False, type=click.Path())
@json_option
@with_repo
def status(repo: Repository, state_path: str | None, as_json: bool) -> None:
    """Show the current branch and HEAD; with STATE, which modules differ from HEAD."""
    state = statefile.read_state(state_path) if state_path else None
    info = repo.status(state)
    if as_json:
        emit_json(info.to_json())
        return
    click.echo(f"On branch {info.branch}" if info.branch else "HEAD detached")
    if info.head is None:
        click.echo("No commits yet")
    else:
        click.echo(f"HEAD {info.head.id[:7]} {info.head.summary}")
        click.echo(f"fingerprint {info.fingerprint}")
        click.echo(f"{len(info.modules)} module(s): {', '.join(sorted(info.modules))}")
    if info.changed_modules is not None:
        if info.changed_modules:
            click.echo(f"{Path(state_path or '').name} differs from HEAD in: {', '.join(info.changed_modules)}")
        else:
            click.echo(f"{Path(state_path or '').name} is identical to HEAD")
