"""``citynet neo4j``: install, start, stop and inspect the project's local Neo4j 5.26 server (no Docker)."""

from __future__ import annotations

import json
import re
import shlex
import sys
from pathlib import Path

import click

from citynet.errors import UserError

DEFAULT_DATA = "./.neo4j"
_SIZES = {"--heap": re.compile(r"\d+[kKmMgG]"),  # Java's -Xmx: 768m, 3g
          "--page-cache": re.compile(r"\d+(?:\.\d+)?\s*[kKmMgG](?:i?[bB])?")}  # Neo4j's: 256m, 3g, 3GiB
DEFAULT_PORT = 7687

data_option = click.option(
    "--data", "data_dir", default=DEFAULT_DATA, show_default=True, type=click.Path(file_okay=False, path_type=Path),
    help="Folder of the server's store, logs and state file (citynet-neo4j.json).",
)


@click.group(
    "neo4j",
    epilog="""\b
Examples:
  citynet neo4j install                      build the server once (Maven Central, Java 17)
  citynet neo4j start --data ./.neo4j        start it; prints the bolt URI and password
  citynet neo4j status                       is it running, and where
  citynet neo4j stop                         clean shutdown
With Docker, `docker compose up -d` runs the same Neo4j 5.26 instead (see docs/neo4j.md).""",
)
def command() -> None:
    """Start, stop or inspect the project's local Neo4j 5.26 server (no Docker needed)."""


@command.command(
    "install",
    epilog="""\b
Examples:
  citynet neo4j install
  CITYNET_NEO4J_HOME=/opt/neo4j-5.26 citynet neo4j install --force
Needs Java 17 (JDK) and Maven once; the result goes to ~/.cache/citynet/neo4j-5.26 or $CITYNET_NEO4J_HOME.""",
)
@click.option("--force", is_flag=True, help="Rebuild even when the server is already built.")
def install_command(force: bool) -> None:
    """Build the Neo4j server from Maven Central artifacts (a no-op when already built)."""
    from citynet.neo4j_server import NEO4J_VERSION, install, is_installed, neo4j_home

    home = neo4j_home()
    if is_installed(home) and not force:
        click.echo(f"Neo4j {NEO4J_VERSION} server already built in {home}")
        return
    click.echo(f"building the Neo4j {NEO4J_VERSION} server with Maven (first time: a few minutes)…", err=True)
    install(home, force=force)
    click.echo(f"Neo4j {NEO4J_VERSION} server built in {home}")


def _seconds(ctx, param, value: float) -> float:
    """A --timeout: a finite number of seconds, 0 or more (nan, inf and -1 were taken, and stop never waited)."""
    import math

    if not math.isfinite(value) or value < 0:
        raise click.BadParameter(f"{value} is not a number of seconds (0 or more)")
    return value


def _key_values(ctx, param, values: tuple[str, ...]) -> dict[str, str]:
    """``KEY=VALUE`` options as a dict (a usage error names the malformed one)."""
    out = {}
    for item in values:
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise click.BadParameter(f"{item!r} is not KEY=VALUE (e.g. db.transaction.timeout=10m)")
        out[key.strip()] = value.strip()
    return out


@command.command(
    "start",
    epilog="""\b
Examples:
  citynet neo4j start
  citynet neo4j start --data ./.neo4j --port 7688 --password 'a-long-secret'
  NEO4J_PASSWORD=a-long-secret citynet neo4j start
  citynet neo4j start --heap 4g --page-cache 3g --setting db.transaction.timeout=10m
Then: citynet load -w WS --store neo4j --uri bolt://127.0.0.1:7687  (with NEO4J_PASSWORD set).
Without --port a restart takes the port of the last start in that folder (while it is free). When the
folder's server already runs, start prints how to use it; options that differ from the running
server's (--port, --password, --heap, ...) are refused (exit 2): citynet neo4j stop first.""",
)
@data_option
@click.option("--port", type=click.IntRange(1, 65535), default=None,
              help=f"Bolt port on 127.0.0.1 [default: {DEFAULT_PORT} if free, else a free port].")
@click.option("--password", default=None, envvar="NEO4J_PASSWORD", show_envvar=True,
              help="Password of user neo4j (8+ characters) [default: the earlier one, else generated; "
                   "saved in the state file].")
@click.option("--heap", default="768m", show_default=True, help="Java heap of the server.")
@click.option("--page-cache", default="256m", show_default=True,
              help="Neo4j page cache; for large loads give it about the size of the store (e.g. 3g for 1M patents).")
@click.option("--timeout", type=float, default=120, show_default=True, callback=_seconds,
              help="Seconds to wait for the server.")
@click.option("--jvm-option", "jvm_options", multiple=True, metavar="OPTION",
              help="Extra Java option, e.g. --jvm-option=-XX:TieredStopAtLevel=1 (faster start). Repeatable.")
@click.option("--setting", "settings", multiple=True, metavar="KEY=VALUE", callback=_key_values,
              help="A neo4j.conf setting, e.g. --setting db.transaction.timeout=10m; Neo4j refuses unknown "
                   "keys and bad values at start. Repeatable.")
