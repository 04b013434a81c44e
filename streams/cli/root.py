"""The root options of `tracktion` (the namespace), parsed once into the click context."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import typer

from infra.settings import get_settings
from projections.postgres.schema import SCHEMA_ENV
from schemas.namespace import Namespace

GRAPH_NS_ENV = "TRACKTION_GRAPH_NAMESPACE"

PrefixOpt = Annotated[str | None, typer.Option(
    "--prefix", metavar="PREFIX",
    help="Namespace of every name a command uses: topics, AMQP queue and exchange, consumer "
         "groups, Postgres schema, Neo4j ns, Redis keys (default TRACKTION_PREFIX, or "
         "tracktion: the live system).")]
# The per-command spellings of the namespace from before the root option. Kept because the
# docs and scripts outside this repository use them; hidden so --help shows one way.
DeprecatedPrefixOpt = Annotated[str | None, typer.Option(
    "--prefix", hidden=True, help="Deprecated: use `tracktion --prefix PREFIX COMMAND`.")]
# These two (and their environment variables) name one store's part of a namespace; given,
# they override it for that store only, as they always did.
DeprecatedSchemaOpt = Annotated[str | None, typer.Option(
    "--schema", envvar=SCHEMA_ENV, hidden=True,
    help="Deprecated: the Postgres schema instead of the namespace's.")]
DeprecatedGraphNsOpt = Annotated[str | None, typer.Option(
    "--namespace", envvar=GRAPH_NS_ENV, hidden=True,
    help="Deprecated: the Neo4j namespace instead of the namespace's.")]


@dataclass(frozen=True)
class RootOptions:
    """What the root callback parsed; the namespace resolves lazily, so commands that never
    need one (`stack up` before its credentials exist) never read the settings."""

    prefix: str | None = None

    def namespace(self) -> Namespace:
        return Namespace(self.prefix) if self.prefix is not None else get_settings().namespace


def root(ctx: typer.Context, prefix: PrefixOpt = None) -> None:
    """Tracktion Streams: analyse a music library through an event-sourced pipeline."""
    ctx.obj = RootOptions(prefix)


def namespace_of(ctx: typer.Context, deprecated_prefix: str | None = None) -> Namespace:
    """The command's namespace: its own deprecated --prefix, else the root option's, else
    the settings'. A sub-application invoked on its own (tests) has no root options."""
    if deprecated_prefix is not None:
        return Namespace(deprecated_prefix)
    return (ctx.find_object(RootOptions) or RootOptions()).namespace()
