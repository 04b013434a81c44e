"""Root of the `tracktion` command: registers one sub-application per command group."""

from __future__ import annotations

import typer

from streams.cli import (
    db_cmd,
    demo_cmd,
    ops_cmd,
    progress_cmd,
    publish_cmd,
    query_cmd,
    stack_cmd,
    topics_cmd,
    trace_cmd,
    watch_cmd,
    worker_cmd,
)

app = typer.Typer(
    name="tracktion",
    help="Tracktion Streams: analyse a music library through an event-sourced pipeline.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
app.add_typer(stack_cmd.app, name="stack")
app.add_typer(topics_cmd.app, name="topics")
app.command("publish")(publish_cmd.publish)
app.command("worker")(worker_cmd.worker)
app.command("progress")(progress_cmd.progress)
# Command groups register below, one line each.
app.command("trace")(trace_cmd.trace)
app.command("watch")(watch_cmd.watch)
app.command("demo")(demo_cmd.demo)
app.add_typer(ops_cmd.replay_app, name="replay")
app.command("reanalyse")(ops_cmd.reanalyse)
app.add_typer(db_cmd.app, name="db")
app.add_typer(query_cmd.app, name="query")
app.command("analyze-file")(__import__("streams.cli.analyze_cmd", fromlist=["_"]).analyze_file)
app.add_typer(__import__("streams.cli.corpus_cmd", fromlist=["_"]).app, name="corpus")


def main() -> None:
    """Entry point: turns unreachable-service errors into one clear line instead of a traceback."""
    import os

    from infra.logging import configure_logging
    from streams.cli.errors import run_with_friendly_errors

    # Commands are quiet unless something is wrong; `worker` reconfigures at LOG_LEVEL.
    configure_logging("tracktion-cli", os.environ.get("CLI_LOG_LEVEL", "WARNING"),
                      os.environ.get("LOG_FORMAT", "auto"))
    run_with_friendly_errors(app)


from streams.cli import graph_query_cmd  # noqa: E402 - appended so the groups above stay untouched

graph_query_cmd.register(query_cmd.app)


if __name__ == "__main__":
    main()
