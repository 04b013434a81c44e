"""Redis 7 from Debian's redis-server, append-only, under .stack/redis on 127.0.0.1:6379."""

from __future__ import annotations

import redis as redis_client
from redis.backoff import NoBackoff
from redis.exceptions import AuthenticationError, ResponseError
from redis.retry import Retry

from infra import credentials
from infra.stack.base import Progress, Service, require_binary, spawn

# The application's ACL user may run every data command on every key, but no @admin command
# (CONFIG, SHUTDOWN, DEBUG, MONITOR, ACL, REPLICAOF, SAVE...) and no FLUSHALL/FLUSHDB/KEYS:
# a leaked password cannot reconfigure the server, read other users, or wipe it in one call.
APP_RULES = "~* &* +@all -@admin -flushall -flushdb -keys"


def app_login() -> tuple[str, str]:
    return credentials.login("REDIS_URL")


class Redis(Service):
    name = "redis"
    port = 6379
    start_timeout = 30.0

    @property
    def config_file(self) -> str:
        return str(self.dir / "redis.conf")

    def _config(self) -> str:
        return "\n".join([
            "# Managed by infra/stack/redis.py; rewritten whenever it differs.",
            "bind 127.0.0.1",
            # With bind set and no password, protected mode changes nothing, but keeps a stray
            # `bind *` edit from exposing an unauthenticated server.
            "protected-mode yes",
            # Nobody without a password: the default user is off, the app has its own user.
            "user default off",
            "user {} on >{} {}".format(*app_login(), APP_RULES),
            f"port {self.port}",
            "daemonize no",  # the PID we record must be the server itself
            "supervised no",
            'logfile ""',  # stdout, i.e. the log file spawn() appends to
            f"dir {self.dir}",
            # The AOF alone gives durability across kill -9 (at most ~1 s lost); RDB snapshots
            # on top would only add fork spikes on a 2-core machine.
            "appendonly yes",
            "appendfsync everysec",
            'save ""',
            "aof-load-truncated yes",  # a kill -9 mid-write must not block the next start
            "",
        ])

    def installed(self) -> bool:
        try:
            return (self.dir / "redis.conf").read_text() == self._config()
        except OSError:
            return False

    def install(self, progress: Progress) -> None:
        require_binary("redis-server", "apt-get install redis-server")
        progress("redis: writing redis.conf")
        (self.dir / "redis.conf").write_text(self._config())

    def start(self) -> None:
        server = require_binary("redis-server", "apt-get install redis-server")
        spawn([server, self.config_file], log_file=self.log_file, pid_file=self.pid_file,
              cwd=self.dir)

    def _client(self, *, anonymous: bool = False) -> redis_client.Redis:
        # No retries: redis-py's default retry-with-backoff turns one refused connection into a
        # ~4.5 s ping, which stack up pays before and after every start.
        user, password = (None, None) if anonymous else app_login()
        return redis_client.Redis(host="127.0.0.1", port=self.port, socket_timeout=2,
                                  username=user, password=password,
                                  socket_connect_timeout=2, retry=Retry(NoBackoff(), 0))

    def ping(self) -> None:
        try:
            with self._client() as client:
                if client.ping() is not True:
                    raise ConnectionError("redis answered PING without PONG")
        except AuthenticationError:
            return  # the server answered; after_up() restarts it with the current redis.conf

    def after_up(self, progress: Progress) -> bool:
        """True (restart) while the running server still has an older redis.conf's users."""
        try:
            with self._client() as client:
                client.ping()
        except AuthenticationError:
            return True
        try:
            with self._client(anonymous=True) as client:
                client.ping()
        except (AuthenticationError, ResponseError):
            return False  # NOAUTH: anonymous clients are refused, as they must be
        return True

    def version(self) -> str:
        with self._client() as client:
            info = client.info("server")
        return str(info["redis_version"])
