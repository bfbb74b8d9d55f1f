"""Sessions of the dockwright template repository. `nox` runs the whole suite (lint, static,
docker); `nox -t static` only what needs no Docker engine. `nox --list` explains each session."""

from __future__ import annotations

import nox

nox.needs_version = ">=2025.2.9"
nox.options.sessions = ["lint", "static", "docker"]
nox.options.reuse_venv = "yes"
nox.options.error_on_missing_interpreters = True

PYPROJECT = nox.project.load_toml("pyproject.toml")
DEV_DEPENDENCIES = nox.project.dependency_groups(PYPROJECT, "dev")


@nox.session(tags=["static"])
def lint(session: nox.Session) -> None:
    """Lint and format-check the template repository's own Python (ruff)."""
    session.install(*DEV_DEPENDENCIES)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(tags=["static"])
def static(session: nox.Session) -> None:
    """Render variants and check them without Docker: answers, files, lint, hadolint, settings."""
    session.install(*DEV_DEPENDENCIES)
    session.run("pytest", "-m", "static", *session.posargs)


@nox.session(tags=["docker"])
def docker(session: nox.Session) -> None:
    """Build the default variant with BuildKit, run it, and check it (needs a Docker engine).

    Docker Hub images come through DOCKERHUB_MIRROR, when set; LOCAL_REGISTRY names the registry
    that test images are tagged for (default 127.0.0.1:5000).
    """
    session.install(*DEV_DEPENDENCIES)
    session.run("pytest", "-m", "docker", *session.posargs)


@nox.session(tags=["bench"], default=False)
def bench(session: nox.Session) -> None:
    """Measure image sizes over base, Chromium floors, new layer bytes and warm rebuild times.

    Writes docs/benchmarks.md and docs/benchmarks.json. Not part of the test run.
    """
    session.install(*DEV_DEPENDENCIES)
    session.run("python", "-m", "devtools.bench")
