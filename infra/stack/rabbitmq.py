"""RabbitMQ 3.10 from Debian's rabbitmq-server, node tracktion@localhost under .stack/rabbitmq."""

from __future__ import annotations

import subprocess
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import aio_pika
from aiormq.exceptions import ConnectionNotAllowed, ProbableAuthenticationError

from infra import credentials
from infra.settings import get_settings
from infra.stack._asyncping import port_open, run_probe, wait_port
from infra.stack.base import (
    Progress,
    Service,
    StackError,
    pid_alive,
    read_pid,
    require_binary,
    run,
    spawn,
)

# The package's scripts, not the /usr/sbin wrappers: those `su rabbitmq` and redirect output to
# /var/log/rabbitmq, which would hide our log and make the recorded PID a shell's.
RABBIT_BIN = Path("/usr/lib/rabbitmq/bin")
MANAGEMENT_GLOB = "rabbitmq_server-*/plugins/rabbitmq_management-*"
GUEST_URL = "amqp://guest:guest@127.0.0.1:{port}/"
# Refused logins: the broker answered (ping), but these credentials do not (or no longer) work.
REFUSED = (ProbableAuthenticationError, ConnectionNotAllowed)
EPMD_PORT = 4369
DIST_PORT = 25672
MANAGEMENT_PORT = 15672
# Erlang distribution listeners (server and CLI nodes) bind 0.0.0.0 unless told otherwise.
LOOPBACK_DIST = "-kernel inet_dist_use_interface {127,0,0,1}"


