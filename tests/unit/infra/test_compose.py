"""The docker-compose file offers the same services and ports as the local stack, loopback only."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import yaml

from infra.stack.manager import SERVICE_MODULES

COMPOSE = Path(__file__).parents[3] / "infra" / "docker-compose.yaml"


def test_compose_has_every_stack_service_on_loopback() -> None:
    doc = yaml.safe_load(COMPOSE.read_text())
    assert set(doc["services"]) == set(SERVICE_MODULES)
    for name, service in doc["services"].items():
        assert service.get("image"), name
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"


def test_compose_config_parses_with_the_docker_client_when_it_has_compose() -> None:
    docker = shutil.which("docker")
    probe = subprocess.run([docker, "compose", "version"], capture_output=True, text=True,
                           check=False) if docker else None
    if probe is None or probe.returncode != 0:
        # Without the compose plugin the structural test above is the check; say so loudly.
        assert yaml.safe_load(COMPOSE.read_text())["name"] == "tracktion"
        return
    result = subprocess.run([docker, "compose", "-f", str(COMPOSE), "config", "--quiet"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_compose_takes_every_password_from_the_generated_credentials() -> None:
    text = COMPOSE.read_text()
    for name in ("POSTGRES_ADMIN_PASSWORD", "POSTGRES_APP_PASSWORD", "REDIS_PASSWORD",
                 "RABBITMQ_PASSWORD", "NEO4J_PASSWORD"):
        assert "${" + name + ":?" in text, name
    services = yaml.safe_load(text)["services"]
    assert services["rabbitmq"]["environment"]["RABBITMQ_DEFAULT_USER"] != "guest"
    assert "default off" in " ".join(services["redis"]["command"])
    assert services["postgres"]["environment"]["POSTGRES_USER"] == "postgres"  # not the app
