"""A local Neo4j 5.26 Community server without Docker: built from Maven Central, run on Java 17.

``neo4j-server/`` (next to this package) is a small Maven project whose one launcher class runs
the Neo4j DBMS with Bolt on localhost. :func:`install` builds it once into a cache folder
(``~/.cache/citynet/neo4j-5.26``, or ``$CITYNET_NEO4J_HOME``); :class:`Neo4jServer` starts and
stops one server per data folder and records it in ``<data_dir>/citynet-neo4j.json``::

    with Neo4jServer("./.neo4j", password="s3cret-pass") as server:
        driver = server.driver()          # or neo4j.GraphDatabase.driver(server.uri, auth=server.auth)

Users with Docker run the same Neo4j version from ``docker-compose.yml`` instead (docs/neo4j.md).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from citynet.errors import StoreError

if TYPE_CHECKING:
    import neo4j

NEO4J_VERSION = "5.26.30"
"""The Neo4j release built by ``neo4j-server/pom.xml`` (the newest 5.26 LTS patch on Maven Central)."""

HOME_ENV = "CITYNET_NEO4J_HOME"
SOURCE_ENV = "CITYNET_NEO4J_SOURCE"
PASSWORD_ENV = "NEO4J_PASSWORD"
DEFAULT_HOME = Path("~/.cache/citynet/neo4j-5.26")
SOURCE_DIR = Path(__file__).resolve().parent.parent / "neo4j-server"
STATE_FILE_NAME = "citynet-neo4j.json"
LOG_FILE_NAME = "citynet-neo4j.log"
MAIN_CLASS = "org.citynet.neo4j.CitynetNeo4jServer"
ADMIN_CLASS = "org.neo4j.cli.AdminTool"
"""neo4j-admin's entry point (neo4j-command-line; its ``database import`` command comes from
neo4j-import-tool, both on Maven Central and pulled in by ``org.neo4j:neo4j``)."""
SERVER_JAR = "citynet-neo4j-server.jar"
BUILD_MARKER = "citynet-build.json"
READY_MARKER = "citynet-neo4j: ready"
LAUNCHER_PASSWORD_ENV = "CITYNET_NEO4J_PASSWORD"
USER = "neo4j"
MIN_PASSWORD_LENGTH = 8
SUPPORTED_JAVA = (17, 21)
JVM_ROOT = Path("/usr/lib/jvm")

JVM_OPTIONS = (
    # As the Neo4j 5 distribution's neo4j.conf (server.jvm.additional): page cache and Netty need the
    # java.nio internals; the rest keeps stack traces and GC behaviour as Neo4j expects.
    "-XX:+UseG1GC",
    "-XX:-OmitStackTraceInFastThrow",
    "-XX:+UnlockExperimentalVMOptions",
    "-XX:+TrustFinalNonStaticFields",
    "-XX:+DisableExplicitGC",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djdk.nio.maxCachedBufferSize=1024",
    "-Dio.netty.tryReflectionSetAccessible=true",
    "-Dlog4j2.disable.jmx=true",
    "-Dfile.encoding=UTF-8",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
)

BAD_SETTING_MARKER = "citynet-neo4j: error: invalid Neo4j setting"
"""What the launcher prints when Neo4j refuses a ``settings`` entry (unknown key or bad value)."""
FAST_STARTUP_JVM_OPTIONS = ("-XX:TieredStopAtLevel=1",)
"""For short-lived servers (the test session): the C1 compiler only, which starts the server with about
40% less CPU time at the cost of slower long-running queries. Pass as ``jvm_options``."""

SHUTDOWN_SETTINGS = {
    "internal.dbms.bolt.netty_server_shutdown_quiet_period": "0",
    "internal.dbms.bolt.netty_server_shutdown_timeout": "2",
}
"""Bolt's network threads stop at once on shutdown (seconds). Neo4j's defaults wait a quiet period of
5 s, twice, so a stop took about 11 s, 10 of them idle; a local server has no clients left to drain
(citynet closes its driver first). A ``settings`` entry of the same key overrides these."""

JAVA_FIX = (
    "install a Java 17 runtime (Debian/Ubuntu: apt-get install openjdk-17-jdk-headless) "
    "or set JAVA_HOME to a JDK 17 or 21"
)


# --- locating Java, Maven and the build ------------------------------------------------------------


def neo4j_home() -> Path:
    """Where the built server lives: ``$CITYNET_NEO4J_HOME`` or ``~/.cache/citynet/neo4j-5.26``."""
    return Path(os.environ.get(HOME_ENV) or DEFAULT_HOME).expanduser().resolve()


def _java_major(java: Path) -> int | None:
    """Major version of a ``java`` executable, or None when it does not run."""
    release = java.parent.parent / "release"
    if release.is_file():
        match = re.search(r'JAVA_VERSION="(\d+)', release.read_text(errors="replace"))
        if match:
            return int(match.group(1))
    try:
        out = subprocess.run([str(java), "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2)) if major == 1 and match.group(2) else major


@lru_cache(maxsize=1)
def find_java() -> Path:
    """The ``java`` of a JDK/JRE 17 (or 21): ``$JAVA_HOME``, then ``/usr/lib/jvm/*17*``, then PATH."""
    candidates: list[Path] = []
    if os.environ.get("JAVA_HOME"):
        candidates.append(Path(os.environ["JAVA_HOME"]) / "bin" / "java")
    jvm_root = JVM_ROOT
    for major in SUPPORTED_JAVA:
        candidates.extend(sorted(jvm_root.glob(f"*{major}*/bin/java")))
    on_path = shutil.which("java")
    if on_path:
        candidates.append(Path(on_path).resolve())
    seen: list[str] = []
    for java in candidates:
        if not java.is_file() or str(java) in seen:
            continue
        seen.append(str(java))
        if _java_major(java) in SUPPORTED_JAVA:
            return java
    tried = ", ".join(seen) or "none found"
    raise StoreError(f"Java 17 is missing: Neo4j {NEO4J_VERSION} runs on Java 17 or 21 (tried: {tried})", fix=JAVA_FIX)


