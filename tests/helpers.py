"""Checks shared by several test modules."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from devtools import tasklib

# Variables a developer or CI may export that the bake file also reads.
BAKE_OVERRIDES = {"DOCKERHUB_MIRROR", "REGISTRY", "TAG", "CACHE_BACKEND", "CACHE_REGISTRY", "CACHE_DIR"}


def dockerfile_stages(project: Path) -> list[str]:
    return re.findall(r"^FROM \S+ AS (\S+)$", (project / "Dockerfile").read_text(), re.MULTILINE)


def bake_print(project: Path, *targets: str, cache_backend: str = "gha") -> dict:
    env = {key: value for key, value in os.environ.items() if key not in BAKE_OVERRIDES}
    env["CACHE_BACKEND"] = cache_backend
    result = subprocess.run(
        ["docker", "buildx", "bake", "-f", "docker-bake.hcl", "--print", *targets],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["target"]


def assert_cache_scopes(project: Path, backend: str) -> None:
    """Each target reads its own scope and the base scope, writes only its own, and no two
    targets write the same scope; each builds a stage that exists and the service it names."""
    settings = tasklib.module("settings").load(project / "pyproject.toml")
    targets = bake_print(project, "ci", cache_backend=backend)

    assert set(targets) == set(settings.services) | {"base", "test"}
    written = [entry for target in targets.values() for entry in target["cache-to"]]
    assert len(written) == len(set(written)) == len(targets), "two targets write the same cache scope"
    stages = set(dockerfile_stages(project))
    for name, target in targets.items():
        scope = {"gha": f"scope={name}", "registry": f"-cache:{name}", "local": f"cache/{name}"}[backend]
        base = scope.replace(name, "base")
        assert any(scope in entry for entry in target["cache-from"]), name
        assert any(base in entry for entry in target["cache-from"]), name
        assert all(scope in entry and "mode=max" in entry for entry in target["cache-to"]), name
        assert target["target"] in stages, name
    for name, service in settings.services.items():
        assert targets[name]["target"] == service.stage


def invoke(project: Path, *args: str, env: dict | None = None, timeout: int = 900) -> subprocess.CompletedProcess:
    """`invoke ARGS` in a generated project, as its user runs it; `env` goes over this environment.
    The output is echoed (shown when a test fails) and returned."""
    result = subprocess.run(
        [sys.executable, "-m", "invoke", *args],
        cwd=project,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    print(result.stdout[-3000:], result.stderr[-3000:])
    return result


def released(project: Path, env: dict) -> list[tuple[str, str, str]]:
    """`invoke releases` as (action, tag, outcome) rows, oldest first."""
    listed = invoke(project, "releases", env=env)
    assert listed.returncode == 0, listed.stderr[-3000:]
    rows = [line.split() for line in listed.stdout.splitlines()[2:]]
    return [(row[2], row[3], row[5]) for row in rows]
