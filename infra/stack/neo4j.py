"""Neo4j 5.26 community, embedded by infra/neo4j/Launcher.java, serving Bolt on 127.0.0.1:7687."""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import zipfile
from pathlib import Path

from infra.settings import credentials_path, get_settings
from infra.stack.base import (
    Progress,
    Service,
    StackError,
    StackPaths,
    require_binary,
    run,
    spawn,
)
from infra.stack.maven import copy_dependencies

BOLT_PORT = 7687
JDK_HINT = "Install a JDK 17+: apt-get install openjdk-17-jdk-headless"

# What Neo4j's own neo4j.conf passes to its JVM, minus profiling/TLS extras: netty and the page
# cache reach into java.nio internals, and without the opens they fall back to slower paths or
# fail. SerialGC (as for Kafka): no concurrent GC threads fighting over the 2 cores. The page
# cache (128 MB, set in Launcher.java) lives off-heap, on top of -Xmx.
JVM_FLAGS = [
    "-Xmx768m", "-XX:+UseSerialGC", "-XX:+ExitOnOutOfMemoryError",
    "-XX:-OmitStackTraceInFastThrow", "-XX:+DisableExplicitGC",
    "-Djdk.nio.maxCachedBufferSize=1024", "-Dio.netty.tryReflectionSetAccessible=true",
    "-Dlog4j2.disable.jmx=true", "-Dfile.encoding=UTF-8",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--enable-native-access=ALL-UNNAMED",
]


