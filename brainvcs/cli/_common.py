"""Shared CLI pieces: the --repo option, JSON output, date and ref formatting."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any, TypeVar

import click
import orjson

from ..api import Repository as BrainRepository
from ..storage.commits import CommitInfo

EXIT_CODES_HELP = """\b
Exit status:
  0    success
  1    error
  2    usage error (bad option, invalid branch or tag name)
  3    invalid state or input file (NaN, unsupported type, malformed JSON),
       or a path brainvcs will not write through (a symlink)
  4    not a repository, or a repository already exists there
  5    unknown revision or path, or the branch/tag already exists
  6    not a brainvcs snapshot, or a format this version cannot read
  7    ref conflict: another writer moved the branch first (nothing changed)
  8    the repository is locked by another live process
  9    corruption found (missing object, digest mismatch) or verify failed
  10   a remote cannot be reached or used
  11   a remote refused the credentials
  12   a push was rejected (fetch, merge, push again)
  13   a merge stopped on conflicts (no branch changed)
  14   the disk refused a write (full, over quota, read-only): nothing changed
  70   internal error (a bug: rerun with BRAINVCS_DEBUG=1)
  130  interrupted
"""

F = TypeVar("F", bound=Callable[..., Any])

repo_option = click.option("--repo", "-C", "repo_path", default=None, metavar="DIR", show_default=False,
                           help="Repository to use (default: the one given before the command, else the one "
                                "containing the current directory).")
json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON instead of text.")


def with_repo(func: F) -> F:
    """Open the repository named by --repo, pass it as ``repo``, close it afterwards.

    It is the API's :class:`brainvcs.api.Repository` (the core repository with
    the CLI's verbs as methods), so a command may hand it to any layer.
    """

    @repo_option
    @functools.wraps(func)
    def wrapper(*args: Any, repo_path: str | None, **kwargs: Any) -> Any:
        with BrainRepository.open(repo_path or default_repo()) as repo:
            return func(*args, repo=repo, **kwargs)

    return wrapper  # type: ignore[return-value]


def default_repo() -> str:
    """The repository named before the command (``brainvcs -C DIR log``), else the current directory."""
    ctx = click.get_current_context(silent=True)
    root = ctx.find_root() if ctx is not None else None
    named = root.params.get("repo_path") if root is not None else None
    return str(named) if named else "."


def emit(result: Any, as_json: bool) -> None:
    """Print a result that renders itself: its ``to_json()`` with --json, else its ``lines()``."""
    if as_json:
        emit_json(result.to_json())
        return
    for line in result.lines():
        click.echo(line)


def emit_json(value: Any) -> None:
    """Print a JSON document (indented, keys sorted) on stdout."""
    click.echo(orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode())


def format_date(seconds: int, tz: int = 0) -> str:
    """git's default date layout: ``Tue Nov 24 05:48:00 2026 +0000``."""
    sign = "-" if tz < 0 else "+"
    tz = abs(tz)
    return time.strftime("%a %b %d %H:%M:%S %Y", time.gmtime(seconds + (tz if sign == "+" else -tz))) + \
        f" {sign}{tz // 3600:02d}{tz % 3600 // 60:02d}"


def print_commit(info: CommitInfo, labels: list[str] | None = None, *, oneline: bool = False) -> None:
    """Print one commit like ``git log`` (or ``--oneline``)."""
    deco = f" ({', '.join(labels)})" if labels else ""
    if oneline:
        click.echo(f"{click.style(info.id[:7], fg='yellow')}{deco} {info.summary}")
        return
    click.secho(f"commit {info.id}{deco}", fg="yellow")
    if len(info.parents) > 1:
        click.echo("Merge: " + " ".join(p[:7] for p in info.parents))
    click.echo(f"Author: {info.author}")
    click.echo(f"Date:   {format_date(info.author_time, info.author_tz)}")
    click.echo("")
    for line in info.message.splitlines():
        click.echo(f"    {line}".rstrip())
    click.echo("")
