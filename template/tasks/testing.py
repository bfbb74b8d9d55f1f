"""`invoke test`: the app's test suite in the `test` image, against real Postgres and Redis.

The test image is built by bake; the database and cache come from compose.yaml, under a project
name of their own, and are removed afterwards whatever happened.
"""

from __future__ import annotations

import os
import uuid
import xml.etree.ElementTree as ElementTree
from pathlib import Path

from invoke import Exit, task

from . import runner
from .build import bake, bake_environment, git_revision, load_settings, require_engine

RESULTS_DIR = Path("build") / "test-results"


# [tool.dockwright].test_runner -> the command run in the `test` image.
TEST_COMMANDS = {
    "pytest": ["pytest", "--junitxml=/results/junit.xml"],
    "django": ["python", "manage.py", "test", "--noinput"],
}


def failed_tests(junit: Path) -> list[str]:
    """`module::name` of every failed or erroring test case in a JUnit XML report."""
    failures = []
    for case in ElementTree.parse(junit).getroot().iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            failures.append(f"{case.get('classname', '')}::{case.get('name', '')}")
    return failures


@task(
    help={
        "tag": "Tag of the test image (default: the git commit, else 'dev')",
        "cache": "Cache backend for the build (default: $CACHE_BACKEND, else local)",
    }
)
def test(c, tag=None, cache=None):
    """Build the `test` image and run the test suite in it against real Postgres and Redis.

    With [tool.dockwright].test_runner = "pytest", writes build/test-results/junit.xml and lists
    the failed tests; with "django", runs `manage.py test`. Exits non-zero when a test fails.
    """
    settings = load_settings()
    require_engine()
    tag = tag or git_revision(settings.root) or "dev"
    bake(settings, ["test"], tag=tag, cache=cache or os.environ.get("CACHE_BACKEND") or "local")

    results = settings.root / RESULTS_DIR
    results.mkdir(parents=True, exist_ok=True)
    results.chmod(0o777)  # the tests run as the image's unprivileged user
    junit = results / "junit.xml"
    junit.unlink(missing_ok=True)
    env = bake_environment(settings, tag, "none", None)
    env["COMPOSE_PROJECT_NAME"] = f"{settings.project.replace('_', '-')}-test-{uuid.uuid4().hex[:8]}"
    compose = ["docker", "compose", "--profile", "test"]
    command = TEST_COMMANDS[settings.test_runner]
    try:
        outcome = runner.run(
            compose + ["run", "--rm", "--volume", f"{results}:/results", "test", *command],
            cwd=settings.root,
            env=env,
            capture=False,
            check=False,
        )
    finally:
        runner.run(compose + ["down", "--volumes", "--remove-orphans"], cwd=settings.root, env=env, check=False)

    if settings.test_runner == "django":  # Django's runner writes no report: its exit code says it all
        if outcome.returncode != 0:
            raise Exit(f"`{' '.join(command)}` failed (exit {outcome.returncode}); see its output above.", code=1)
        return

    if not junit.is_file():
        raise Exit(f"The test run produced no report (exit {outcome.returncode}); see its output above.", code=1)
    failures = failed_tests(junit)
    print(f"JUnit report: {junit.relative_to(settings.root)}")
    if outcome.returncode != 0:
        listed = "\n".join(f"  {name}" for name in failures) or "  (see the output above)"
        raise Exit(f"{len(failures)} test(s) failed:\n{listed}", code=outcome.returncode)
