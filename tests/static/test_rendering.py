"""Four representative variants in depth: the right files for each answer, no Jinja left behind,
lint-clean Python, Dockerfile stages that match [tool.dockwright], a lock file that matches
pyproject.toml, a valid compose file, and bake cache scopes under every backend. (hadolint and
trivy config run on every combination: test_every_variant.py.)"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jinja2
import pytest
import yaml

from devtools import tasklib, variants
from tests.helpers import assert_cache_scopes, bake_print, dockerfile_stages

VARIANTS = {
    "default": {},
    "fullest": variants.FULLEST,
    "minimal": {
        "python_version": "3.12",
        "frontend": False,
        "celery": False,
        "chromium": "none",
        "deploy_target": "caprover",
        "ci": "none",
    },
    "py314-web-chromium-no-frontend": {
        "python_version": "3.14",
        "frontend": False,
        "chromium": "web_and_worker",
        "deploy_target": "swarm",
    },
}
ALL_STAGES = {"base", "builder", "runtime-full", "runtime-minimal", "celery-unified", "test"}
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module", params=list(VARIANTS), ids=list(VARIANTS))
def variant(request, tmp_path_factory):
    answers = VARIANTS[request.param]
    project = variants.render(tmp_path_factory.mktemp(request.param) / "project", answers)
    return request.param, answers, project


def answer(answers: dict, name: str):
    return answers.get(name, variants.questions()[name].get("default"))


def test_files_follow_the_answers(variant):
    _, answers, project = variant
    celery = answer(answers, "celery")
    chromium = answers.get("chromium", "worker" if celery else "none")
    expected = {
        "frontend/package-lock.json": answer(answers, "frontend"),
        "my_site/static/app.css": not answer(answers, "frontend"),
        "my_site/celery.py": celery,
        "my_site/tasks.py": celery,
        "tests/test_tasks.py": celery,
        "my_site/pdf.py": chromium != "none",
        "tests/test_pdf.py": chromium != "none",
    }
    for path, present in expected.items():
        assert (project / path).exists() == present, path
    for always in (
        "Dockerfile",
        "compose.yaml",
        ".dockerignore",
        "uv.lock",
        ".hadolint.yaml",
        "tasks/settings.py",
    ):
        assert (project / always).is_file(), always


def verbatim_copies(project: Path) -> set[Path]:
    """Files copied from the template as they are (no .jinja suffix), at their rendered paths."""
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    template = variants.ROOT / "template"
    names = jinja2.Environment()
    copies = set()
    for source in template.rglob("*"):
        if source.is_file() and source.suffix != ".jinja":
            rendered = names.from_string(str(source.relative_to(template))).render(**answers)
            copies.add(project / rendered)
    return copies


def test_no_template_syntax_is_left(variant):
    _, _, project = variant
    verbatim = verbatim_copies(project)
    for path in project.rglob("*"):
        # Verbatim copies (Django templates, Go format strings in tasks/, GitHub expressions in
        # workflows) may hold braces; everything rendered from a .jinja file must be fully rendered.
        if path.is_file() and path not in verbatim and path.name != "package-lock.json":
            text = path.read_text()
            assert "{{" not in text and "{%" not in text, path
        assert not path.name.endswith(".jinja"), path


def test_dockerfile_has_the_stages_the_services_need(variant):
    _, answers, project = variant
    stages = dockerfile_stages(project)
    celery = answer(answers, "celery")
    chromium = answers.get("chromium", "worker" if celery else "none")
    expected = {"base", "builder", "runtime-minimal", "test"}
    expected |= {"celery-unified"} if celery else set()
    expected |= {"runtime-full"} if chromium != "none" else set()
    assert set(stages) == expected
    assert len(stages) == len(set(stages)), "a stage is defined twice"
    settings = tasklib.module("settings").load(project / "pyproject.toml")
    for service in settings.services.values():
        assert service.stage in stages, f"{service.name} is built from missing stage {service.stage}"


def test_every_runtime_stage_is_non_root_and_healthchecked(variant):
    _, _, project = variant
    text = (project / "Dockerfile").read_text()
    for stage in set(dockerfile_stages(project)) & {"runtime-full", "runtime-minimal"}:
        body = text.split(f" AS {stage}\n", 1)[1].split("\nFROM ", 1)[0]
        assert "USER ${UID}:${GID}" in body, stage
        assert "HEALTHCHECK" in body, stage
        assert 'ENTRYPOINT ["tini", "--"]' in body, stage
    assert re.search(r"^ARG UID=1\d{4}$", text, re.MULTILINE), "UID must be fixed and >= 10000"


def test_dockwright_settings_match_the_answers(variant):
    _, answers, project = variant
    settings = tasklib.module("settings").load(project / "pyproject.toml")
    celery = answer(answers, "celery")
    chromium = answers.get("chromium", "worker" if celery else "none")
    expected_services = {"web"} | ({"worker"} if celery else set()) | ({"flower"} if answers.get("flower") else set())
    assert set(settings.services) == expected_services
    assert settings.services["web"].stage == ("runtime-full" if chromium == "web_and_worker" else "runtime-minimal")
    assert settings.registry == "ghcr.io/acme/my-site"
    assert settings.deploy_target == answer(answers, "deploy_target")
    assert settings.python_version == answer(answers, "python_version")


def test_lock_file_matches_pyproject(variant):
    _, _, project = variant
    result = subprocess.run(
        [sys.executable, "-m", "uv", "lock", "--check"], cwd=project, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_compose_file_is_valid(variant):
    _, answers, project = variant
    if shutil.which("docker") is None:
        pytest.skip("docker CLI not installed: `docker compose config` cannot run")
    # Without the overrides a developer or CI may have exported, the rendered defaults apply.
    env = {k: v for k, v in os.environ.items() if k not in {"DOCKERHUB_MIRROR", "REGISTRY", "TAG"}}
    result = subprocess.run(
        ["docker", "compose", "--profile", "test", "config", "--format", "json"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    services = json.loads(result.stdout)["services"]
    stages = set(dockerfile_stages(project))
    for name, service in services.items():
        if "build" in service:
            assert service["build"]["target"] in stages, name
        image = service["image"]
        assert image.startswith(("ghcr.io/acme/my-site-", "docker.io/library/")), image
    assert services["web"]["read_only"] is True
    assert services["web"]["cap_drop"] == ["ALL"]


@pytest.mark.parametrize("backend", ["gha", "registry", "local"])
def test_bake_gives_every_target_its_own_cache_scope(variant, backend):
    _, _, project = variant
    if shutil.which("docker") is None:
        pytest.skip("docker CLI not installed: `docker buildx bake --print` cannot run")
    assert_cache_scopes(project, backend)
    for name, target in bake_print(project, "default", cache_backend=backend).items():
        assert target["tags"] == [f"ghcr.io/acme/my-site-{name}:dev", f"ghcr.io/acme/my-site-{name}:latest"]


def test_bake_without_a_cache_backend_reads_and_writes_none(variant):
    _, _, project = variant
    if shutil.which("docker") is None:
        pytest.skip("docker CLI not installed: `docker buildx bake --print` cannot run")
    for name, target in bake_print(project, "ci", cache_backend="none").items():
        assert not target.get("cache-from") and not target.get("cache-to"), name
