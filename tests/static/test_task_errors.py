"""Bad input to the generated project's tasks: a clear message and a non-zero exit, before any
build starts. Run through `invoke` in a rendered project, as a user would."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import invoke


@pytest.fixture(scope="module")
def project(render_variant):
    return render_variant("task-errors")


def test_list_explains_every_task(project):
    result = invoke(project, "--list")

    assert result.returncode == 0, result.stderr
    for name in ("build", "test", "scan", "report", "deploy", "rollback", "releases", "doctor", "services"):
        assert f"  {name} " in result.stdout


def test_build_help_explains_its_options(project):
    result = invoke(project, "--help", "build")

    assert result.returncode == 0, result.stderr
    for option in ("--service", "--push", "--cache", "--tag"):
        assert option in result.stdout


def test_unknown_service_is_refused_naming_the_known_ones(project):
    result = invoke(project, "build", "--service", "wrker")

    assert result.returncode == 2
    assert "Unknown service 'wrker': this project has web, worker" in result.stderr


def test_unknown_cache_backend_is_refused(project):
    result = invoke(project, "build", "--cache", "s3")

    assert result.returncode == 2
    assert "Unknown cache backend 's3': use one of local, registry, gha, none." in result.stderr


@pytest.mark.skipif(shutil.which("docker") is None, reason="needs the docker CLI (not an engine)")
def test_build_without_an_engine_says_how_to_start_one(project, tmp_path):
    socket = f"unix://{tmp_path}/no-engine.sock"

    result = invoke(project, "build", env={"DOCKER_HOST": socket})

    assert result.returncode == 3
    assert f"No Docker engine answers at {socket}" in result.stderr
    assert "Start Docker" in result.stderr


@pytest.mark.skipif(shutil.which("docker") is None, reason="needs the docker CLI (not an engine)")
def test_scan_without_an_engine_offers_the_file_scans(project, tmp_path):
    socket = f"unix://{tmp_path}/no-engine.sock"

    result = invoke(project, "scan", env={"DOCKER_HOST": socket})

    assert result.returncode == 3
    assert f"No Docker engine answers at {socket}" in result.stderr
    assert "invoke scan --no-images" in result.stderr


@pytest.mark.parametrize("task", [["deploy", "--tag", "v1"], ["rollback"], ["releases"]], ids=lambda task: task[0])
def test_caprover_tasks_without_a_password_say_what_to_set(render_variant, task):
    caprover_project = render_variant("deploy-caprover", deploy_target="caprover")

    result = invoke(caprover_project, *task, env={"CAPROVER_PASSWORD": ""})

    assert result.returncode == 3
    assert "CAPROVER_PASSWORD is not set: export the CapRover dashboard password" in result.stderr
    assert "Traceback" not in result.stderr


def test_caprover_deploy_without_the_cli_says_how_to_install_it(render_variant):
    caprover_project = render_variant("deploy-caprover", deploy_target="caprover")

    result = invoke(caprover_project, "deploy", "--tag", "v1", env={"CAPROVER_PASSWORD": "x", "PATH": "/usr/bin:/bin"})

    assert result.returncode == 3
    assert "`caprover` was not found on PATH: `npm install -g caprover@2.4.4`" in result.stderr


@pytest.mark.skipif(shutil.which("docker") is None, reason="needs the docker CLI (not an engine)")
@pytest.mark.parametrize("target", ["swarm", "compose"])
@pytest.mark.parametrize("task", [["deploy", "--tag", "v1"], ["rollback"], ["releases"]], ids=lambda task: task[0])
def test_deploy_tasks_without_an_engine_say_how_to_start_one(render_variant, tmp_path, target, task):
    project = render_variant(f"deploy-errors-{target}", deploy_target=target)
    socket = f"unix://{tmp_path}/no-engine.sock"

    result = invoke(project, *task, env={"DOCKER_HOST": socket})

    assert result.returncode == 3
    assert f"No Docker engine answers at {socket}" in result.stderr


def fake_docker_without_buildx(directory: Path) -> Path:
    """A test double of the docker CLI: the real one for everything but `buildx`, which it reports
    missing the way the CLI does. Uninstalling the real plugin is not possible in a test."""
    real = shutil.which("docker")
    shim = directory / "docker"
    shim.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = buildx ]; then echo "docker: \'buildx\' is not a docker command." >&2; exit 1; fi\n'
        f'exec {real} "$@"\n'
    )
    shim.chmod(0o755)
    return directory


@pytest.mark.skipif(shutil.which("docker") is None, reason="needs the docker CLI")
def test_build_without_buildx_says_how_to_install_it(project, tmp_path):
    shims = fake_docker_without_buildx(tmp_path)
    env = {"PATH": f"{shims}{os.pathsep}{os.environ['PATH']}"}
    engine_up = subprocess.run(["docker", "version"], capture_output=True).returncode == 0
    if not engine_up:
        pytest.skip("the engine check comes first; this case needs a running engine")

    build = invoke(project, "build", env=env)
    doctor = invoke(project, "doctor", env=env)

    assert build.returncode == 3
    assert "docker buildx is not installed" in build.stderr and "apt install docker-buildx" in build.stderr
    assert doctor.returncode == 1
    assert "buildx is not installed" in doctor.stdout
