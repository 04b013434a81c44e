"""PostgreSQL 15 from Debian's postgresql-15, as a private cluster under .stack/postgres."""

from __future__ import annotations

import os
import pwd
import signal
import time
from pathlib import Path

import asyncpg

from infra import credentials
from infra.stack._asyncping import run_probe
from infra.stack.base import (
    Progress,
    Service,
    StackError,
    pid_alive,
    read_pid,
    run,
    spawn,
    tail,
    terminate,
)

PG_BIN = Path("/usr/lib/postgresql/15/bin")
DATABASE = "tracktion"
# Owns the database (and so its `public` schema) without being able to log in. The app's
# login role gets only CONNECT, CREATE and TEMPORARY on it: it creates, and so owns, just its
# own schemas (one per namespace), and is no superuser: no pg_read_file, COPY ... PROGRAM,
# ALTER SYSTEM or other roles' data.
DATABASE_OWNER = "tracktion_owner"
OS_USER_WHEN_ROOT = "postgres"
# Written last by install(): a cluster whose provisioning was interrupted is finished next time.
MARKER = "provisioned"


class Postgres(Service):
    name = "postgres"
    port = 5432
    start_timeout = 60.0

    @property
    def data(self) -> Path:
        return self.dir / "data"

    @property
    def _user(self) -> str | None:
        # The server refuses to run as root: root hands the cluster to Debian's `postgres`.
        return OS_USER_WHEN_ROOT if os.geteuid() == 0 else None

    def _as_owner(self, cmd: list[str]) -> list[str]:
        # runuser (util-linux) sets uid, gid and groups alike, unlike Popen(user=).
        return ["runuser", "-u", self._user, "--", *cmd] if self._user else cmd

    def _config(self) -> str:
        return "\n".join([
            "# Managed by infra/stack/postgres.py; rewritten on install.",
            "listen_addresses = '127.0.0.1'",
            f"port = {self.port}",
            # Debian's default socket dir /var/run/postgresql may not exist (no package service).
            f"unix_socket_directories = '{self.dir}'",
            "shared_buffers = 128MB",
            "log_line_prefix = '%m [%p] %q%u@%d '",
            "",
        ])

    def installed(self) -> bool:
        return (self.data / "PG_VERSION").exists() and (self.dir / MARKER).exists()

    def install(self, progress: Progress) -> None:
        if not (PG_BIN / "postgres").exists():
            raise StackError(f"{PG_BIN}/postgres missing: apt-get install postgresql-15")
        if not (self.data / "PG_VERSION").exists():
            progress("postgres: initdb")
            self.data.mkdir(mode=0o700, exist_ok=True)
            if self._user:
                # The service dir holds the socket and lock file, so the server must write there.
                entry = pwd.getpwnam(self._user)
                for path in (self.dir, self.data):
                    os.chown(path, entry.pw_uid, entry.pw_gid)
            # C.UTF-8 (not C) so pg_trgm treats accented letters in titles as word characters.
            utf8 = Path("/usr/lib/locale/C.utf8").exists()
            locale = ["--locale=C.UTF-8"] if utf8 else ["--no-locale"]
            run(self._as_owner([str(PG_BIN / "initdb"), "-D", str(self.data), "-E", "UTF8", *locale,
                                "--auth-local=peer", "--auth-host=scram-sha-256"]),
                cwd=self.dir, log_file=self.log_file)
        if not self.running():
            self.start()
        self._wait_socket()
        progress("postgres: creating the roles and database 'tracktion'")
        self._provision()
        (self.dir / MARKER).write_text("role, database and pg_trgm created\n")

    def _write_config(self) -> None:
        # Written by hand: pg_conftool has produced configs this server refuses to parse.
        conf_d = self.data / "conf.d"
        conf_d.mkdir(exist_ok=True)
        (conf_d / "tracktion.conf").write_text(self._config())
        main = self.data / "postgresql.conf"
        text = main.read_text()
        if "\ninclude_dir = 'conf.d'" not in text:
            main.write_text(text + "\ninclude_dir = 'conf.d'\n")
        if self._user:
            entry = pwd.getpwnam(self._user)
            for path in (conf_d, conf_d / "tracktion.conf", main):
                os.chown(path, entry.pw_uid, entry.pw_gid)

    def _wait_socket(self) -> None:
        # As the cluster owner: as root, pg_isready's probe logs 'role "root" does not exist'.
        ready = self._as_owner([str(PG_BIN / "pg_isready"), "-q", "-h", str(self.dir),
                                "-p", str(self.port), "-d", "postgres"])
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if run(ready, check=False).returncode == 0:
                return
            if not self.running():
                break
            time.sleep(0.3)
        raise StackError(f"postgres did not start. Log: {self.log_file}\n{tail(self.log_file, 15)}")

    def _psql(self, sql: str, database: str = "postgres") -> str:
        cmd = [str(PG_BIN / "psql"), "-X", "-v", "ON_ERROR_STOP=1", "-tA", "-h", str(self.dir),
               "-p", str(self.port), "-d", database, "-c", sql]
        return run(self._as_owner(cmd), cwd=self.dir).stdout.strip()

    def _provision(self) -> None:
        """Idempotent: also demotes the SUPERUSER app role of installs made before."""
        user, password = app_login()
        for role, options in ((DATABASE_OWNER, "NOLOGIN"),
                              (user, f"LOGIN PASSWORD '{password}'")):
            exists = self._psql(f"SELECT 1 FROM pg_roles WHERE rolname = '{role}'")
            verb = "ALTER" if exists else "CREATE"
            self._psql(f"{verb} ROLE {role} {options} NOSUPERUSER NOCREATEDB NOCREATEROLE "
                       "NOREPLICATION NOBYPASSRLS")
        if self._psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'"):
            self._psql(f"ALTER DATABASE {DATABASE} OWNER TO {DATABASE_OWNER}")
        else:
            self._psql(f"CREATE DATABASE {DATABASE} OWNER {DATABASE_OWNER}")
        self._psql(f"REVOKE ALL ON DATABASE {DATABASE} FROM PUBLIC")
        self._psql(f"GRANT CONNECT, CREATE, TEMPORARY ON DATABASE {DATABASE} TO {user}")
        # pg_trgm (fuzzy title search) as the superuser, once; the app's migration then finds it.
        self._psql("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public", database=DATABASE)

    def after_up(self, progress: Progress) -> bool:
        if self._app_role_is_least_privileged():
            return False
        progress("postgres: provisioning the application role (no superuser, own schemas only)")
        self._provision()
        if not self._app_role_is_least_privileged():
            raise StackError("postgres: the application role is still refused or privileged "
                             f"after provisioning. Log: {self.log_file}")
        return False

    def _app_role_is_least_privileged(self) -> bool:
        try:
            privileged = self._query(
                "SELECT rolsuper OR rolcreatedb OR rolcreaterole OR rolbypassrls "
                "FROM pg_roles WHERE rolname = current_user")
        except (asyncpg.InvalidPasswordError, asyncpg.InvalidAuthorizationSpecificationError):
            return False
        return privileged == "False"

    def start(self) -> None:
        self._write_config()  # every start, so edits to _config() apply without a re-install
        self._await_dead_postmaster()
        spawn([str(PG_BIN / "postgres"), "-D", str(self.data)], log_file=self.log_file,
              pid_file=self.pid_file, cwd=self.dir, user=self._user)

    def _await_dead_postmaster(self, timeout: float = 15.0) -> None:
        """Clear what a SIGKILLed postmaster (or a reboot) leaves behind, so the server starts.

        Its children stay attached to the shared memory named in postmaster.pid until they
        notice it died: wait for them. The server also refuses while the lock's PID exists at
        all (a zombie init has not reaped yet, or a PID reused after a reboot): drop the locks.
        """
        lock = self.data / "postmaster.pid"
        try:
            lines = lock.read_text().splitlines()
            old, shmid = int(lines[0]), int(lines[6].split()[1])
        except (OSError, IndexError, ValueError):
            return
        deadline = time.monotonic() + timeout
        while _shm_attached(shmid) and time.monotonic() < deadline:
            if _live_postgres(old):
                return
            time.sleep(0.2)
        if not (_live_postgres(old) or _shm_attached(shmid)) and Path(f"/proc/{old}").exists():
            for stale in (lock, self.dir / f".s.PGSQL.{self.port}.lock"):  # both name the PID
                stale.unlink(missing_ok=True)

    def stop(self) -> None:
        # SIGTERM is PostgreSQL's "smart" shutdown, which waits for every pooled client to
        # disconnect; SIGINT is "fast" (rolls back sessions, checkpoints, exits).
        pid = read_pid(self.pid_file)
        if pid is not None and pid_alive(pid):
            os.kill(pid, signal.SIGINT)
            terminate(pid)
        self.pid_file.unlink(missing_ok=True)

    def _query(self, sql: str) -> str:
        async def probe() -> str:
            user, password = app_login()
            conn = await asyncpg.connect(host="127.0.0.1", port=self.port, user=user,
                                         password=password, database=DATABASE, timeout=2)
            try:
                return str(await conn.fetchval(sql))
            finally:
                await conn.close()

        return run_probe(probe, timeout=3)

    def ping(self) -> None:
        try:
            self._query("SELECT 1")
        except (asyncpg.InvalidPasswordError, asyncpg.InvalidAuthorizationSpecificationError):
            return  # the server answered; after_up() provisions the application role

    def version(self) -> str:
        return self._query("SHOW server_version")


def app_login() -> tuple[str, str]:
    return credentials.login("DATABASE_URL")


def _live_postgres(pid: int) -> bool:
    try:
        return pid_alive(pid) and Path(f"/proc/{pid}/comm").read_text().strip() == "postgres"
    except OSError:
        return False


def _shm_attached(shmid: int) -> bool:
    """True while a process is attached to SysV segment `shmid` (columns: key shmid .. nattch)."""
    try:
        rows = Path("/proc/sysvipc/shm").read_text().splitlines()[1:]
    except OSError:
        return False
    return any(int(r.split()[1]) == shmid and int(r.split()[6]) > 0 for r in rows)
