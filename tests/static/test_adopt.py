"""Adopt mode, without a Docker engine: `copier copy --data mode=adopt` into a realistic existing
Django project (tests/existing_project.py) writes only container and delivery files, leaves
every application file as it was, gives settings the tasks can read, a Dockerfile hadolint and
`trivy config` pass, and a `copier update` that changes nothing. The docker tier builds and runs it
(tests/docker/test_adopted_project_runs.py)."""

from __future__ import annotations

import subprocess

import copier
import pytest

from devtools import tasklib, updates, variants
from tests import existing_project
from tests.helpers import invoke

# What adoption adds (besides tasks/*.py, the task library itself); the project's old Dockerfile
# is replaced.
CONTAINER_FILES = {
    ".copier-answers.yml",
    ".dockerignore",
    ".github/workflows/ci.yml",
    ".github/workflows/deploy.yml",
    ".github/workflows/rollback.yml",
    "noxfile.py",
    ".hadolint.yaml",
    ".trivyignore.yaml",
    "compose.yaml",
    "deploy/edge.yaml",
    "deploy/release.yaml",
    "docker-bake.hcl",
    "docker/extra-ca.sh",
    "dockwright.toml",
    "tasks/requirements.txt",
}


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """This checkout's working tree as a committed repository: `copier update` needs the commit
    the project was made from to exist (copier's commit of a dirty template does not)."""
    return updates.snapshot(tmp_path_factory.mktemp("template") / "dockwright")


def adopt(template, project, **answers):
    copier.run_copy(
        str(template),
        str(project),
        data={**existing_project.ADOPT_ANSWERS, **variants.mirror_from_environment(), **answers},
        defaults=True,
        vcs_ref="HEAD",
        quiet=True,
        overwrite=True,  # the old Dockerfile is replaced, as copier asks interactively
        unsafe=False,
    )
    return project


def files(root):
    return {
        str(path.relative_to(root))
        for path in root.rglob("*")
        if path.is_file() and ".git" not in path.relative_to(root).parts
    }


@pytest.fixture(scope="module")
def adopted(template, tmp_path_factory):
    project = existing_project.write(tmp_path_factory.mktemp("adopted") / "portfolio")
    updates.git("init", "--quiet", cwd=project)
    updates.commit_all(project, "the project as its owners made it")
    before = {name: (project / name).read_bytes() for name in existing_project.FILES}
    adopt(template, project)
    return project, before


def test_only_container_and_delivery_files_are_added(adopted):
    project, before = adopted
    added = files(project) - set(before)
    task_library = {name for name in added if name.startswith("tasks/") and name.endswith(".py")}

    assert added - task_library == CONTAINER_FILES
    assert "tasks/deploy.py" in task_library


def test_every_application_file_is_left_as_it_was(adopted):
    project, before = adopted
    changed = [name for name in existing_project.APPLICATION_FILES if (project / name).read_bytes() != before[name]]

    assert changed == []
    assert (project / "Dockerfile").read_bytes() != before["Dockerfile"], "the old Dockerfile is replaced"


def test_the_dockerfile_is_built_from_the_answers(adopted):
    project, _ = adopted
    dockerfile = (project / "Dockerfile").read_text()

    assert "DJANGO_SETTINGS_MODULE=config.settings" in dockerfile
    assert '"gunicorn", "config.wsgi:application"' in dockerfile
    assert "--requirements /tmp/requirements/requirements/production.txt gunicorn" in dockerfile
    assert "COPY assets/package.json assets/package-lock.json ./" in dockerfile
    assert "COPY --from=builder /app/var/static/ ./var/static/" in dockerfile
    assert "http://127.0.0.1:8000/healthz/" in dockerfile
    assert '"celery", "--app", "config", "worker"' in dockerfile
    dockerignore = (project / ".dockerignore").read_text().splitlines()
    assert {".env", ".git", "static/build", "var/static", "**/node_modules"} <= set(dockerignore)


def test_the_tasks_read_dockwright_toml(adopted):
    project, _ = adopted
    settings = tasklib.module("settings").load(tasklib.module("settings").find_pyproject(project))

    assert settings.root == project
    assert (settings.project, settings.deploy_target) == ("portfolio", "compose")
    assert set(settings.services) == {"web", "worker"}
    listed = invoke(project, "--list")
    assert listed.returncode == 0 and "build" in listed.stdout


def test_the_generated_files_pass_the_scans_and_the_old_ones_do_not(adopted):
    """`trivy config` reads every Dockerfile of the project: the team's old one is reported (it runs
    as root) until they retire it, as docs/adopting.md says; the generated files are clean."""
    project, _ = adopted

    before = invoke(project, "scan", "--no-images")
    (project / "docker" / "worker.Dockerfile").unlink()
    after = invoke(project, "scan", "--no-images")

    assert before.returncode == 1
    report = (before.stdout + before.stderr).splitlines()
    findings = [line for line in report if line.startswith(("  HIGH", "  LOW", "  MEDIUM"))]
    assert findings and all("docker/worker.Dockerfile" in line for line in findings), findings
    assert after.returncode == 0, after.stdout[-3000:] + after.stderr[-3000:]


def test_copier_update_of_the_adopted_project_changes_nothing(adopted, tmp_path):
    project, _ = adopted
    updates.commit_all(project, "adopt dockwright")

    copier.run_update(str(project), vcs_ref="HEAD", defaults=True, overwrite=True, quiet=True, unsafe=False)

    status = subprocess.run(["git", "status", "--porcelain"], cwd=project, capture_output=True, text=True).stdout
    assert status == ""
    assert updates.problems(project) == []


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        (
            {"dependency_source": "uv"},
            "uv sync --locked --no-install-project --no-dev \\\n && /tmp/uv/bin/uv pip install",
        ),
        ({"dependency_source": "poetry"}, "poetry export --directory /tmp/project --only main"),
        ({"server_entry": "config.asgi:application"}, '"--worker-class", "uvicorn_worker.UvicornWorker"'),
        ({"requirements_file": "requirements.txt"}, "source=requirements.txt,target=/tmp/requirements/requirements"),
    ],
    ids=["uv", "poetry", "asgi", "top-level-requirements"],
)
def test_other_project_shapes_give_clean_dockerfiles(template, tmp_path, answers, expected):
    """The shapes the docker tier does not build: each renders the step it needs, hadolint-clean."""
    project = adopt(template, existing_project.write(tmp_path / "portfolio"), **answers)
    (project / "docker" / "worker.Dockerfile").unlink()  # the team's old one, root and all
    dockerfile = (project / "Dockerfile").read_text()

    assert expected in dockerfile
    result = invoke(project, "scan", "--no-images")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
