"""Options shared by the sub-commands."""

from __future__ import annotations

import click

from citynet.workspace import Workspace


def workspace_option(create: bool = False):
    """``-w/--workspace DIR`` (default: the current folder), passed as a ``Workspace``."""

    def convert(ctx: click.Context, param: click.Parameter, value: str) -> Workspace:
        return Workspace.open(value, create=create)

    return click.option(
        "-w",
        "--workspace",
        "ws",
        default=".",
        show_default=True,
        callback=convert,
        help="Workspace folder (holds citynet.toml, canonical/, store/, metrics/, results/).",
    )


def is_quiet(ctx: click.Context) -> bool:
    root = ctx.find_root()
    return bool(root.obj and root.obj.get("quiet"))