class Neo4j(Service):
    name = "neo4j"
    port = BOLT_PORT
    # Measured on a busy 2-core box: 6-9 s to first answer with the CDS archive, 12-25 s
    # without it (class loading, then the first Cypher compile); kill -9 recovery adds ~2 s.
    start_timeout = 120.0

    def __init__(self, paths: StackPaths) -> None:
        super().__init__(paths)
        self.sources = paths.repo / "infra" / "neo4j"
        self.lib = self.dir / "lib"
        # A jar, not a classes dir: CDS refuses non-empty directories on the class path.
        self.launcher_jar = self.dir / "launcher.jar"
        self.cds_archive = self.dir / "classes.jsa"
        # NEO4J_HOME of the embedded DBMS: data/ (store, tx logs) and logs/debug.log.
        self.home = self.dir / "home"
        self.stamp = self.dir / "installed.sha256"

    def _fingerprint(self) -> str:
        # Editing the pom (new version) or the launcher must trigger a re-install, not run stale
        # jars or a stale Launcher.class.
        digest = hashlib.sha256()
        for name in ("pom.xml", "Launcher.java"):
            digest.update((self.sources / name).read_bytes())
        return digest.hexdigest()

    def _neo4j_jar(self) -> Path | None:
        jars = sorted(self.lib.glob("neo4j-kernel-*.jar"))
        return jars[0] if jars else None

    def installed(self) -> bool:
        try:
            stamp = self.stamp.read_text().strip()
        except OSError:
            return False
        return (stamp == self._fingerprint() and self._neo4j_jar() is not None
                and self.launcher_jar.exists())

    def _java(self, *extra: str) -> list[str]:
        java = require_binary("java", JDK_HINT)
        return [java, *JVM_FLAGS, *extra, "-cp", f"{self.launcher_jar}:{self.lib}/*", "Launcher"]

    def install(self, progress: Progress) -> None:
        javac = require_binary("javac", JDK_HINT)
        # A running JVM would break when lib/ is swapped under it, and keep the old code anyway.
        self.stop()
        self.stamp.unlink(missing_ok=True)
        self._copy_jars(progress)
        # Compiled once here: the source launcher would recompile on every start (~1-2 s).
        progress("neo4j: compiling Launcher.java")
        classes = self.dir / "classes"
        shutil.rmtree(classes, ignore_errors=True)
        run([javac, "-nowarn", "-d", str(classes), "-cp", f"{self.lib}/*",
             str(self.sources / "Launcher.java")], log_file=self.log_file)
        with zipfile.ZipFile(self.launcher_jar, "w") as jar:
            for cls in classes.glob("*.class"):
                jar.write(cls, cls.name)
        shutil.rmtree(classes)
        self._record_cds_archive(progress)
        self.stamp.write_text(self._fingerprint())

    def _record_cds_archive(self, progress: Progress) -> None:
        """Start once and dump the loaded classes into a CDS archive.

        The run uses the real store, so on a fresh install it also creates the system database
        and sets the credentials, which makes the first real start as quick as later ones.

        Measured on the busy 2-core box: `stack up` takes ~6 s instead of 12-15 s. Best effort:
        without the archive (or with one the JVM rejects, e.g. after a JDK upgrade, which it
        only warns about) Neo4j still starts, just slower.
        """
        progress("neo4j: recording a class-data-sharing archive for faster starts (~30 s)")
        self.cds_archive.unlink(missing_ok=True)
        with socket.socket() as sock:  # any free port: 7687 may be held by a stranger
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        cmd = self._java(f"-XX:ArchiveClassesAtExit={self.cds_archive}", "-Xlog:cds=error")
        try:
            with self.log_file.open("a") as log:
                code = subprocess.run([*cmd, str(self.home), str(port), "--exit-when-started"],
                                      stdout=log, stderr=subprocess.STDOUT, check=False,
                                      env={**os.environ, **self._env()}, timeout=300).returncode
        except subprocess.TimeoutExpired:
            code = -1
        if code != 0 or not self.cds_archive.exists():
            self.cds_archive.unlink(missing_ok=True)
            progress(f"neo4j: no CDS archive (exit {code}, see {self.log_file}); slower starts")

    def _copy_jars(self, progress: Progress) -> None:
        mvn = require_binary("mvn", "Install Maven 3.8+: apt-get install maven")
        # Copy into a scratch dir and swap at the end: an interrupted download never leaves a
        # half-filled lib/, and a version bump leaves no old jars on the classpath.
        tmp = self.dir / "lib.partial"
        shutil.rmtree(tmp, ignore_errors=True)
        progress("neo4j: fetching jars with Maven (first time: ~120 MB, a minute or two)")
        copy_dependencies(mvn, self.sources / "pom.xml", tmp, self.paths.cache / "m2",
                          self.log_file, progress, "neo4j")
        shutil.rmtree(self.lib, ignore_errors=True)
        tmp.rename(self.lib)
        progress(f"neo4j: {len(list(self.lib.glob('*.jar')))} jars in {self.lib}")

    def start(self) -> None:
        cds = [f"-XX:SharedArchiveFile={self.cds_archive}"] if self.cds_archive.exists() else []
        # No stale-lock cleanup needed after kill -9: Neo4j's store_lock is an OS file lock
        # that dies with the process, and recovery replays the transaction log on open.
        cmd = [*self._java(*cds), str(self.home), str(self.port)]
        spawn(cmd, log_file=self.log_file, pid_file=self.pid_file, env=self._env(), cwd=self.dir)

    def _env(self) -> dict[str, str]:
        # Credentials travel in the environment, not argv, so `ps` does not show them.
        settings = get_settings()
        if not settings.neo4j_password:
            raise StackError("NEO4J_PASSWORD is empty: run `tracktion stack up`, which "
                             f"generates it into {credentials_path()}")
        return {"NEO4J_USER": settings.neo4j_user, "NEO4J_PASSWORD": settings.neo4j_password}

    def _query(self, cypher: str) -> list[dict[str, object]]:
        from neo4j import GraphDatabase  # deferred: only ping/version need the driver

        settings = get_settings()
        # Plain TCP first: a refused connect is the common case while `stack up` polls, and
        # finding it out costs far less than building a driver and its connection pool.
        with socket.create_connection(("127.0.0.1", self.port), timeout=2.0):
            pass
        with GraphDatabase.driver(f"bolt://127.0.0.1:{self.port}",
                                  auth=(settings.neo4j_user, settings.neo4j_password),
                                  connection_timeout=3.0, connection_acquisition_timeout=5.0,
                                  ) as driver, driver.session(database="neo4j") as session:
            # session.run, not execute_query: no retries, a failure must surface at once.
            return [record.data() for record in session.run(cypher)]

    def ping(self) -> None:
        from neo4j.exceptions import AuthError

        try:
            rows = self._query("RETURN 1 AS ok")
        except AuthError:
            return  # it answered; after_up() restarts it, which sets the current password
        if rows != [{"ok": 1}]:
            raise StackError(f"neo4j answered RETURN 1 with {rows!r}")

    def after_up(self, progress: Progress) -> bool:
        """True (restart) while it still has a password other than NEO4J_PASSWORD's."""
        from neo4j.exceptions import AuthError

        try:
            self._query("RETURN 1 AS ok")
        except AuthError:
            return True
        return False

    def version(self) -> str:
        rows = self._query("CALL dbms.components() YIELD versions, edition "
                           "RETURN versions[0] AS version, edition")
        if not rows:
            raise StackError("neo4j returned no dbms.components()")
        return f"{rows[0]['version']} {rows[0]['edition']}"