class RabbitMQ(Service):
    name = "rabbitmq"
    port = 5672
    # Usually up in 5-15 s; the first boot also creates the Mnesia schema and expands plugins.
    start_timeout = 90.0

    @property
    def epmd_pid_file(self) -> Path:
        return self.dir / "epmd.pid"

    def env(self) -> dict[str, str]:
        """Environment for rabbitmq-server and rabbitmqctl alike (node name, cookie, paths)."""
        return {
            "HOME": str(self.dir),  # the Erlang cookie is $HOME/.erlang.cookie
            "RABBITMQ_NODENAME": "tracktion@localhost",
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(DIST_PORT),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "ERL_EPMD_PORT": str(EPMD_PORT),
            # Keep /etc/rabbitmq/rabbitmq-env.conf (system node settings) out of our node.
            "RABBITMQ_CONF_ENV_FILE": str(self.dir / "rabbitmq-env.conf"),
            "RABBITMQ_CONFIG_FILE": str(self.dir / "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.dir / "advanced.config"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.dir / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(self.dir / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.dir / "log"),
            "RABBITMQ_LOGS": "-",  # stdout, i.e. the log file spawn() appends to
            # ALLOW_INPUT makes rabbitmq-server `exec erl` (which execs beam.smp) instead of
            # running it as a background child of a trapping shell, so the PID spawn() records
            # is the VM itself; -noinput then keeps the Erlang shell off /dev/null as before.
            "RABBITMQ_ALLOW_INPUT": "true",
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": f"-noinput {LOOPBACK_DIST}",
            "RABBITMQ_CTL_ERL_ARGS": LOOPBACK_DIST,
        }

    def _files(self) -> dict[str, str]:
        has_management = any(Path("/usr/lib/rabbitmq/lib").glob(MANAGEMENT_GLOB))
        plugins = "[rabbitmq_management]." if has_management else "[]."
        return {
            "rabbitmq-env.conf": "# Empty on purpose: see infra/stack/rabbitmq.py.\n",
            "rabbitmq.conf": "\n".join([
                "# Managed by infra/stack/rabbitmq.py; rewritten whenever it differs.",
                f"listeners.tcp.default = 127.0.0.1:{self.port}",
                "management.tcp.ip = 127.0.0.1",
                f"management.tcp.port = {MANAGEMENT_PORT}",
                # guest is deleted once the app user exists (after_up); were it ever re-created
                # by a blank node's first boot, it would still work over loopback only.
                "loopback_users.guest = true",
                "",
            ]),
            "enabled_plugins": plugins + "\n",
        }

    def installed(self) -> bool:
        try:
            return all((self.dir / n).read_text() == t for n, t in self._files().items())
        except OSError:
            return False

    def install(self, progress: Progress) -> None:
        if not (RABBIT_BIN / "rabbitmq-server").exists():
            raise StackError("rabbitmq-server missing: apt-get install rabbitmq-server")
        require_binary("epmd", "apt-get install erlang-base")
        progress("rabbitmq: writing rabbitmq.conf and enabled_plugins")
        for name, text in self._files().items():
            (self.dir / name).write_text(text)

    def pids(self) -> list[int]:
        # Server first, so the inherited stop() terminates it before the epmd it registered with.
        epmd = read_pid(self.epmd_pid_file)
        return super().pids() + ([epmd] if epmd is not None else [])

    def running(self) -> bool:
        # A lone epmd (left after the broker was killed) is not a running broker.
        pid = read_pid(self.pid_file)
        return pid is not None and pid_alive(pid)

    def start(self) -> None:
        self._start_epmd()
        spawn([str(RABBIT_BIN / "rabbitmq-server")], log_file=self.log_file,
              pid_file=self.pid_file, env=self.env(), cwd=self.dir)

    def _start_epmd(self) -> None:
        """Run our own loopback-only epmd in the foreground, so it has a PID we can stop.

        Left to itself the VM would launch `epmd -daemon`, which we could not track. An epmd
        already answering (ours, or a system one) is reused: nodes share it by design.
        """
        pid = read_pid(self.epmd_pid_file)
        if (pid is not None and pid_alive(pid)) or port_open(EPMD_PORT):
            return
        epmd = require_binary("epmd", "apt-get install erlang-base")
        pid = spawn([epmd, "-address", "127.0.0.1", "-port", str(EPMD_PORT)],
                    log_file=self.dir / "epmd.log", pid_file=self.epmd_pid_file, cwd=self.dir)
        # The VM must find it listening, or it starts an untracked `epmd -daemon` of its own.
        if not wait_port(EPMD_PORT, 5.0, lambda: pid_alive(pid)):
            raise StackError(f"epmd not up on 127.0.0.1:{EPMD_PORT}; see {self.dir}/epmd.log")

    def stop(self) -> None:
        super().stop()
        self.epmd_pid_file.unlink(missing_ok=True)

    def ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run `rabbitmqctl ARGS` against our node (it needs the same node name and cookie)."""
        return run([str(RABBIT_BIN / "rabbitmqctl"), *args], env=self.env(), cwd=self.dir,
                   check=check)

    def _server_properties(self) -> dict[str, object]:
        # A plain TCP check first: aio_pika logs every refused connect as an error, which would
        # spam the terminal once per poll while the broker boots.
        if not port_open(self.port):
            raise ConnectionRefusedError(f"nothing listens on 127.0.0.1:{self.port}")

        async def probe() -> dict[str, object]:
            conn = await aio_pika.connect(self._app_url(), timeout=3)
            try:
                channel = await conn.channel()
                await channel.close()
                transport = conn.transport
                assert transport is not None  # set by a successful connect
                return dict(transport.connection.server_properties)
            finally:
                await conn.close()

        return run_probe(probe, timeout=3)

    def _app_url(self) -> str:
        url = urlsplit(get_settings().rabbitmq_url)
        user, password = credentials.login("RABBITMQ_URL")
        netloc = f"{user}:{password}@127.0.0.1:{self.port}"
        return urlunsplit(url._replace(netloc=netloc))

    def _logs_in(self, url: str) -> bool:
        async def probe() -> bool:
            try:
                conn = await aio_pika.connect(url, timeout=3)
            except REFUSED:
                return False
            await conn.close()
            return True

        return run_probe(probe, timeout=5)

    def ping(self) -> None:
        try:
            self._server_properties()
        except REFUSED:
            return  # the broker answered; after_up() creates the app user and vhost

    def _listed(self, command: str) -> list[str]:
        return self.ctl(command, "--quiet", "--no-table-headers").stdout.split()

    def after_up(self, progress: Progress) -> bool:
        """The app's own user and vhost exist, and `guest` (an administrator) does not."""
        app_url, guest_url = self._app_url(), GUEST_URL.format(port=self.port)
        if self._logs_in(app_url) and not self._logs_in(guest_url):
            return False
        url = urlsplit(app_url)
        user, password, vhost = url.username or "", url.password or "", url.path.lstrip("/")
        progress(f"rabbitmq: user {user!r} on vhost {vhost!r}, removing guest")
        users = self._listed("list_users")  # "name [tags]" rows: names are among the words
        if vhost and vhost not in self._listed("list_vhosts"):
            self.ctl("add_vhost", vhost)
        if user in users:
            self.ctl("change_password", user, password)
        else:
            self.ctl("add_user", user, password)
        self.ctl("set_permissions", "-p", vhost or "/", user, ".*", ".*", ".*")
        if "guest" in users:
            self.ctl("delete_user", "guest")
        if not self._logs_in(app_url) or self._logs_in(guest_url):
            raise StackError(f"rabbitmq: provisioning {user!r} did not take. Log: {self.log_file}")
        return False

    def version(self) -> str:
        value = self._server_properties().get("version", "?")
        return value.decode() if isinstance(value, bytes) else str(value)