def find_maven() -> Path:
    """The ``mvn`` executable on PATH (``$MAVEN_HOME/bin`` also counts)."""
    for folder in (os.environ.get("MAVEN_HOME"), os.environ.get("M2_HOME")):
        if folder and (Path(folder) / "bin" / "mvn").is_file():
            return Path(folder) / "bin" / "mvn"
    found = shutil.which("mvn")
    if not found:
        raise StoreError(
            "Maven is missing: it is needed once to fetch Neo4j from Maven Central and build the server",
            fix="install Maven 3.8+ (Debian/Ubuntu: apt-get install maven), then run: citynet neo4j install",
        )
    return Path(found)


def source_dir() -> Path:
    """The ``neo4j-server`` Maven project (``$CITYNET_NEO4J_SOURCE`` overrides)."""
    folder = Path(os.environ.get(SOURCE_ENV) or SOURCE_DIR).expanduser()
    if not (folder / "pom.xml").is_file():
        raise StoreError(
            f"the Maven project of the local Neo4j server is not at {folder}",
            fix=f"run from a citynet source checkout (pip install -e .), or set {SOURCE_ENV} to its neo4j-server folder",
        )
    return folder


def _source_fingerprint(folder: Path) -> str:
    """A hash of the pom and Java sources: a changed project means a rebuild."""
    digest = hashlib.sha256()
    files = [folder / "pom.xml", *sorted((folder / "src").rglob("*.java"))]
    for path in files:
        digest.update(path.relative_to(folder).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def is_installed(home: Path | None = None) -> bool:
    """True when the server is built in ``home`` from the current sources."""
    home = home or neo4j_home()
    marker = home / BUILD_MARKER
    if not marker.is_file() or not (home / SERVER_JAR).is_file():
        return False
    try:
        built = json.loads(marker.read_text())
    except ValueError:
        return False
    try:
        current = _source_fingerprint(source_dir())
    except StoreError:
        current = built.get("source_sha256")  # no sources here: trust the existing build
    return built.get("neo4j_version") == NEO4J_VERSION and built.get("source_sha256") == current


def _run_streamed(command: list[str], cwd: Path, env: dict, timeout: float,
                  on_line: Callable[[str], None] | None) -> tuple[int | None, str]:
    """Run ``command`` with its output (stdout and stderr, UTF-8) read line by line as it comes, each line
    given to ``on_line``; returns (exit code, or None when it ran longer than ``timeout`` s and was killed;
    the whole output)."""
    import threading

    proc = subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, encoding="utf-8", errors="replace")
    fired = threading.Event()

    def kill() -> None:
        fired.set()
        proc.kill()

    timer = threading.Timer(timeout, kill)
    timer.start()
    lines: list[str] = []
    try:
        for line in proc.stdout:
            lines.append(line)
            if on_line is not None:
                on_line(line.rstrip("\n"))
        proc.wait()
    finally:
        timer.cancel()
        if proc.poll() is None:  # (on_line raised: the tool does not outlive the command)
            proc.kill()
            proc.wait()
    return (None if fired.is_set() else proc.returncode), "".join(lines)


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.splitlines()[-lines:])


