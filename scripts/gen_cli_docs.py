"""Regenerate docs/cli.md from the commands' own help texts.

    python scripts/gen_cli_docs.py          # rewrite docs/cli.md
    python scripts/gen_cli_docs.py --check  # exit 1 if docs/cli.md is stale

tests/test_docs.py runs the check, so the reference never drifts from the code.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from brainvcs.cli import main

HEADER = """# Command-line reference

Generated from the commands' help by `python scripts/gen_cli_docs.py`; do not
edit by hand. Every command also accepts `-h`/`--help`.

"""


def _help(command: click.Command, name: str) -> str:
    with click.Context(command, info_name=name, terminal_width=100) as ctx:
        return command.get_help(ctx)


def render() -> str:
    """The whole reference as Markdown."""
    parts = [HEADER, "## brainvcs\n\n```\n", _help(main, "brainvcs"), "\n```\n"]
    for name in sorted(main.commands):
        command = main.commands[name]
        if command.hidden:
            continue
        parts.append(f"\n## brainvcs {name}\n\n```\n{_help(command, f'brainvcs {name}')}\n```\n")
        if isinstance(command, click.Group):
            for sub in sorted(command.commands):
                parts.append(f"\n### brainvcs {name} {sub}\n\n```\n"
                             f"{_help(command.commands[sub], f'brainvcs {name} {sub}')}\n```\n")
    return "".join(parts)


def main_() -> int:
    target = Path(__file__).resolve().parent.parent / "docs" / "cli.md"
    text = render()
    if "--check" in sys.argv:
        if not target.exists() or target.read_text("utf-8") != text:
            print("docs/cli.md is stale: run python scripts/gen_cli_docs.py", file=sys.stderr)
            return 1
        return 0
    target.write_text(text, "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main_())
