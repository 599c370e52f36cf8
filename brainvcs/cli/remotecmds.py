"""remote, clone, fetch, pull, push, ls-remote, sync.

Each command calls one function of :mod:`brainvcs.remote.ops`. Progress goes
to stderr on a terminal only, never with ``--quiet`` or ``--json``; URLs are
always printed with passwords redacted.
"""

from __future__ import annotations

from typing import Any

import click

from ..errors import PushRejectedError
from ..remote import ops
from ..remote.progress import for_terminal
from ..repo import Repository
from ._common import default_repo, emit, emit_json, json_option, repo_option, with_repo

quiet_option = click.option("--quiet", "-q", is_flag=True, help="Do not show transfer progress.")
strategy_option = click.option("--strategy", "-X", default=None, metavar="NAME",
                               help="Merge strategy when histories diverged: mean, max, min (floats changed on "
                                    "both sides), or ours/theirs (also settles every other conflict).")


def _progress(quiet: bool, as_json: bool) -> Any:
    return for_terminal(quiet or as_json)


@click.group(invoke_without_command=True)
@click.option("--verbose", "-v", is_flag=True, help="Show each remote's URL.")
@repo_option
@json_option
@click.pass_context
def remote(ctx: click.Context, verbose: bool, repo_path: str | None, as_json: bool) -> None:
    """List remotes (-v: with URLs), or add/remove/rename one."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(remote_list_cmd, verbose=verbose, as_json=as_json, repo_path=repo_path)
    else:
        # `brainvcs remote -C DIR add ...`: the group's --repo becomes the subcommand's default.
        ctx.default_map = {name: {"repo_path": repo_path} for name in ("list", "add", "remove", "rm", "rename")}


@remote.command("list")
@click.option("--verbose", "-v", is_flag=True, help="Show each remote's URL.")
@json_option
@with_repo
def remote_list_cmd(repo: Repository, verbose: bool, as_json: bool) -> None:
    """List remotes."""
    remotes = ops.remote_list(repo)
    if as_json:
        emit_json([r.to_json() for r in remotes])
        return
    for item in remotes:
        if verbose:
            click.echo(f"{item.name}\t{item.shown_url} (fetch)")
            click.echo(f"{item.name}\t{item.shown_url} (push)")
        else:
            click.echo(item.name)


@remote.command("add")
@click.argument("name")
@click.argument("url")
@json_option
@with_repo
def remote_add_cmd(repo: Repository, name: str, url: str, as_json: bool) -> None:
    """Add remote NAME at URL (a path, file://, http(s)://, ssh://, user@host:path or git://)."""
    item = ops.remote_add(repo, name, url)
    if as_json:
        emit_json(item.to_json())
    else:
        click.echo(f"Added remote {item.name} -> {item.shown_url}")


@remote.command("remove")
@click.argument("name")
@json_option
@with_repo
def remote_remove_cmd(repo: Repository, name: str, as_json: bool) -> None:
    """Remove remote NAME and its remote-tracking refs."""
    item = ops.remote_remove(repo, name)
    if as_json:
        emit_json(item.to_json())
    else:
        click.echo(f"Removed remote {item.name}")


remote.add_command(remote_remove_cmd, "rm")


@remote.command("rename")
@click.argument("old")
@click.argument("new")
@json_option
@with_repo
def remote_rename_cmd(repo: Repository, old: str, new: str, as_json: bool) -> None:
    """Rename remote OLD to NEW (its remote-tracking refs follow)."""
    item = ops.remote_rename(repo, old, new)
    if as_json:
        emit_json(item.to_json())
    else:
        click.echo(f"Renamed remote {old} to {item.name}")


@click.command()
@click.argument("url")
@click.argument("directory", required=False, type=click.Path(file_okay=False))
@click.option("--branch", "-b", default=None, help="Branch to check out (default: the remote's HEAD).")
@click.option("--depth", type=click.IntRange(min=1), default=None, help="Fetch only the last N commits.")
@click.option("--origin", "-o", "remote", default="origin", show_default=True, help="Name of the remote.")
@quiet_option
@json_option
def clone(url: str, directory: str | None, branch: str | None, depth: int | None, remote: str, quiet: bool,
          as_json: bool) -> None:
    """Copy the brain repository at URL into DIRECTORY (default: named after the URL).

    Credentials for https:// come from BRAINVCS_USERNAME/BRAINVCS_PASSWORD or
    BRAINVCS_TOKEN (sent only to the hosts named in BRAINVCS_CREDENTIAL_HOSTS),
    git's credential helpers, or ~/.netrc; ssh uses your keys.
    """
    progress = _progress(quiet, as_json)
    with ops.clone(url, directory, branch=branch, depth=depth, remote=remote, progress=progress) as repo:
        branch_name = repo.current_branch
        head = repo.head()
        if as_json:
            emit_json({"path": str(repo.gitdir), "remote": remote, "branch": branch_name, "head": head,
                       "branches": {k: v for k, v in repo.refs.remote_branches().items()}})
            return
        click.echo(f"Cloned into {repo.gitdir}")
        tracking = sorted(name.split("/", 1)[1] for name in repo.refs.remote_branches() if name.startswith(remote + "/"))
        if head is None and not tracking:
            click.echo("warning: the remote repository is empty", err=True)
        elif head is None:
            click.echo(f"warning: the remote's HEAD names no branch it has; its branches: {', '.join(tracking)}",
                       err=True)
            click.echo(f"hint: pick one with `brainvcs switch {tracking[0]}` (or clone with --branch NAME)", err=True)
        else:
            click.echo(f"On branch {branch_name} at {head[:7]}")


@click.command()
@click.argument("remote", default="origin")
@click.option("--prune", "-p", is_flag=True, help="Delete remote-tracking refs whose branch is gone.")
@quiet_option
@json_option
@with_repo
def fetch(repo: Repository, remote: str, prune: bool, quiet: bool, as_json: bool) -> None:
    """Download REMOTE's branches and tags; move only refs/remotes/REMOTE/* (and new tags)."""
    emit(ops.fetch(repo, remote, prune=prune, progress=_progress(quiet, as_json)), as_json)


@click.command()
@click.argument("remote", default="origin")
@click.argument("branch", required=False)
@strategy_option
@quiet_option
@json_option
@with_repo
def pull(repo: Repository, remote: str, branch: str | None, strategy: str | None, quiet: bool,
         as_json: bool) -> None:
    """Fetch REMOTE and bring its learning into BRANCH (default: current): fast-forward, or a semantic merge."""
    result = ops.pull(repo, remote, branch, strategy=strategy, progress=_progress(quiet, as_json))
    if as_json:
        emit_json(result.to_json())
        return
    click.echo(result.line())


@click.command()
@click.argument("remote", default="origin")
@click.argument("refspecs", nargs=-1)
@click.option("--force", "-f", is_flag=True, help="Allow non-fast-forward updates (the remote's newer commits are lost).")
@click.option("--set-upstream", "-u", "set_upstream_branch", is_flag=True,
              help="Record the pushed branch as the upstream of the local one.")
@quiet_option
@json_option
@with_repo
def push(repo: Repository, remote: str, refspecs: tuple[str, ...], force: bool, set_upstream_branch: bool,
         quiet: bool, as_json: bool) -> None:
    """Send the current branch (or REFSPECS: main, main:other, +main, :gone) to REMOTE.

    Each ref's outcome is printed; a refused ref (non-fast-forward, a server
    hook, permissions) makes the command fail with exit code 12 and leaves its
    remote-tracking ref where it was.
    """
    try:
        result = ops.push(repo, remote, list(refspecs) or None, force=force,
                          set_upstream_branch=set_upstream_branch, progress=_progress(quiet, as_json))
    except PushRejectedError as exc:
        if isinstance(exc.result, ops.PushResult):
            emit(exc.result, as_json)
        raise
    emit(result, as_json)


@click.command("ls-remote")
@click.argument("url_or_remote", metavar="URL_OR_REMOTE", default="origin")
@repo_option
@json_option
def ls_remote(url_or_remote: str, repo_path: str | None, as_json: bool) -> None:
    """List the refs of a remote (a configured name, or any URL) without downloading anything."""
    repo = _maybe_open(repo_path or default_repo())
    try:
        result = ops.ls_remote(url_or_remote, repo=repo)
    finally:
        if repo is not None:
            repo.close()
    if as_json:
        emit_json(result.to_json())
        return
    for name, sha in result.refs.items():
        click.echo(f"{sha}\t{name}")


def _maybe_open(path: str) -> Repository | None:
    from ..errors import NotARepositoryError

    try:
        return Repository.open(path)
    except NotARepositoryError:
        return None


@click.command()
@click.argument("remote", default="origin")
@click.argument("branch", required=False)
@click.option("--attempts", type=click.IntRange(min=1), default=5, show_default=True,
              help="Rounds of fetch-merge-push to try while the remote keeps moving.")
@strategy_option
@click.option("--on-conflict", type=click.Choice(["ours", "theirs"]), default=None,
              help="Settle only what would stop the merge (a label changed differently on both sides) with this "
                   "side; learned values still merge by their rules.")
@quiet_option
@json_option
@with_repo
def sync(repo: Repository, remote: str, branch: str | None, attempts: int, strategy: str | None,
         on_conflict: str | None, quiet: bool, as_json: bool) -> None:
    """Fetch, merge and push BRANCH (default: current) until REMOTE and this repository hold the same brain.

    When another machine pushed in between, its learning is merged in and the
    push is tried again (up to --attempts rounds); nothing is ever forced.
    """
    result = ops.sync(repo, remote, branch, attempts=attempts, strategy=strategy, on_conflict=on_conflict,
                      progress=_progress(quiet, as_json))
    emit(result, as_json)
