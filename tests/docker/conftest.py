"""Docker tier fixtures: a real engine, and rendered projects run as `docker compose` stacks
isolated by project name, tag and port. Everything a stack creates is removed afterwards."""

from __future__ import annotations

import os
import socket
import time
import uuid

import docker
import pytest
from docker.errors import DockerException

from devtools import tasklib, variants


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def engine():
    try:
        client = docker.from_env()
        client.ping()
    except DockerException as error:
        pytest.fail(
            f"No Docker engine answers ({error}). Start one (Docker Engine or Docker Desktop), "
            "or run only the static tier with `-m static`."
        )
    return client


class Stack:
    """One rendered project and its `docker compose` stack."""

    def __init__(self, name, answers, project, runner, env, engine):
        self.name, self.answers, self.project = name, answers, project
        self.runner, self.env, self.engine = runner, env, engine

    def answer(self, question):
        return self.answers.get(question, variants.questions()[question].get("default"))

    def settings(self):
        """The project's [tool.dockwright] settings: its services, their stages and healthchecks."""
        return tasklib.module("settings").load(self.project / "pyproject.toml")

    def compose(self, *args, check=True, timeout=900):
        """`docker compose ARGS`; the `test` service (profile "test") only where named."""
        return self.runner.run(
            ["docker", "compose", *args],
            cwd=self.project,
            env=self.env,
            check=check,
            timeout=timeout,
        )

    def exec(self, service, *argv, check=True):
        return self.compose("exec", "-T", service, *argv, check=check, timeout=180)

    def django_shell(self, code):
        return self.exec("web", "python", "manage.py", "shell", "--no-imports", "-c", code).stdout

    def containers(self, service):
        ids = self.compose("ps", "-q", service).stdout.split()
        return [self.engine.containers.get(container_id) for container_id in ids]

    def container(self, service):
        return self.containers(service)[0]

    def image(self, service):
        return f"{self.env['REGISTRY']}-{service}:{self.env['TAG']}"

    def health(self, service):
        container = self.container(service)
        container.reload()
        return container.attrs["State"].get("Health", {}).get("Status")

    def wait_for_health(self, service, status, timeout):
        """Seconds until `service` reports `status`; fails after `timeout` seconds."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.health(service) == status:
                return time.monotonic() - started
            time.sleep(1)
        pytest.fail(f"{service} did not become {status} within {timeout} s (is {self.health(service)})")


@pytest.fixture(scope="module")
def start_stack(engine, render_variant, runner, dockerhub_mirror, local_registry):
    """start_stack(name, answers) -> a built, started and healthy Stack; removed at module end."""
    stacks = []

    def start(name, answers):
        project = render_variant(f"e2e-{name}", **answers, dockerhub_mirror=dockerhub_mirror)
        compose_name = f"dwe2e{uuid.uuid4().hex[:8]}"
        env = {
            **os.environ,
            "COMPOSE_PROJECT_NAME": compose_name,
            "DOCKERHUB_MIRROR": dockerhub_mirror,
            "REGISTRY": f"{local_registry}/dockwright-e2e",
            "TAG": compose_name,
            "WEB_PORT": str(free_port()),
            "FLOWER_PORT": str(free_port()),
        }
        stack = Stack(name, answers, project, runner, env, engine)
        stacks.append(stack)
        started = time.monotonic()
        stack.compose("--profile", "test", "build")
        print(f"\n[{name}] build of every service image: {time.monotonic() - started:.1f} s")
        started = time.monotonic()
        stack.compose("up", "--detach", "--wait", "--wait-timeout", "240")
        print(f"[{name}] up until every service is healthy: {time.monotonic() - started:.1f} s")
        return stack

    yield start

    for stack in stacks:
        logs = stack.compose("logs", "--no-color", "--tail", "30", check=False)
        print(logs.stdout[-5000:])
        stack.compose("--profile", "test", "down", "--volumes", "--remove-orphans", check=False)
        # Only the images this stack built: `--rmi all` would also delete the Postgres and Redis
        # images it pulled, which belong to the machine, not to the test.
        built = f"{stack.env['REGISTRY']}-"
        for image in engine.images.list():
            if any(tag.startswith(built) and tag.endswith(f":{stack.env['TAG']}") for tag in image.tags):
                engine.images.remove(image.id, force=True)
        label = f"com.docker.compose.project={stack.env['COMPOSE_PROJECT_NAME']}"
        left = engine.containers.list(all=True, filters={"label": label})
        volumes = engine.volumes.list(filters={"label": label})
        assert not left and not volumes, f"left behind: {left} {volumes}"
