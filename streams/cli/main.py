"""Root of the `tracktion` command: registers one sub-application per command group."""

from __future__ import annotations

import typer

from streams.cli import stack_cmd

app = typer.Typer(
    name="tracktion",
    help="Tracktion Streams: analyse a music library through an event-sourced pipeline.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
app.add_typer(stack_cmd.app, name="stack")
# Command groups register below, one line each.
