"""docker-compose.yml is valid (checked offline by docker-compose itself) and wires the services."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
# The API's command in the image and in compose: gunicorn with the shipped settings (api/gunicorn_conf.py,
# tested in tests/api/test_gunicorn_conf.py), on every interface of the container.
SERVE_COMMAND = ["gunicorn", "-c", "python:api.gunicorn_conf", "-b", "0.0.0.0:8000", "api.wsgi:app"]


def compose(*args: str, env_file: Path | None = None, env: dict[str, str] | None = None
            ) -> subprocess.CompletedProcess[str]:
    """Run `docker-compose -f docker-compose.yml [--env-file F] ARGS` in the repository (no engine needed)."""
    exe = shutil.which("docker-compose")
    if exe is None:
        pytest.fail("docker-compose is not installed (Debian package docker-compose; .ci/run installs it)")
    cmd = [exe, "-f", "docker-compose.yml"]
    if env_file is not None:
        cmd += ["--env-file", str(env_file)]
    base = {k: v for k, v in os.environ.items() if not k.startswith(("NEO4J_", "PAPERKG_", "DOCKER_"))}
    return subprocess.run([*cmd, *args], cwd=REPO, env={**base, **(env or {})}, capture_output=True,
                          text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def env_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's .env if there is one, else .env.example with its password filled in, as a user
    does (passed with --env-file: nothing is written in the repository)."""
    local = REPO / ".env"
    if local.is_file():
        return local
    filled = tmp_path_factory.mktemp("compose") / "filled.env"
    filled.write_text((REPO / ".env.example").read_text().replace("NEO4J_PASSWORD=\n",
                                                                    "NEO4J_PASSWORD=a-long-test-password\n"))
    return filled


@pytest.fixture(scope="module")
def config(env_file: Path) -> dict[str, Any]:
    """The fully resolved compose configuration."""
    proc = compose("config", env_file=env_file)
    assert proc.returncode == 0, proc.stderr
    return yaml.safe_load(proc.stdout)


def test_compose_file_is_valid(env_file: Path) -> None:
    """`docker-compose config -q` accepts the file."""
    proc = compose("config", "-q", env_file=env_file)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""


def test_password_is_required(tmp_path: Path) -> None:
    """Without NEO4J_PASSWORD the configuration is refused with a message saying what to set."""
    empty = tmp_path / "empty.env"
    empty.write_text("# nothing\n")
    proc = compose("config", "-q", env_file=empty)
    assert proc.returncode != 0
    assert "NEO4J_PASSWORD" in proc.stderr


def test_env_example_leaves_the_password_to_set() -> None:
    """The shipped example names the password but sets none: copied unchanged, compose refuses to start,
    where a shipped password would have run Neo4j with a password everybody knows."""
    text = (REPO / ".env.example").read_text()
    assert "NEO4J_PASSWORD=" in text.splitlines()
    proc = compose("config", "-q", env_file=REPO / ".env.example")
    assert proc.returncode != 0 and "set NEO4J_PASSWORD in .env" in proc.stderr


def test_every_optional_setting_of_env_example_can_be_uncommented_as_it_is(tmp_path: Path) -> None:
    """A setting line uncommented as shipped gives a valid configuration with its default (review: the
    explanation written on the BIND lines became part of the value, and compose refused the ports)."""
    lines = (REPO / ".env.example").read_text().replace("NEO4J_PASSWORD=\n",
                                                       "NEO4J_PASSWORD=a-long-test-password\n")
    settings = [line[2:] for line in lines.splitlines() if re.fullmatch(r"# [A-Z0-9_]+=.*", line)]
    assert {s.split("=")[0] for s in settings} >= {"PAPERKG_BIND", "NEO4J_BIND", "PAPERKG_PORT"}
    uncommented = tmp_path / "all.env"
    uncommented.write_text(lines + "".join(f"{s}\n" for s in settings))
    proc = compose("config", env_file=uncommented)
    assert proc.returncode == 0, proc.stderr
    services = yaml.safe_load(proc.stdout)["services"]
    assert ("127.0.0.1", 8000) in published(services["api"])


def published(service: dict[str, Any]) -> set[tuple[str, int]]:
    """(host interface, container port) of each port a resolved service publishes ("" for every interface)."""
    # docker-compose v1 writes "127.0.0.1:7474:7474/tcp" ("8000:8000/tcp" on every interface), v2 a mapping.
    out = set()
    for p in service["ports"]:
        if isinstance(p, dict):
            out.add((str(p.get("host_ip") or ""), int(p["target"])))
        else:
            parts = str(p).split("/")[0].split(":")
            out.add((parts[0] if len(parts) == 3 else "", int(parts[-1])))
    return out


def test_neo4j_is_published_on_loopback_and_its_password_not_on_a_command_line(
    config: dict[str, Any]
) -> None:
    neo4j = config["services"]["neo4j"]
    assert published(neo4j) == {("127.0.0.1", 7474), ("127.0.0.1", 7687)}
    assert "-p" not in neo4j["healthcheck"]["test"][1].split()  # `ps` in the container would show it


