"""branch, switch, tag."""

from __future__ import annotations

import click

from ..repo import Repository
from ._common import emit_json, json_option, with_repo


@click.command()
@click.argument("name", required=False)
@click.argument("start", default="HEAD")
@click.option("--delete", "-d", "delete", is_flag=True, help="Delete branch NAME (refused if unmerged).")
@click.option("-D", "force_delete", is_flag=True, help="Delete branch NAME even if unmerged.")
@click.option("--force", "-f", is_flag=True, help="With NAME START: move an existing branch.")
@json_option
@with_repo
def branch(repo: Repository, name: str | None, start: str, delete: bool, force_delete: bool, force: bool,
           as_json: bool) -> None:
    """List branches, create branch NAME at START (default HEAD), or delete one with -d/-D."""
    if delete or force_delete:
        if not name:
            raise click.UsageError("give the branch to delete")
        sha = repo.delete_branch(name, force=force_delete)
        click.echo(f"Deleted branch {name} (was {sha[:7]}).")
        return
    if name:
        info = repo.create_branch(name, start, force=force)
        if as_json:
            emit_json({"name": info.name, "commit": info.commit, "current": info.current})
        else:
            click.echo(f"Created branch {info.name} at {info.commit[:7]}")
        return
    branches = repo.branches()
    if as_json:
        emit_json([{"name": b.name, "commit": b.commit, "current": b.current} for b in branches])
        return
    for info in branches:
        marker = "*" if info.current else " "
        click.echo(f"{marker} {click.style(info.name, fg='green') if info.current else info.name}  {info.commit[:7]}")


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