def start_command(data_dir: Path, port: int | None, password: str | None, heap: str, page_cache: str,
                  timeout: float, jvm_options: tuple[str, ...], settings: dict[str, str]) -> None:
    """Start a local Neo4j 5.26 server in the background and print how to connect to it."""
    from citynet.neo4j_server import NEO4J_VERSION, Neo4jServer, port_is_free

    for option, value in (("--heap", heap), ("--page-cache", page_cache)):  # before Java (its own text, exit 4)
        if not _SIZES[option].fullmatch(value.strip()):
            raise UserError(f"{option} {value!r} is not a size", fix=f"e.g. {option} 2g or {option} 512m "
                            "(a number with k, m or g)")
    if password is not None and len(password) < 8:
        raise UserError("--password: Neo4j needs at least 8 characters", fix="choose a longer password")
    if Neo4jServer(data_dir).status().running:
        running = Neo4jServer.from_state(data_dir)
        ignored = _not_applied(running, port, password, heap, page_cache, jvm_options, settings)
        if ignored:
            raise UserError(f"Neo4j already runs on data folder {running.data_dir} (pid {running.pid}, port "
                            f"{running.port}): {', '.join(ignored)} not applied (a running server keeps its options)",
                            fix=f"stop it first (citynet neo4j stop --data {shlex.quote(str(data_dir))}), then start "
                                f"it with them; or use it as it runs: --uri {running.uri}")
        click.echo(f"Neo4j already runs on data folder {running.data_dir} (pid {running.pid}, port {running.port}).")
        _print_usage(running)
        return
    # a restart keeps the port of the last start (the workspaces' [store] uri name it), while it is free
    last = Neo4jServer(data_dir).status().port
    if port is None:
        port = next((p for p in (last, DEFAULT_PORT) if p is not None and port_is_free(p)), None)
        if last is not None and port != last:
            click.echo(f"note: port {last} of the last start is in use now: the server gets "
                       f"{'port ' + str(port) if port else 'a free port'} (update --uri / [store] uri)", err=True)
    server = Neo4jServer(data_dir, port=port, password=password, heap=heap, page_cache=page_cache,
                         jvm_options=jvm_options, settings=settings)
    click.echo(f"starting Neo4j {NEO4J_VERSION} (data in {server.data_dir})…", err=True)
    server.start(timeout=timeout)
    click.echo(f"Neo4j {NEO4J_VERSION} is running (pid {server.pid}).")
    _print_usage(server)


def _not_applied(running, port, password, heap, page_cache, jvm_options, settings) -> list[str]:
    """The options of ``neo4j start`` given (on the command line, or the password in $NEO4J_PASSWORD) that
    differ from those of the ``running`` server, which a start leaves as they are."""
    ctx = click.get_current_context()

    def given(name: str) -> bool:
        return ctx.get_parameter_source(name) not in (click.core.ParameterSource.DEFAULT, None)

    def size(text: str) -> str:
        return text.strip().lower().replace(" ", "")

    out = []
    if port is not None and port != running.port:
        out.append(f"--port {port}")
    if password is not None and password != running.password:
        source = " (from NEO4J_PASSWORD)" if ctx.get_parameter_source("password") == \
            click.core.ParameterSource.ENVIRONMENT else ""
        out.append(f"--password{source}")
    if given("heap") and size(heap) != size(running.heap):
        out.append(f"--heap {heap}")
    if given("page_cache") and size(page_cache) != size(running.page_cache):
        out.append(f"--page-cache {page_cache}")
    out += [f"--jvm-option {o}" for o in jvm_options if o not in running.jvm_options]
    out += [f"--setting {k}={v}" for k, v in settings.items() if running.settings.get(k) != v]
    return out


def _print_usage(server) -> None:
    data = shlex.quote(str(server.data_dir))
    click.echo(f"  bolt URI : {server.uri}")
    click.echo(f"  user     : {server.user}")
    click.echo(f"  password : {server.password}   (also in {server.state_file})")
    click.echo("Use it:")
    click.echo(f"  export NEO4J_PASSWORD={shlex.quote(server.password)}")
    click.echo(f"  citynet load -w WS --store neo4j --uri {server.uri}")
    click.echo(f"Stop it:  citynet neo4j stop --data {data}")


@command.command(
    "stop",
    epilog="""\b
Examples:
  citynet neo4j stop
  citynet neo4j stop --data ./.neo4j --timeout 120""",
)
@data_option
@click.option("--timeout", type=float, default=60, show_default=True, callback=_seconds,
              help="Seconds to wait for a clean shutdown before killing the server.")
def stop_command(data_dir: Path, timeout: float) -> None:
    """Stop the server of a data folder (clean shutdown; killed only after --timeout)."""
    from citynet.neo4j_server import Neo4jServer

    server = Neo4jServer(data_dir)
    if not server.status().running:
        server.stop(timeout=timeout)  # clears a stale state file
        click.echo(f"no Neo4j server runs on data folder {server.data_dir}")
        return
    server = Neo4jServer.from_state(data_dir)
    pid = server.pid
    server.stop(timeout=timeout)
    click.echo(f"Neo4j server stopped (pid {pid}, data in {server.data_dir})")


@command.command(
    "status",
    epilog="""\b
Examples:
  citynet neo4j status
  citynet neo4j status --data ./.neo4j --json
Exit code 0 when the server runs, 1 when it does not.""",
)
@data_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (running, pid, port, uri, …).")
def status_command(data_dir: Path, as_json: bool) -> None:
    """Tell whether the server of a data folder runs, and its bolt URI."""
    from citynet.neo4j_server import Neo4jServer, is_installed, neo4j_home

    state = Neo4jServer(data_dir).status()
    if as_json:
        click.echo(json.dumps({**state.as_dict(), "installed": is_installed(), "home": str(neo4j_home())}))
    elif state.running:
        click.echo(f"running  pid {state.pid}  {state.uri}  user {state.user}  data {state.data_dir}")
    else:
        built = "built" if is_installed() else "not built yet (citynet neo4j install)"
        click.echo(f"not running  data {state.data_dir}  server {built}")
    # sys.exit, not click's Exit: citynet.cli runs click with standalone_mode=False, which swallows Exit codes
    sys.exit(0 if state.running else 1)

