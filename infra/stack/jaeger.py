"""Jaeger v2 built from source with Go: OTLP in on 127.0.0.1:4317/4318, query API on :16686."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
import urllib.request
from pathlib import Path

from infra.stack.base import Progress, Service, StackError, require_binary, run, spawn

QUERY_PORT = 16686
OTLP_GRPC_PORT = 4317
OTLP_HTTP_PORT = 4318
# Jaeger tags each release twice on one commit: v2.x.y for the product, v1.(x+63).y so far for
# the Go module (its path has no /v2, so the proxy refuses v2 tags; it refuses bare commits too).
# infra/jaeger/go.mod pins the module; keep this in step with it when bumping.
JAEGER_VERSION = "v2.13.0"
JAEGER_PACKAGE = "github.com/jaegertracing/jaeger/cmd/jaeger"
# Release builds stamp the version with -X (otherwise `jaeger version` prints an empty one).
# -s -w drop symbols/DWARF (smaller binary); -trimpath keeps the binary independent of GOPATH.
BUILD_FLAGS = ["-trimpath", "-ldflags",
               f"-s -w -X github.com/jaegertracing/jaeger/internal/version.latestVersion="
               f"{JAEGER_VERSION}"]
MAX_LOG_BYTES = 20 * 1024 * 1024


class Jaeger(Service):
    """Jaeger v2 all-in-one with in-memory storage, configured by infra/jaeger/config.yaml.

    Receives OTLP over gRPC on 127.0.0.1:4317 and over HTTP on 127.0.0.1:4318; serves the query
    HTTP API (/api/services, /api/traces?service=..., /api/traces/{id}) on 127.0.0.1:16686 and
    query gRPC on 127.0.0.1:16685. No other port is opened. Traces do not survive a restart.

    `go install jaeger@vX` is impossible (v2 tags are refused and v1 tags carry `replace`
    directives), so infra/jaeger holds a tiny module of ours whose go.mod lists jaeger's binary
    as a `tool`; `go build <package>` inside it builds the real main package with our module
    graph, where the dependency's `replace` directives are simply ignored.
    """

    name = "jaeger"
    port = QUERY_PORT
    # A Go binary: it answers within a second or two even on a busy box.
    start_timeout = 30.0

    @property
    def module_dir(self) -> Path:
        return self.paths.repo / "infra" / "jaeger"

    @property
    def config(self) -> Path:
        return self.module_dir / "config.yaml"

    @property
    def binary(self) -> Path:
        return self.dir / "bin" / "jaeger"

    @property
    def _stamp(self) -> Path:
        return self.binary.with_name("jaeger.build")

    def _build_id(self) -> str:
        """Hash of what the binary is built from: a changed pin or flag triggers a rebuild."""
        digest = hashlib.sha256(" ".join(BUILD_FLAGS).encode())
        for name in ("go.mod", "go.sum"):
            digest.update((self.module_dir / name).read_bytes())
        return digest.hexdigest()

    def _go_env(self) -> dict[str, str]:
        gopath = self.paths.cache / "go"
        # Caches live under <state>/cache, which `stack down` keeps: a rebuild after the state
        # of one service is wiped takes seconds instead of 5-8 minutes.
        return {
            "GOPATH": str(gopath),
            "GOMODCACHE": str(gopath / "pkg" / "mod"),
            "GOCACHE": str(gopath / "build"),
            # Never let go.mod's `go` line trigger a toolchain download: fail with a clear error.
            "GOTOOLCHAIN": "local",
            # go.sum is committed; a build must not rewrite it. modcacherw lets `rm -rf` clean up.
            "GOFLAGS": "-mod=readonly -modcacherw",
            # Pure Go: no C compiler needed, and the binary is static.
            "CGO_ENABLED": "0",
        }

    def installed(self) -> bool:
        try:
            return self.binary.exists() and self._stamp.read_text() == self._build_id()
        except OSError:
            return False

    def install(self, progress: Progress) -> None:
        go = require_binary("go", "Install Go 1.24.6 or newer and put it on PATH.")
        self.binary.parent.mkdir(parents=True, exist_ok=True)
        env = self._go_env()
        progress("jaeger: downloading Go modules (first time: ~1.2 GB, up to a minute)")
        run([go, "mod", "download"], env=env, cwd=self.module_dir, log_file=self.log_file)
        progress("jaeger: compiling ~2300 packages (first time 5-8 min on 2 cores; cached: secs)")
        # Build to a scratch name and rename, so an interrupted build never looks installed.
        partial = self.binary.with_name("jaeger.partial")
        cmd = [go, "build", "-v", *BUILD_FLAGS, "-o", str(partial), JAEGER_PACKAGE]
        with self.log_file.open("a") as log:
            log.write(f"$ {' '.join(cmd)}\n")
            proc = subprocess.Popen(cmd, cwd=self.module_dir, env={**os.environ, **env},
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, text=True)
            assert proc.stdout is not None
            last = time.monotonic()
            for compiled, line in enumerate(proc.stdout, start=1):
                log.write(line)
                # -v prints one line per package compiled; a heartbeat every 20 s shows the
                # build is moving without flooding the terminal with 2300 lines.
                if time.monotonic() - last > 20:
                    progress(f"jaeger: compiled {compiled} packages so far")
                    last = time.monotonic()
            if proc.wait() != 0:
                raise StackError(f"building Jaeger failed; see {self.log_file}")
        partial.replace(self.binary)
        self._stamp.write_text(self._build_id())
        progress(f"jaeger: built {self.binary} ({self.binary.stat().st_size >> 20} MiB)")

    def start(self) -> None:
        # spawn only ever appends to the log; keep one old generation.
        if self.log_file.exists() and self.log_file.stat().st_size > MAX_LOG_BYTES:
            self.log_file.replace(self.log_file.with_suffix(".log.1"))
        # An explicit --config matters: without one jaeger runs its embedded all-in-one config,
        # which opens a dozen more receivers and admin ports.
        spawn([str(self.binary), "--config", str(self.config)],
              log_file=self.log_file, pid_file=self.pid_file, cwd=self.dir)

    def ping(self) -> None:
        url = f"http://127.0.0.1:{QUERY_PORT}/api/services"
        with urllib.request.urlopen(url, timeout=2.0) as resp:
            status, body = resp.status, resp.read()
        if status != 200:
            raise StackError(f"jaeger: GET {url} answered HTTP {status}")
        # Another program on 16686 would not answer with the query API's envelope; with no
        # traces stored yet "data" is null, not an empty list.
        payload = json.loads(body)
        if not isinstance(payload, dict) or "data" not in payload:
            raise StackError(f"jaeger: GET {url} returned unexpected JSON: {body[:200]!r}")

    def version(self) -> str:
        if not self.binary.exists():
            raise StackError(f"no binary at {self.binary}; run `tracktion stack up jaeger`")
        # Prints {"gitCommit":"","gitVersion":"v2.13.0","buildDate":""} on stdout.
        out = run([str(self.binary), "version"]).stdout
        return str(json.loads(out).get("gitVersion") or JAEGER_VERSION)

