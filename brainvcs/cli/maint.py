"""verify, gc."""

from __future__ import annotations

import click

from ..errors import CorruptObjectError
from ..repo import Repository
from ._common import emit_json, json_option, with_repo


@click.command()
@click.argument("rev", required=False)
@json_option
@with_repo
def verify(repo: Repository, rev: str | None, as_json: bool) -> None:
    """Recompute every BLAKE3 digest and fingerprint of every reachable snapshot (or of REV's history).

    Exits with status 9 and lists each problem when anything does not match.
    """
    report = repo.verify(rev)
    if as_json:
        emit_json(report.to_json())
    else:
        for problem in report.problems:
            click.echo(f"problem: {problem}")
        verdict = "ok" if report.ok else f"{len(report.problems)} problem(s)"
        click.echo(f"verified {report.commits} commit(s), {report.snapshots} snapshot(s), "
                   f"{report.objects} object read(s): {verdict}")
    if not report.ok:
        raise click.exceptions.Exit(CorruptObjectError.exit_code)


@click.command()
@click.option("--no-prune", is_flag=True, help="Keep unreachable objects.")
@click.option("--aggressive", is_flag=True,
              help="Search a wider delta window, as `git gc --aggressive`: a smaller pack, several times slower.")
@json_option
@with_repo
def gc(repo: Repository, no_prune: bool, aggressive: bool, as_json: bool) -> None:
    """Consolidate all packs into one (with deltas) and drop unreachable objects."""
    report = repo.gc(prune=not no_prune, aggressive=aggressive)
    if as_json:
        emit_json(report.to_json())
        return
    click.echo(f"packs {report.packs_before} -> {report.packs_after}, kept {report.objects_kept} objects, "
               f"dropped {report.objects_dropped}; {report.bytes_before} -> {report.bytes_after} bytes")
