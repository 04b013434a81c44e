"""`tracktion worker`: run the pipeline's services (bridge, analysis, projections)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from infra.settings import get_settings
from schemas.namespace import Namespace
from streams.cli.root import DeprecatedPrefixOpt, namespace_of
from streams.worker.main import Role, run_roles

ROLES = ("bridge", "analysis", "projections", "tags")
# `all` without tags unless TAGS_WRITE=1: the tags role rewrites the user's files.
ALWAYS = ("bridge", "analysis", "projections")


def roles_for(role: str, tags_write: bool) -> tuple[str, ...]:
    if role != "all":
        return (role,)
    return (*ALWAYS, "tags") if tags_write else ALWAYS


def _build(role: str, ns: Namespace) -> list[Role]:
    settings = get_settings()
    wanted = roles_for(role, settings.tags_write)
    roles: list[Role] = []
    for name in wanted:
        if name == "bridge":
            from streams.worker.bridge_role import BridgeRole

            roles.append(BridgeRole(settings, ns))
        elif name == "analysis":
            from streams.worker.analysis_role import AnalysisRole

            roles.append(AnalysisRole(settings, ns))
        elif name == "projections":
            from streams.worker.projections_role import ProjectionsRole

            roles.append(ProjectionsRole(settings, ns))
        elif name == "tags":
            from streams.worker.tags_role import TagsRole

            roles.append(TagsRole(settings, ns))
    return roles


def worker(
    ctx: typer.Context,
    role: Annotated[str, typer.Option(
        help="bridge | analysis | projections | tags | all (tags only with TAGS_WRITE=1)",
    )] = "all",
    port: Annotated[int | None, typer.Option(
        help="Port of /health, /ready, /metrics and the API (default WEB_PORT).")] = None,
    prefix: DeprecatedPrefixOpt = None,
) -> None:
    """Run worker roles until SIGTERM/SIGINT, then shut down gracefully (nothing is lost)."""
    if role not in (*ROLES, "all"):
        raise typer.BadParameter(f"role must be one of {', '.join(ROLES)} or all")
    roles = _build(role, namespace_of(ctx, prefix))
    code = asyncio.run(run_roles(get_settings(), roles, role, port))
    raise typer.Exit(code)