def test_the_api_is_published_on_loopback_unless_told(env_file: Path) -> None:
    """gunicorn on every interface, unproxied, was open to slow clients: the port is published on
    127.0.0.1 (for a reverse proxy on the host) unless PAPERKG_BIND says otherwise."""
    def api_ports(env: dict[str, str] | None) -> set[tuple[str, int]]:
        proc = compose("config", env_file=env_file, env=env)
        assert proc.returncode == 0, proc.stderr
        return published(yaml.safe_load(proc.stdout)["services"]["api"])

    assert api_ports(None) == {("127.0.0.1", 8000)}
    assert api_ports({"PAPERKG_BIND": "0.0.0.0"}) == {("0.0.0.0", 8000)}


def test_the_browser_origin_settings_reach_the_api(env_file: Path) -> None:
    """Review: PAPERKG_CORS_ORIGINS and PAPERKG_FRAME_ANCESTORS set in .env never reached the container."""
    origins = {"PAPERKG_CORS_ORIGINS": "https://lab.example.org", "PAPERKG_FRAME_ANCESTORS": "https://wiki.example.org"}
    proc = compose("config", env_file=env_file, env=origins)
    assert proc.returncode == 0, proc.stderr
    environment = yaml.safe_load(proc.stdout)["services"]["api"]["environment"]
    assert {name: environment.get(name) for name in origins} == origins


def test_services_and_healthchecks(config: dict[str, Any]) -> None:
    """neo4j (healthchecked with cypher-shell), init, api (gunicorn) and scheduler, wired in order."""
    services = config["services"]
    assert {"neo4j", "init", "api", "scheduler"} <= set(services)

    neo4j = services["neo4j"]
    assert neo4j["image"].split(":")[0] == "neo4j" and neo4j["image"].split(":")[1].startswith("5")
    assert neo4j["environment"]["NEO4J_AUTH"].startswith("neo4j/")
    probe = " ".join(neo4j["healthcheck"]["test"])
    assert "cypher-shell" in probe and "RETURN 1" in probe and "NEO4J_AUTH#neo4j/" in probe
    # The image turns every NEO4J_* variable but these into a neo4j.conf setting (NEO4J_server_memory_…
    # -> server.memory.…): any other name would be an unknown setting, which Neo4j 5 refuses to start with.
    entrypoint_own = {"NEO4J_AUTH", "NEO4J_AUTH_PATH", "NEO4J_PLUGINS", "NEO4J_EDITION", "NEO4J_HOME",
                      "NEO4J_ACCEPT_LICENSE_AGREEMENT", "NEO4J_DEBUG"}
    settings = {k for k in neo4j["environment"] if k.startswith("NEO4J_") and k not in entrypoint_own}
    assert settings and all(re.fullmatch(r"NEO4J_(server|db|dbms)_[a-z_]+", k) for k in settings), settings
    assert any(str(v).endswith(":/data") or ":/data:" in str(v) for v in neo4j["volumes"]) or any(
        isinstance(v, dict) and v.get("target") == "/data" for v in neo4j["volumes"]
    )

    for name in ("init", "api", "scheduler"):
        service = services[name]
        assert "build" in service, name
        env = service["environment"]
        assert env["PAPERKG_NEO4J_URI"] == "bolt://neo4j:7687", name
        assert "neo4j/" + env["PAPERKG_NEO4J_PASSWORD"] == neo4j["environment"]["NEO4J_AUTH"], name
        assert service["depends_on"]["neo4j"]["condition"] == "service_healthy", name

    assert services["init"]["command"] == ["paperkg", "init"]
    assert services["scheduler"]["command"] == ["paperkg", "schedule"]
    api = services["api"]
    # The image's command: the settings are api/gunicorn_conf.py's, not repeated here.
    assert api["command"] == SERVE_COMMAND
    assert api["depends_on"]["init"]["condition"] == "service_completed_successfully"
    assert services["scheduler"]["depends_on"]["init"]["condition"] == "service_completed_successfully"
    assert "/healthz" in " ".join(api["healthcheck"]["test"])
    assert {port for _, port in published(api)} == {8000}


def test_dockerfile_installs_cpu_torch_then_the_package() -> None:
    """The image pins torch from the CPU index before installing paperkg (no CUDA download)."""
    text = (REPO / "Dockerfile").read_text()
    assert "FROM python:3.11-slim" in text
    torch = text.index("pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu")
    assert torch < text.index("pip install .")
    cmd = [line for line in text.splitlines() if line.startswith("CMD ")]
    assert len(cmd) == 1 and json.loads(cmd[0][len("CMD "):]) == SERVE_COMMAND  # as compose's api service
    ignored = (REPO / ".dockerignore").read_text().split()
    assert {".venv", "node_modules", ".env", ".git"} <= set(ignored)


def _seconds(duration: str) -> float:
    """A compose duration ("10m", "1m30s", "600s", "1h") in seconds."""
    parts = re.findall(r"(\d+(?:\.\d+)?)(h|ms|m|s|us)", duration)
    assert parts and "".join(n + u for n, u in parts) == duration, duration
    scale = {"h": 3600, "m": 60, "s": 1, "ms": 0.001, "us": 0.000001}
    return sum(float(n) * scale[u] for n, u in parts)


def test_scheduler_gets_time_to_finish_a_run_on_stop(config: dict[str, Any]) -> None:
    """`paperkg schedule` finishes a running ingest on SIGTERM: compose must not SIGKILL it after 10 s."""
    grace = config["services"]["scheduler"].get("stop_grace_period")
    assert grace is not None, "the scheduler has compose's default 10 s stop grace period"
    assert _seconds(str(grace)) >= 5 * 60
