# /// script
# dependencies = ["nox==2026.10.20", "pyyaml==6.0.4", "jinja2==3.1.6"]
# ///
"""Sessions of the dockwright template repository. `nox` runs what CI runs (ruff, static, docker);
`nox -t static` only what needs no Docker engine. `nox --list` explains each session.

The variant axes come from copier.yml (devtools/variants.py): `render(ID)` and `lint(ID)` exist for
every combination, `build(ID)` for the covering set, so one variant can be looked at on its own.
Reading copier.yml needs PyYAML and Jinja: the script block above makes nox run itself in an
environment that has them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nox

# nox imports this file without putting its folder on sys.path; devtools/ lives beside it.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from devtools import variants  # noqa: E402

nox.needs_version = ">=2025.2.9"
nox.options.sessions = ["ruff", "static", "docker"]
nox.options.reuse_venv = "yes"
nox.options.error_on_missing_interpreters = True

PYPROJECT = nox.project.load_toml("pyproject.toml")
DEV_DEPENDENCIES = nox.project.dependency_groups(PYPROJECT, "dev")
EVERY_VARIANT = [variants.variant_id(answers) for answers in variants.all_combinations()]
COVERING_SET = [variants.variant_id(answers) for answers in variants.covering_set()]


@nox.session(tags=["static"])
def ruff(session: nox.Session) -> None:
    """Lint and format-check the template repository's own Python (ruff)."""
    session.install(*DEV_DEPENDENCIES)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(tags=["static"])
def static(session: nox.Session) -> None:
    """Every variant rendered and checked without Docker builds, `copier update` on real edits,
    answers, task library: the static tier (pytest -m static)."""
    session.install(*DEV_DEPENDENCIES)
    session.run("pytest", "-m", "static", *session.posargs)


@nox.session(tags=["docker"])
def docker(session: nox.Session) -> None:
    """The docker tier: the covering set of variants built with BuildKit, run, probed, scanned.

    Docker Hub images come through DOCKERHUB_MIRROR, when set; LOCAL_REGISTRY names the registry
    that test images are tagged for (default 127.0.0.1:5000); BUILD_PYTHON_VERSIONS limits the
    Python versions built (default: every version copier.yml offers).
    """
    session.install(*DEV_DEPENDENCIES)
    session.run("pytest", "-m", "docker", *session.posargs)


@nox.session(tags=["variant"], default=False)
@nox.parametrize("variant", EVERY_VARIANT, ids=EVERY_VARIANT)
def render(session: nox.Session, variant: str) -> None:
    """Render one variant into build/variants/ID (this checkout, uncommitted edits included)."""
    session.install(*DEV_DEPENDENCIES)
    session.run("invoke", "render", "--variant", variant, "--force", f"build/variants/{variant}")


@nox.session(tags=["variant"], default=False)
@nox.parametrize("variant", EVERY_VARIANT, ids=EVERY_VARIANT)
def lint(session: nox.Session, variant: str) -> None:
    """The static checks of one variant: hadolint, trivy config, bake scopes, compose, shellcheck,
    ruff and formatting, its own tests without PostgreSQL."""
    session.install(*DEV_DEPENDENCIES)
    session.run("pytest", "tests/static/test_every_variant.py", "-k", f"[{variant}]", *session.posargs)


@nox.session(tags=["variant"], default=False)
@nox.parametrize("variant", COVERING_SET, ids=COVERING_SET)
def build(session: nox.Session, variant: str) -> None:
    """Build one variant of the covering set with its own `invoke build` (needs a Docker engine)."""
    session.install(*DEV_DEPENDENCIES)
    session.run("invoke", "build", "--variant", variant)


@nox.session(tags=["static"], default=False)
def update(session: nox.Session) -> None:
    """`copier update` from an older tagged template onto a project with its owners' edits."""
    session.install(*DEV_DEPENDENCIES)
    session.run("pytest", "tests/static/test_copier_update.py", *session.posargs)


@nox.session(tags=["bench"], default=False)
def bench(session: nox.Session) -> None:
    """Measure image sizes over base, Chromium floors, new layer bytes and warm rebuild times.

    Writes docs/benchmarks.md and docs/benchmarks.json. Not part of the test run.
    """
    session.install(*DEV_DEPENDENCIES)
    session.run("python", "-m", "devtools.bench")
