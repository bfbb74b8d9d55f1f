"""Docker tier: an existing Django project (tests/existing_project.py: its own layout, a
requirements file with an include, an npm build in assets/) adopts dockwright, and its images are
built by `invoke build` (reading dockwright.toml), started with the generated compose.yaml
against real Postgres and Redis, and checked: healthy, non-root, the assets built, no .env in the
image, and `invoke test` running the project's own tests in its `test` image."""

from __future__ import annotations

import json
import os
import time
import urllib.request
import uuid

import copier
import pytest

from devtools import variants
from tests import existing_project
from tests.docker.conftest import Stack, free_port
from tests.helpers import invoke


@pytest.fixture(scope="module")
def stack(tmp_path_factory, engine, runner, dockerhub_mirror, local_registry):
    project = existing_project.write(tmp_path_factory.mktemp("adopt") / "portfolio")
    copier.run_copy(
        str(variants.ROOT),
        str(project),
        data={**existing_project.ADOPT_ANSWERS, "dockerhub_mirror": dockerhub_mirror},
        defaults=True,
        vcs_ref="HEAD",
        quiet=True,
        overwrite=True,
        unsafe=False,
    )
    name = f"dwadopt{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "COMPOSE_PROJECT_NAME": name,
        "DOCKERHUB_MIRROR": dockerhub_mirror,
        "REGISTRY": f"{local_registry}/dockwright-adopt",
        "TAG": name,
        "CACHE_BACKEND": "none",
        "WEB_PORT": str(free_port()),
    }
    stack = Stack("adopt", existing_project.ADOPT_ANSWERS, project, runner, env, engine)
    started = time.monotonic()
    built = invoke(project, "build", "--tag", name, env=env, timeout=1800)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    print(f"\n[adopt] invoke build: {time.monotonic() - started:.1f} s")
    # The project has a docker-compose.yml of its own: name the generated file.
    started = time.monotonic()
    stack.compose("--file", "compose.yaml", "up", "--detach", "--wait", "--wait-timeout", "240", "--no-build")
    print(f"[adopt] up until every service is healthy: {time.monotonic() - started:.1f} s")
    yield stack
    print(stack.compose("--file", "compose.yaml", "logs", "--no-color", "--tail", "30", check=False).stdout[-5000:])
    stack.compose("--file", "compose.yaml", "--profile", "test", "down", "--volumes", "--remove-orphans", check=False)
    for image in engine.images.list():
        if any(tag.startswith(env["REGISTRY"]) and tag.endswith(f":{name}") for tag in image.tags):
            engine.images.remove(image.id, force=True)


def test_web_and_worker_turn_healthy(stack):
    assert stack.health("web") == "healthy"
    assert stack.health("worker") == "healthy"


def test_the_site_answers_through_the_projects_own_views(stack):
    base = f"http://127.0.0.1:{stack.env['WEB_PORT']}"
    with urllib.request.urlopen(f"{base}/healthz/", timeout=10) as response:
        assert json.load(response) == {"status": "ok"}  # a real query to Postgres
    with urllib.request.urlopen(f"{base}/", timeout=10) as response:
        assert "<h1>Portfolio</h1>" in response.read().decode()


@pytest.mark.parametrize("service", ["web", "worker"])
def test_services_run_as_the_unprivileged_user(stack, service):
    assert stack.exec(service, "id", "-u").stdout.strip() == "10001"
    assert stack.container(service).attrs["Config"]["User"] == "10001:10001"


def test_the_npm_build_and_collectstatic_ran_in_the_image(stack):
    collected = stack.exec("web", "cat", "/app/var/static/build/site.css").stdout

    assert "font-family: sans-serif" in collected
    assert stack.exec("web", "test", "-e", "/app/var/static/robots.txt", check=False).returncode == 0


def test_no_env_file_or_local_build_reaches_the_image(stack):
    listed = stack.exec("web", "ls", "-a", "/app").stdout.split()

    assert ".env" not in listed and ".git" not in listed
    assert stack.exec("web", "test", "-e", "/app/assets/node_modules", check=False).returncode != 0
    history = stack.runner.run(["docker", "history", "--no-trunc", stack.image("web")]).stdout
    assert "do-not-ship-me" not in history


def test_invoke_test_runs_the_projects_own_tests_in_the_test_image(stack):
    """test_runner = "django" in dockwright.toml: `manage.py test`, against Postgres and Redis."""
    result = invoke(stack.project, "test", "--tag", stack.env["TAG"], env=stack.env, timeout=900)

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Ran 1 test" in result.stdout + result.stderr
