"""`invoke doctor`: is this machine ready to build? Each check says what to fix."""

from __future__ import annotations

import os
import re
import urllib.error
import urllib.request

from invoke import Exit, task

from . import runner
from .build import load_settings
from .table import format_table

MIN_BUILDX = (0, 11)


def check_engine() -> tuple[bool, str]:
    try:
        result = runner.run(["docker", "version", "--format", "{{.Server.Version}}"], check=False, timeout=30)
    except runner.ToolNotFound as error:
        return False, str(error)
    if result.returncode != 0:
        where = os.environ.get("DOCKER_HOST", "the default socket")
        return False, f"no engine answers at {where}: start Docker or set DOCKER_HOST"
    return True, f"Docker Engine {result.stdout.strip()}"


def check_buildx() -> tuple[bool, str]:
    try:
        result = runner.run(["docker", "buildx", "version"], check=False)
    except runner.ToolNotFound as error:
        return False, str(error)
    found = re.search(r"v?(\d+)\.(\d+)", result.stdout)
    if result.returncode != 0 or not found:
        return False, "buildx is not installed: `apt install docker-buildx`, or install Docker Desktop"
    version = (int(found.group(1)), int(found.group(2)))
    if version < MIN_BUILDX:
        return (
            False,
            f"buildx {found.group(0)} is too old for bake: upgrade to {'.'.join(map(str, MIN_BUILDX))} or newer",
        )
    return True, f"buildx {found.group(0)}"


def check_bake(settings) -> tuple[bool, str]:
    try:
        result = runner.run(
            ["docker", "buildx", "bake", "-f", settings.bake_file, "--print"], cwd=settings.root, check=False
        )
    except runner.ToolNotFound as error:
        return False, str(error)
    if result.returncode != 0:
        detail = (result.stderr.strip().splitlines() or ["no output"])[-1]
        return False, f"{settings.bake_file} does not load: {detail}"
    return True, f"{settings.bake_file} loads"


def registry_host(mirror: str) -> str:
    host = mirror.split("/", 1)[0]
    return "registry-1.docker.io" if host in {"docker.io", "index.docker.io"} else host


def check_mirror(mirror: str) -> tuple[bool, str]:
    """Any HTTP answer from the registry API (200, or 401 asking for a token) means reachable."""
    host = registry_host(mirror)
    errors = []
    for scheme in ("https", "http"):
        try:
            with urllib.request.urlopen(f"{scheme}://{host}/v2/", timeout=10):
                return True, f"{mirror} answers ({scheme})"
        except urllib.error.HTTPError as error:
            if error.code in (200, 401):
                return True, f"{mirror} answers ({scheme}, {error.code})"
            errors.append(f"{scheme}: HTTP {error.code}")
        except (urllib.error.URLError, OSError) as error:
            errors.append(f"{scheme}: {getattr(error, 'reason', error)}")
    return False, (
        f"{mirror} is unreachable ({'; '.join(errors)}): check the network or proxy, or set DOCKERHUB_MIRROR "
        "(or dockerhub_mirror in [tool.dockwright]) to a mirror you can reach"
    )


@task
def doctor(c):
    """Check the Docker engine, buildx, the bake file and the Docker Hub mirror; say what to fix."""
    settings = load_settings()
    mirror = os.environ.get("DOCKERHUB_MIRROR", settings.dockerhub_mirror)
    checks = [
        ("docker engine", *check_engine()),
        ("buildx", *check_buildx()),
        ("bake file", *check_bake(settings)),
        ("docker hub mirror", *check_mirror(mirror)),
    ]
    print(
        format_table(("check", "status", "detail"), [(name, "ok" if ok else "FAIL", text) for name, ok, text in checks])
    )
    failed = [name for name, ok, _ in checks if not ok]
    if failed:
        raise Exit(f"{len(failed)} check(s) failed: {', '.join(failed)}. Fix them as the table says.", code=1)
