"""Docker tier: the default variant, built with BuildKit through the Docker Hub mirror
(DOCKERHUB_MIRROR), started with web, worker, Postgres and Redis, and checked from outside
through a port on 127.0.0.1 and `docker compose exec`. Everything it creates is removed."""

from __future__ import annotations

import json
import os
import re
import socket
import time
import urllib.request
import uuid

import docker
import pytest
from docker.errors import DockerException

SLUG = "my_site"
UID = "10001"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
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
    """One rendered project and its `docker compose` stack, isolated by project name and tag."""

    def __init__(self, project, runner, env):
        self.project, self.runner, self.env = project, runner, env

    def compose(self, *args, check=True, timeout=900):
        return self.runner.run(
            ["docker", "compose", "--profile", "test", *args],
            cwd=self.project,
            env=self.env,
            check=check,
            timeout=timeout,
        )

    def exec(self, service, *argv, check=True):
        return self.compose("exec", "-T", service, *argv, check=check, timeout=180)

    def django_shell(self, code):
        return self.exec("web", "python", "manage.py", "shell", "--no-imports", "-c", code).stdout

    def container(self, engine, service):
        return engine.containers.get(self.compose("ps", "-q", service).stdout.strip())


@pytest.fixture(scope="module")
def stack(engine, render_variant, runner, dockerhub_mirror, local_registry):
    project = render_variant("e2e-default", dockerhub_mirror=dockerhub_mirror)
    name = f"dwe2e{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "COMPOSE_PROJECT_NAME": name,
        "DOCKERHUB_MIRROR": dockerhub_mirror,
        "REGISTRY": f"{local_registry}/dockwright-e2e",
        "TAG": name,
        "WEB_PORT": str(free_port()),
    }
    stack = Stack(project, runner, env)
    try:
        started = time.monotonic()
        stack.compose("build")
        print(f"\nbuild of web, worker and test images: {time.monotonic() - started:.1f} s")
        started = time.monotonic()
        stack.compose("up", "--detach", "--wait", "--wait-timeout", "240")
        print(f"up until every service is healthy: {time.monotonic() - started:.1f} s")
        yield stack
    finally:
        logs = stack.compose("logs", "--no-color", "--tail", "40", check=False)
        print(logs.stdout[-6000:])
        stack.compose("down", "--volumes", "--rmi", "all", "--remove-orphans", check=False)
        left = engine.containers.list(all=True, filters={"label": f"com.docker.compose.project={name}"})
        volumes = engine.volumes.list(filters={"label": f"com.docker.compose.project={name}"})
        assert not left and not volumes, f"left behind: {left} {volumes}"


def get(url: str) -> tuple[int, bytes, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read(), dict(error.headers)


def test_health_endpoint_answers_200_on_localhost(stack):
    status, body, _ = get(f"http://127.0.0.1:{stack.env['WEB_PORT']}/health/")

    assert status == 200
    assert json.loads(body) == {"status": "ok", "checks": {"database": "ok", "cache": "ok"}}


def test_web_and_worker_report_healthy(stack, engine):
    for service in ("web", "worker"):
        state = stack.container(engine, service).attrs["State"]
        assert state["Health"]["Status"] == "healthy", (service, state["Health"]["Log"][-1:])


def test_runtime_containers_run_as_non_root(stack, engine):
    for service in ("web", "worker"):
        assert stack.exec(service, "id", "-u").stdout.strip() == UID
        assert stack.container(engine, service).attrs["Config"]["User"] == f"{UID}:{UID}"


def test_migrations_ran(stack):
    stack.exec("web", "python", "manage.py", "migrate", "--check")  # non-zero if any is unapplied
    plan = stack.exec("web", "python", "manage.py", "showmigrations", "django_celery_beat", "sessions").stdout

    assert "[X] 0001_initial" in plan
    assert "[ ]" not in plan


def test_worker_executes_a_task(stack):
    # An expired session the task must delete: proves the worker ran it against the database.
    output = stack.django_shell(
        "from datetime import timedelta\n"
        "from django.contrib.sessions.models import Session\n"
        "from django.utils import timezone\n"
        f"from {SLUG}.tasks import clear_expired_sessions\n"
        "Session.objects.create(session_key='e2e-expired', session_data='e30=',"
        " expire_date=timezone.now() - timedelta(days=1))\n"
        "print('deleted', clear_expired_sessions.delay().get(timeout=60))\n"
        "print('left', Session.objects.filter(session_key='e2e-expired').count())\n"
    )

    assert "deleted 1" in output
    assert "left 0" in output
    worker_logs = stack.compose("logs", "--no-color", "worker").stdout
    assert re.search(rf"Task {SLUG}\.tasks\.clear_expired_sessions\[[0-9a-f-]+\] succeeded", worker_logs)


def test_worker_renders_a_page_to_pdf_with_chromium(stack):
    output = stack.django_shell(
        f"from {SLUG}.tasks import render_page_to_pdf\n"
        "print(render_page_to_pdf.delay('/').get(timeout=120))\n"
    )
    result = eval(output.strip().splitlines()[-1], {})  # the task's dict, printed by the shell

    assert result["bytes"] > 1000
    head = stack.exec("worker", "python", "-c", f"print(open({result['path']!r}, 'rb').read(5))").stdout
    assert head.strip() == "b'%PDF-'"


def test_pages_use_hashed_static_files_served_by_whitenoise(stack):
    port = stack.env["WEB_PORT"]
    status, page, _ = get(f"http://127.0.0.1:{port}/")
    assert status == 200
    css = re.search(rb'href="(/static/app\.[0-9a-f]{12}\.css)"', page)
    js = re.search(rb'src="(/static/app\.[0-9a-f]{12}\.js)"', page)
    assert css and js, page[:500]

    status, body, headers = get(f"http://127.0.0.1:{port}{css.group(1).decode()}")
    assert status == 200
    assert b".page" in body  # the compiled stylesheet, minified by esbuild
    assert "immutable" in headers.get("Cache-Control", "")


def test_generated_project_passes_its_own_tests(stack):
    result = stack.compose("run", "--rm", "test", check=False, timeout=600)

    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    summary = result.stdout.strip().splitlines()[-1]
    assert re.search(r"\d+ passed", summary) and "failed" not in summary, summary
