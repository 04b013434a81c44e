"""Root of the `tracktion` command: registers one sub-application per command group."""

from __future__ import annotations

import typer

from streams.cli import (
    analyze_cmd,
    corpus_cmd,
    db_cmd,
    demo_cmd,
    export_cmd,
    graph_query_cmd,
    namespace_cmd,
    ops_cmd,
    progress_cmd,
    publish_cmd,
    query_cmd,
    root,
    stack_cmd,
    tags_cmd,
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
# `tracktion --prefix X COMMAND`: one namespace for every command, as faust's root options.
app.callback()(root.root)
app.add_typer(stack_cmd.app, name="stack")
app.add_typer(topics_cmd.app, name="topics")
app.command("publish")(publish_cmd.publish)
app.command("worker")(worker_cmd.worker)
app.command("progress")(progress_cmd.progress)
app.command("trace")(trace_cmd.trace)
app.command("watch")(watch_cmd.watch)
app.command("demo")(demo_cmd.demo)
app.add_typer(ops_cmd.replay_app, name="replay")
app.command("reanalyse")(ops_cmd.reanalyse)
app.add_typer(db_cmd.app, name="db")
app.add_typer(query_cmd.app, name="query")
app.add_typer(export_cmd.app, name="export")
app.add_typer(tags_cmd.app, name="tags")
app.add_typer(namespace_cmd.app, name="namespace")
graph_query_cmd.register(query_cmd.app)  # `query mix` and `query playlist`
app.command("analyze-file")(analyze_cmd.analyze_file)
app.add_typer(corpus_cmd.app, name="corpus")


def main() -> None:
    """Entry point: turns unreachable-service errors into one clear line instead of a traceback."""
    import os

    from infra.logging import configure_logging
    from streams.cli.errors import run_with_friendly_errors

    # Commands are quiet unless something is wrong; `worker` reconfigures at LOG_LEVEL.
    configure_logging("tracktion-cli", os.environ.get("CLI_LOG_LEVEL", "WARNING"),
                      os.environ.get("LOG_FORMAT", "auto"))
    run_with_friendly_errors(app)


if __name__ == "__main__":
    main()
