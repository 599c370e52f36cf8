"""branch, switch, tag, reset."""

from __future__ import annotations

import click

from ..repo import Repository
from ..storage.refs import BRANCH_PREFIX
from ._common import emit_json, json_option, with_repo


@click.command()
@click.argument("name", required=False)
@click.argument("start", default="HEAD")
@click.option("--delete", "-d", "delete", is_flag=True, help="Delete branch NAME (refused if unmerged).")
@click.option("-D", "force_delete", is_flag=True, help="Delete branch NAME even if unmerged.")
@click.option("--force", "-f", is_flag=True, help="With NAME START: move an existing branch.")
@click.option("--remotes", "-r", is_flag=True, help="List the remote-tracking branches.")
@click.option("--all", "-a", "all_", is_flag=True, help="List local and remote-tracking branches.")
@json_option
@with_repo
def branch(repo: Repository, name: str | None, start: str, delete: bool, force_delete: bool, force: bool,
           remotes: bool, all_: bool, as_json: bool) -> None:
    """List branches (-r remote-tracking, -a both), create branch NAME at START (default HEAD), or delete one."""
    if delete or force_delete:
        if not name:
            raise click.UsageError("give the branch to delete")
        sha = repo.delete_branch(name, force=force_delete)
        click.echo(f"Deleted branch {name} (was {sha[:7]}).")
        return
    if name:
        before = repo.refs.get(BRANCH_PREFIX + name)
        info = repo.create_branch(name, start, force=force)
        if as_json:
            emit_json({"name": info.name, "commit": info.commit, "current": info.current, "previous": before})
        elif before is None:
            click.echo(f"Created branch {info.name} at {info.commit[:7]}")
        elif before == info.commit:
            click.echo(f"Branch {info.name} already at {info.commit[:7]}")
        else:
            click.echo(f"Moved branch {info.name} from {before[:7]} to {info.commit[:7]}")
        return
    local = [] if remotes else repo.branches()
    tracking = sorted(repo.refs.remote_branches().items()) if (remotes or all_) else []
    if as_json:
        emit_json([{"name": b.name, "commit": b.commit, "current": b.current} for b in local]
                  + [{"name": f"remotes/{n}", "commit": c, "current": False} for n, c in tracking])
        return
    for info in local:
        marker = "*" if info.current else " "
        click.echo(f"{marker} {click.style(info.name, fg='green') if info.current else info.name}  {info.commit[:7]}")
    for remote_name, commit in tracking:
        click.echo(f"  {click.style(('remotes/' if all_ else '') + remote_name, fg='red')}  {commit[:7]}")


@click.command()
@click.argument("rev")
@click.option("--soft", "mode", flag_value="soft", help="Move the branch only (all modes do: the repository is bare).")
@click.option("--mixed", "mode", flag_value="mixed", default=True, help="The same (git's default).")
@click.option("--hard", "mode", flag_value="hard", help="The same: there is no working tree to reset.")
@json_option
@with_repo
def reset(repo: Repository, rev: str, mode: str, as_json: bool) -> None:
    """Move the current branch to REV (the old tip stays in the reflog: `git reflog` shows it)."""
    old, new = repo.reset(rev)
    if as_json:
        emit_json({"ref": repo.refs.head_ref(), "old": old, "new": new, "mode": mode})
        return
    if old == new:
        click.echo(f"{repo.current_branch or 'HEAD'} is already at {new[:7]}")
    else:
        click.echo(f"{repo.current_branch or 'HEAD'} moved from {(old or '')[:7] or '(nothing)'} to {new[:7]} "
                   f"({repo.commit_info(new).summary})")


@click.command()
@click.argument("name")
@click.argument("start", default="HEAD")
@click.option("--create", "-c", is_flag=True, help="Create the branch at START first.")
@json_option
@with_repo
def switch(repo: Repository, name: str, start: str, create: bool, as_json: bool) -> None:
    """Make NAME the current branch (new commits go there)."""
    info = repo.switch(name, create=create, start=start)
    if as_json:
        emit_json({"name": info.name, "commit": info.commit or None})
    else:
        click.echo(f"Switched to {'a new ' if create else ''}branch '{info.name}'")


@click.command()
@click.argument("name", required=False)
@click.argument("rev", default="HEAD")
@click.option("--message", "-m", default=None, help="Make an annotated tag with this message.")
@click.option("--delete", "-d", "delete", is_flag=True, help="Delete tag NAME.")
@click.option("--force", "-f", is_flag=True, help="Move an existing tag.")
@json_option
@with_repo
def tag(repo: Repository, name: str | None, rev: str, message: str | None, delete: bool, force: bool,
        as_json: bool) -> None:
    """List tags, tag REV (default HEAD) as NAME, or delete a tag with -d."""
    if delete:
        if not name:
            raise click.UsageError("give the tag to delete")
        repo.delete_tag(name)
        click.echo(f"Deleted tag {name}")
        return
    if name:
        target = repo.create_tag(name, rev, message=message, force=force)
        if as_json:
            emit_json({"name": name, "commit": target})
        else:
            click.echo(f"Tagged {target[:7]} as {name}")
        return
    tags = repo.tags()
    if as_json:
        emit_json([{"name": n, "commit": c} for n, c in tags.items()])
        return
    for tag_name, commit_id in tags.items():
        click.echo(f"{tag_name}  {commit_id[:7]}")
