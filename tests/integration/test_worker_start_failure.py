"""A worker whose role fails while starting exits 1 promptly and releases what it took.

The analysis role starts its process pool before the Faust app; when the app then fails
(here: its data directory cannot be created), the worker used to log the traceback and hang
forever on the pool's children, looking alive to a supervisor while consuming nothing.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

from streams.ops.worker_process import WorkerProcess
from tests.e2e.support import free_port

SERVICES = ("kafka", "redis")
CREATE_TOPICS = False  # the role creates its topics before it fails
EXIT_WITHIN_S = 60


def events(log_path: Path) -> list[dict[str, object]]:
    out = []
    for line in log_path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


def exit_code_of(worker: WorkerProcess) -> int:
    """Start a worker expected to fail at start-up; its exit code within EXIT_WITHIN_S."""
    worker.start()
    assert worker.proc is not None
    try:
        return worker.proc.wait(timeout=EXIT_WITHIN_S)
    finally:
        worker.stop_quietly()


def test_role_start_failure_exits_1_and_stops_the_pool(prefix: str, tmp_path: Path) -> None:
    not_a_dir = tmp_path / "state"
    not_a_dir.write_text("a file where the state directory should be")
    log_path = tmp_path / "worker.log"
    code = exit_code_of(WorkerProcess("analysis", prefix, log_path, port=free_port(),
                                      env={"STACK_DIR": str(not_a_dir),
                                           "ANALYSIS_MAX_WORKERS": "2"}))
    names = [e.get("event") for e in events(log_path)]
    assert code == 1, f"exit code {code}; log: {log_path.read_text()[-2000:]}"
    assert "role_start_failed" in names, names
    assert "worker_started" not in names, names
    failure = next(e for e in events(log_path) if e.get("event") == "role_start_failed")
    assert failure["role"] == "analysis"
    assert "state" in str(failure["error"]), failure


def test_a_web_port_in_use_exits_1_with_what_to_do(prefix: str, tmp_path: Path) -> None:
    # Before: a 90-line traceback ending in "address already in use".
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        log_path = tmp_path / "worker.log"
        code = exit_code_of(WorkerProcess("analysis", prefix, log_path, port=port))
    text = log_path.read_text(errors="replace")
    assert code == 1, text[-2000:]
    assert "Traceback" not in text, text[-2000:]
    (failure,) = [e for e in events(log_path) if e.get("event") == "web_start_failed"]
    assert f"127.0.0.1:{port} is already in use" in str(failure["error"]), failure
    assert "--port" in str(failure["error"]), failure


def test_a_bridge_that_cannot_reach_rabbitmq_exits_without_waiting_or_leaking(
        prefix: str, tmp_path: Path) -> None:
    log_path = tmp_path / "worker.log"
    code = exit_code_of(WorkerProcess(
        "bridge", prefix, log_path, port=free_port(),
        env={"RABBITMQ_URL": f"amqp://tracktion:tracktion@127.0.0.1:{free_port()}/tracktion"}))
    text = log_path.read_text(errors="replace")
    assert code == 1, text[-2000:]
    names = [e.get("event") for e in events(log_path)]
    assert "role_start_failed" in names, names
    # Before: its stop waited 30 s for a forwarding loop that never ran, the worker's grace
    # ran out (role_stop_timeout) and the Kafka producer was never closed.
    assert "role_stop_timeout" not in names, names
    assert "Unclosed AIOKafkaProducer" not in text, text[-2000:]
