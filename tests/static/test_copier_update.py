"""`copier update` on a project its owners have changed: two tagged versions of the template in a
scratch clone (v1 lacks some of the current template's improvements), a project made from v1 and
edited the way users edit, then updated to v2. Needs git and the package index (`uv add`)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import yaml

from devtools import updates, variants

SLUG = "my_site"


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return updates.tagged_versions(tmp_path_factory.mktemp("template") / "dockwright")


@pytest.fixture
def project(template, tmp_path):
    return updates.generate(template, tmp_path / "project", variants.mirror_from_environment())


def edit(path, old, new):
    updates.replace_once(path, old, new)


def make_the_edits_users_make(project):
    """A Django app and a dependency (with `uv add`, so uv.lock changes too), a setting, a runtime
    package in the Dockerfile, and a task default in [tool.dockwright]."""
    app = project / SLUG / "blog"
    app.mkdir()
    (app / "__init__.py").write_text("")
    (app / "apps.py").write_text(
        f'from django.apps import AppConfig\n\n\nclass BlogConfig(AppConfig):\n    name = "{SLUG}.blog"\n'
    )
    settings = project / SLUG / "settings.py"
    edit(settings, "INSTALLED_APPS = [\n", f'INSTALLED_APPS = [\n    "{SLUG}.blog",\n')
    edit(settings, 'TIME_ZONE = "UTC"', 'TIME_ZONE = "Europe/Paris"')
    subprocess.run(
        [sys.executable, "-m", "uv", "add", "--no-sync", "markdown>=3.7"],
        cwd=project,
        check=True,
        capture_output=True,
        env={**os.environ, "UV_SYSTEM_CERTS": "1"},
    )
    edit(project / "Dockerfile", "--no-install-recommends tini \\", "--no-install-recommends tini libmagic1 \\")
    edit(project / "pyproject.toml", 'severity = ["HIGH", "CRITICAL"]', 'severity = ["MEDIUM", "HIGH", "CRITICAL"]')
    updates.commit_all(project, "our changes")


def test_update_keeps_every_edit_and_brings_the_improvements(project):
    make_the_edits_users_make(project)
    answers_before = yaml.safe_load((project / ".copier-answers.yml").read_text())

    updates.update(project)

    assert updates.problems(project) == []
    settings = (project / SLUG / "settings.py").read_text()
    assert f'"{SLUG}.blog",' in settings and 'TIME_ZONE = "Europe/Paris"' in settings
    assert (project / SLUG / "blog" / "apps.py").is_file()
    pyproject = (project / "pyproject.toml").read_text()
    assert '"markdown>=3.7"' in pyproject
    assert 'severity = ["MEDIUM", "HIGH", "CRITICAL"]' in pyproject
    assert 'name = "markdown"' in (project / "uv.lock").read_text()
    dockerfile = (project / "Dockerfile").read_text()
    assert "--no-install-recommends tini libmagic1 \\" in dockerfile
    # What v2 brought: a new file, a changed Dockerfile line, a changed setting.
    assert (project / "noxfile.py").is_file()
    assert "# Build with `docker buildx bake -f docker-bake.hcl` or `docker compose build`." in dockerfile
    assert 'select = ["E", "F", "I", "UP", "B"]' in pyproject
    answers_after = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers_after.pop("_commit") == "v2"
    assert answers_before.pop("_commit") == "v1"
    assert answers_after == answers_before


def test_a_conflicting_edit_is_reported_not_dropped(project):
    """The owner changed the very line v2 improves: the update must leave both for a person to
    decide, and the problem check (the one the clean update passes) must name the file."""
    dockerfile = project / "Dockerfile"
    edit(dockerfile, "# Build with `docker compose build`.", "# Build with `make image`.")
    updates.commit_all(project, "our build instructions")

    updates.update(project)

    assert updates.problems(project) == ["Dockerfile: conflict markers"]
    text = dockerfile.read_text()
    assert "# Build with `make image`." in text
    assert "# Build with `docker buildx bake -f docker-bake.hcl` or `docker compose build`." in text


def test_an_update_without_edits_changes_only_what_the_template_changed(project):
    updates.update(project)

    changed = updates.git("status", "--porcelain", cwd=project).split("\n")
    assert sorted(line[3:] for line in changed if line) == [
        ".copier-answers.yml",
        "Dockerfile",
        "noxfile.py",
        "pyproject.toml",
    ]