def install(home: Path | None = None, force: bool = False) -> Path:
    """Build the server into ``home`` with Maven (a no-op when already built); returns ``home``."""
    home = home or neo4j_home()
    if not force and is_installed(home):
        return home
    project = source_dir()
    java = find_java()
    java_home = java.parent.parent
    if not (java_home / "bin" / "javac").is_file():
        raise StoreError(f"{java_home} is a Java runtime without the compiler (javac)", fix=JAVA_FIX)
    mvn = find_maven()
    home.parent.mkdir(parents=True, exist_ok=True)
    with open(home.parent / f".{home.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build at a time (parallel test sessions)
        if not force and is_installed(home):
            return home
        with tempfile.TemporaryDirectory(prefix=f".{home.name}-build-", dir=home.parent) as tmp:
            build = Path(tmp) / "project"
            shutil.copytree(project, build, ignore=shutil.ignore_patterns("target"))
            env = {**os.environ, "JAVA_HOME": str(java_home)}
            try:
                run = subprocess.run([str(mvn), "-q", "-B", "package"], cwd=build, env=env,
                                     capture_output=True, text=True, timeout=1800)
            except subprocess.TimeoutExpired as exc:
                raise StoreError("the Maven build of the Neo4j server took over 30 minutes",
                                 fix="check access to Maven Central (repo.maven.apache.org)") from exc
            if run.returncode != 0:
                raise StoreError(
                    f"the Maven build of the Neo4j server failed (exit {run.returncode}):\n"
                    + _tail(run.stdout + run.stderr),
                    fix="check access to Maven Central (repo.maven.apache.org) and the output above; "
                        "then run: citynet neo4j install",
                )
            staged = Path(tmp) / "home"
            staged.mkdir()
            shutil.copy2(build / "target" / SERVER_JAR, staged / SERVER_JAR)
            shutil.copytree(build / "target" / "lib", staged / "lib")
            (staged / BUILD_MARKER).write_text(json.dumps(
                {"neo4j_version": NEO4J_VERSION, "source_sha256": _source_fingerprint(project),
                 "java": str(java)}, indent=2))
            if home.exists():
                shutil.rmtree(home)
            staged.rename(home)
    return home


# --- processes and ports ---------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int) -> bool:
    """True when a server could listen on ``127.0.0.1:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _is_our_server(pid: int, data_dir: Path) -> bool:
    """True when ``pid`` is a live launcher of this module serving ``data_dir`` (guards against pid reuse)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    if stat.rsplit(")", 1)[-1].split()[0] == "Z":  # a zombie has exited
        return False
    args = [part.decode(errors="replace") for part in cmdline]
    return MAIN_CLASS in args and str(data_dir) in args


def _cypher_name(name: str) -> str:
    """A schema object name as a quoted Cypher identifier."""
    return "`" + name.replace("`", "``") + "`"


@dataclass(frozen=True)
class ServerStatus:
    """What ``Neo4jServer.status()`` reports."""

    running: bool
    data_dir: str
    pid: int | None = None
    port: int | None = None
    uri: str | None = None
    user: str = USER
    log_file: str | None = None
    neo4j_version: str = NEO4J_VERSION

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- the server ------------------------------------------------------------------------------------


class Neo4jServer:
    """One local Neo4j 5.26 server on ``127.0.0.1``, its store and logs in ``data_dir``.

    ``port=None`` picks a free port; ``password=None`` takes ``$NEO4J_PASSWORD``, else the one in the
    state file of an earlier start, else a generated one. ``stop_with_parent=True`` makes the server
    exit by itself when this Python process is gone (for test sessions that may be killed);
    ``jvm_options`` are added to the Java command line (e.g. ``FAST_STARTUP_JVM_OPTIONS``);
    ``settings`` are neo4j.conf settings (``{"db.tx_state.memory_allocation": "OFF_HEAP"}``),
    checked by Neo4j at start (an unknown key or a bad value stops the start with Neo4j's message).
    """

    def __init__(
        self,
        data_dir: str | os.PathLike[str],
        port: int | None = None,
        password: str | None = None,
        heap: str = "768m",
        *,
        page_cache: str = "256m",
        home: str | os.PathLike[str] | None = None,
        stop_with_parent: bool = False,
        jvm_options: Sequence[str] = (),
        settings: Mapping[str, str] | None = None,
    ) -> None:
        self.data_dir = Path(data_dir).expanduser().resolve()
        self.heap = heap
        self.page_cache = page_cache
        self.home = Path(home).expanduser().resolve() if home else neo4j_home()
        self.stop_with_parent = stop_with_parent
        self.jvm_options = tuple(jvm_options)
        self.settings = dict(settings or {})
        self._port = port
        self._password = password
        self._pid: int | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._watch_pid: int | None = None

    # -- paths and connection details --
    @property
    def state_file(self) -> Path:
        return self.data_dir / STATE_FILE_NAME

    @property
    def log_file(self) -> Path:
        return self.data_dir / LOG_FILE_NAME

    @property
    def port(self) -> int | None:
        return self._port

    @property
    def pid(self) -> int | None:
        return self._pid

    @property
    def uri(self) -> str:
        if self._port is None:
            raise StoreError("the Neo4j server has no port yet", fix="start it first: server.start()")
        return f"bolt://127.0.0.1:{self._port}"

    @property
    def user(self) -> str:
        return USER

    @property
    def password(self) -> str:
        if self._password is None:
            self._password = self._default_password()
        return self._password

    @property
    def auth(self) -> tuple[str, str]:
        return (self.user, self.password)

    def driver(self, **config: Any) -> neo4j.Driver:
        """A new ``neo4j`` driver for this server (close it when done)."""
        import neo4j

        return neo4j.GraphDatabase.driver(self.uri, auth=self.auth, **config)

    def reset_database(self, database: str = "neo4j") -> None:
        """Empty ``database``: delete all nodes and relationships, drop all constraints and indexes
        (except Neo4j's built-in token-lookup indexes)."""
        with self.driver() as driver, driver.session(database=database) as session:
            session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()
            for record in session.run("SHOW CONSTRAINTS YIELD name").data():
                session.run(f"DROP CONSTRAINT {_cypher_name(record['name'])} IF EXISTS").consume()
            for record in session.run("SHOW INDEXES YIELD name, type WHERE type <> 'LOOKUP'").data():
                session.run(f"DROP INDEX {_cypher_name(record['name'])} IF EXISTS").consume()

    def _default_password(self) -> str:
        if os.environ.get(PASSWORD_ENV):
            return os.environ[PASSWORD_ENV]
        previous = self._read_state()
        if previous and previous.get("password"):
            return str(previous["password"])
        return secrets.token_urlsafe(18)

    # -- state file --
    def _read_state(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return None

    def _write_state(self) -> None:
        state = {
            "pid": self._pid,
            "port": self._port,
            "uri": self.uri,
            "user": self.user,
            "password": self.password,
            "data_dir": str(self.data_dir),
            "log_file": str(self.log_file),
            "neo4j_version": NEO4J_VERSION,
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        self._save_state(state)

    def _save_state(self, state: dict[str, Any]) -> None:
        tmp = self.state_file.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # holds the password
        with os.fdopen(fd, "w") as handle:
            json.dump(state, handle, indent=2)
        tmp.replace(self.state_file)

    @classmethod
    def from_state(cls, data_dir: str | os.PathLike[str]) -> Neo4jServer:
        """The server recorded in ``<data_dir>/citynet-neo4j.json`` by an earlier ``start()``."""
        server = cls(data_dir)
        state = server._read_state()
        if state is None:
            raise StoreError(
                f"no Neo4j server was started with data folder {server.data_dir} (no {STATE_FILE_NAME})",
                fix=f"citynet neo4j start --data {data_dir}",
            )
        server._pid = int(state["pid"]) if state.get("pid") else None
        server._port = int(state["port"]) if state.get("port") else None
        server._password = state.get("password")
        if server._pid is not None and _is_our_server(server._pid, server.data_dir):
            server._adopt_options(server._pid)
        return server

    def _adopt_options(self, pid: int) -> None:
        """Heap, page cache, JVM options and settings of the running launcher ``pid`` (so that a restart,
        e.g. after an offline import, keeps them)."""
        try:
            args = [a.decode(errors="replace") for a in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") if a]
        except OSError:
            return
        if MAIN_CLASS not in args:
            return
        main = args.index(MAIN_CLASS)
        jvm = args[1:main]
        extra: list[str] = []
        skip = False
        for a in jvm:
            if skip:
                skip = False
            elif a == "-cp":
                skip = True
            elif a.startswith("-Xmx"):
                self.heap = a[4:]
            elif not a.startswith("-Xms") and a not in JVM_OPTIONS:
                extra.append(a)
        self.jvm_options = tuple(extra)
        rest = args[main + 1:]
        for flag, value in zip(rest, rest[1:], strict=False):
            if flag == "--pagecache":
                self.page_cache = value
            elif flag == "--setting" and "=" in value:
                key, _, val = value.partition("=")
                self.settings[key] = val
            elif flag == "--watch-pid" and value.isdigit():
                self._watch_pid = int(value)  # a restart still ends with the process it watched

    # -- neo4j-admin --
    def admin(self, args: Sequence[str], heap: str | None = None, timeout: float = 7200,
              on_line: Callable[[str], None] | None = None) -> str:
        """Run ``neo4j-admin ARGS`` (Neo4j's ``org.neo4j.cli.AdminTool``, from the same Maven build) on
        this server's data folder; the server must be stopped for offline commands such as
        ``database import full``. Returns the tool's output; a failure is a StoreError with its end.
        ``on_line``: called with each line of the output as the tool writes it (its progress report)."""
        if self.is_running():
            raise StoreError(f"the Neo4j server of {self.data_dir} is running; neo4j-admin {args[0]} needs it stopped",
                             fix=f"citynet neo4j stop --data {self.data_dir}")
        java = find_java()
        if not is_installed(self.home):
            self.install()
        conf = self.data_dir / "conf"
        conf.mkdir(parents=True, exist_ok=True)
        (conf / "neo4j.conf").write_text("# written by citynet for neo4j-admin: the defaults of its launcher\n")
        env = {**os.environ, "NEO4J_HOME": str(self.data_dir), "NEO4J_CONF": str(conf),
               "JAVA_HOME": str(java.parent.parent)}
        command = [str(java), f"-Xmx{heap or self.heap}", *JVM_OPTIONS,
                   "-cp", f"{self.home / SERVER_JAR}{os.pathsep}{self.home / 'lib'}/*",
                   ADMIN_CLASS, *args]
        returncode, out = _run_streamed(command, self.data_dir, env, timeout, on_line)
        (self.data_dir / "citynet-admin.log").write_text(out)
        if returncode is None:
            raise StoreError(f"neo4j-admin {' '.join(args[:3])} ran longer than {timeout:g} s",
                             fix=f"read {self.data_dir / 'citynet-admin.log'}")
        if returncode != 0:
            raise StoreError(f"neo4j-admin {' '.join(args[:3])} failed (exit {returncode}):\n{_tail(out, 30)}",
                             fix=f"read {self.data_dir / 'citynet-admin.log'}")
        return out

    # -- life cycle --
    def install(self) -> Path:
        """Build the server jar and its libraries (no-op when already built)."""
        return install(self.home)

    def is_running(self) -> bool:
        """True when this server's process is alive."""
        if self._process is not None and self._process.poll() is not None:
            return False
        return self._pid is not None and _is_our_server(self._pid, self.data_dir)

    def start(self, timeout: float = 120) -> Neo4jServer:
        """Start the server and wait until Bolt accepts the password; a no-op when already running."""
        if self.is_running():
            return self
        previous = self._read_state()
        if previous and previous.get("pid") and _is_our_server(int(previous["pid"]), self.data_dir):
            raise StoreError(
                f"a Neo4j server already runs on data folder {self.data_dir} "
                f"(pid {previous['pid']}, {previous.get('uri')})",
                fix=f"use it (Neo4jServer.from_state), or stop it: citynet neo4j stop --data {self.data_dir}",
            )
        if len(self.password) < MIN_PASSWORD_LENGTH:
            raise StoreError(f"the Neo4j password must have at least {MIN_PASSWORD_LENGTH} characters",
                             fix="choose a longer password (--password or NEO4J_PASSWORD)")
        if self._port is not None and not port_is_free(self._port):
            raise StoreError(f"port {self._port} on 127.0.0.1 is already in use",
                             fix="choose another port (--port N), or stop the program that listens on it")
        java = find_java()
        if not is_installed(self.home):
            self.install()
        if self._port is None:
            self._port = free_port()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = [
            str(java), f"-Xms{self.heap}", f"-Xmx{self.heap}", *JVM_OPTIONS, *self.jvm_options,
            "-cp", f"{self.home / SERVER_JAR}{os.pathsep}{self.home / 'lib'}/*",
            MAIN_CLASS, "--home", str(self.data_dir), "--port", str(self._port), "--pagecache", self.page_cache,
        ]
        for key, value in {**SHUTDOWN_SETTINGS, **self.settings}.items():
            command += ["--setting", f"{key}={value}"]
        if self.stop_with_parent:
            command += ["--watch-pid", str(os.getpid())]
        elif self._watch_pid:
            command += ["--watch-pid", str(self._watch_pid)]
        env = {**os.environ, LAUNCHER_PASSWORD_ENV: self.password, "JAVA_HOME": str(java.parent.parent)}
        with open(self.log_file, "wb") as log:
            self._process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                             env=env, cwd=self.data_dir, start_new_session=True)
        self._pid = self._process.pid
        try:
            self._wait_until_ready(timeout)
        except BaseException:
            self._terminate(grace=10)
            raise
        self._write_state()
        return self

    def _wait_until_ready(self, timeout: float) -> None:
        import neo4j
        from neo4j.exceptions import AuthError, DriverError, Neo4jError

        deadline = time.monotonic() + timeout
        last_error = "no answer yet"
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                log = self._read_log()
                fix = (f"correct or drop the setting (settings={self.settings})" if BAD_SETTING_MARKER in log
                       else f"read {self.log_file} and {self.data_dir / 'logs' / 'debug.log'}")
                raise StoreError(
                    f"the Neo4j server exited during startup (exit {self._process.returncode}); "
                    f"end of {self.log_file}:\n{self.log_tail()}",
                    fix=fix,
                )
            if READY_MARKER in self._read_log():
                try:
                    with neo4j.GraphDatabase.driver(self.uri, auth=self.auth, connection_timeout=5) as driver:
                        driver.verify_connectivity()
                    return
                except (AuthError, DriverError, Neo4jError, OSError) as exc:
                    last_error = f"{type(exc).__name__}: {exc}"
            time.sleep(0.5)
        raise StoreError(
            f"the Neo4j server did not answer on {self.uri} within {timeout:g} s ({last_error}); "
            f"end of {self.log_file}:\n{self.log_tail()}",
            fix="retry with a longer timeout (--timeout), or read "
                f"{self.data_dir / 'logs' / 'debug.log'}",
        )

    def stop(self, timeout: float = 60) -> None:
        """Stop the server: SIGTERM (clean shutdown), then SIGKILL after ``timeout`` seconds.

        The state file stays, with ``pid`` null, so that the next start keeps the password."""
        if self._pid is None:
            state = self._read_state()
            self._pid = int(state["pid"]) if state and state.get("pid") else None
        if self._pid is not None:
            self._terminate(grace=timeout)
        self._pid = None
        self._process = None
        self._mark_stopped()

    def _mark_stopped(self) -> None:
        """Keep the state file (its password serves the next start) but record that no process runs."""
        state = self._read_state()
        if state is None:
            return
        state.update(pid=None, stopped_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
        self._save_state(state)

    def _terminate(self, grace: float) -> None:
        pid = self._pid
        if pid is None or not self._alive(pid):
            self._reap()
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        if not self._wait_gone(pid, grace):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            self._wait_gone(pid, 10)
        self._reap()

    def _alive(self, pid: int) -> bool:
        if self._process is not None and self._process.pid == pid:
            return self._process.poll() is None
        return _is_our_server(pid, self.data_dir)

    def _wait_gone(self, pid: int, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if not self._alive(pid):
                return True
            time.sleep(0.2)
        return not self._alive(pid)

    def _reap(self) -> None:
        if self._process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(timeout=5)

    def status(self) -> ServerStatus:
        """Whether the server of ``data_dir`` runs, and where."""
        state = self._read_state() or {}
        pid = self._pid or (int(state["pid"]) if state.get("pid") else None)
        port = self._port or (int(state["port"]) if state.get("port") else None)
        running = pid is not None and self._alive(pid)
        return ServerStatus(
            running=running,
            data_dir=str(self.data_dir),
            pid=pid if running else None,
            port=port,
            uri=f"bolt://127.0.0.1:{port}" if port else None,
            log_file=str(self.log_file) if self.log_file.exists() else None,
        )

    # -- logs --
    def _read_log(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the launcher's log (``<data_dir>/citynet-neo4j.log``) and the errors in Neo4j's debug.log."""
        parts = [_tail(self._read_log(), lines) or "(empty)"]
        debug_log = self.data_dir / "logs" / "debug.log"
        if debug_log.is_file():
            errors = [line for line in debug_log.read_text(errors="replace").splitlines() if " ERROR " in line]
            if errors:
                parts.append(f"--- errors in {debug_log}:\n" + "\n".join(errors[-lines:]))
        return "\n".join(parts)

    # -- context manager --
    def __enter__(self) -> Neo4jServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = f"bolt://127.0.0.1:{self._port}" if self._port else "no port"
        return f"Neo4jServer({str(self.data_dir)!r}, {where}, pid={self._pid})"
