"""Command line: ``edgernn <command>``. Thin: parse options, call ``edgernn.api``, print.

A ``UserError`` becomes a one-line message on stderr and exit status 2.
Each command has its own section below, marked ``# --- <name> ---``.
"""
from __future__ import annotations

import sys
from pathlib import Path

import click

from edgernn.errors import UserError


class _Group(click.Group):
    """Turns UserError into 'edgernn: error: ...' and exit 2; Ctrl-C into exit 130."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except UserError as e:
            click.echo(f"edgernn: error: {e}", err=True)
            sys.exit(UserError.exit_code)
        except KeyboardInterrupt:
            click.echo("edgernn: interrupted", err=True)
            sys.exit(130)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="edgernn")
def main():
    """edgernn: small GRU/LSTM models from data to microcontroller.

    Pipeline: data -> train -> prune / quantize -> export -> check / eval -> bench -> report.
    Every command has --help.
    """


def _echo_json(obj) -> None:
    import json

    click.echo(json.dumps(obj, indent=2, default=str))


# --- data ---
@main.group()
def data():
    """Make or inspect datasets (the built-in synthetic ones need no download)."""


# --- train ---

# --- prune ---

# --- quantize ---

# --- export ---

# --- check ---

# --- eval ---

# --- bench ---

# --- report ---

# --- firmware ---


if __name__ == "__main__":
    main()
