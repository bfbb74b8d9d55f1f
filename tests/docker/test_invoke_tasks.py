"""Docker tier: the generated project's own tasks, run with `invoke` in a rendered project that
is a git repository (so images are tagged with its commit): build, test, scan, doctor, and what
they say when the mirror is unreachable, a test fails or a secret was left in an image."""

from __future__ import annotations

import json
import os
import random
import re
import string
import subprocess
import tomllib
import urllib.request
import uuid
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from devtools import tasklib
from tests.helpers import invoke

buildkit = tasklib.module("buildkit")
images = tasklib.module("images")
DEPENDENCY_STEP = re.compile(r"\b(uv sync|apt-get install|npm ci)\b")


@pytest.fixture(scope="module")
def project(render_variant, dockerhub_mirror, local_registry, runner, engine):
    path = render_variant("tasks-e2e", dockerhub_mirror=dockerhub_mirror)
    for argv in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-qm", "scaffold"]):
        runner.run(
            argv,
            cwd=path,
            env={
                **os.environ,
                "GIT_AUTHOR_NAME": "t",
                "GIT_AUTHOR_EMAIL": "t@t",
                "GIT_COMMITTER_NAME": "t",
                "GIT_COMMITTER_EMAIL": "t@t",
            },
        )
    registry = f"{local_registry}/dockwright-tasks-{uuid.uuid4().hex[:6]}"
    env = {**os.environ, "REGISTRY": registry, "DOCKERHUB_MIRROR": dockerhub_mirror, "CACHE_BACKEND": "local"}
    sha = runner.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=path).stdout.strip()
    yield {"path": path, "env": env, "registry": registry, "sha": sha}
    for image in engine.images.list():
        if any(tag.startswith(registry) for tag in image.tags):
            engine.images.remove(image.id, force=True)


def test_build_makes_every_service_image_and_reports_it(project):
    result = invoke(project["path"], "build", env=project["env"])

    assert result.returncode == 0, result.stderr[-3000:]
    table = result.stdout.splitlines()
    assert table[0].split()[:3] == ["service", "image", "size"]
    for service in ("web", "worker"):
        image = f"{project['registry']}-{service}:{project['sha']}"
        assert images.exists(image), image
        row = next(line for line in table if line.startswith(service + " "))
        assert image in row and "MB" in row and "cached" in row
    assert (project["path"] / "build" / "cache" / "web" / "index.json").is_file(), "no local cache exported"


def test_shared_layers_are_identical_and_the_second_service_costs_little(project, engine):
    web_image, worker_image = (f"{project['registry']}-{service}:{project['sha']}" for service in ("web", "worker"))
    web = engine.images.get(web_image).attrs["RootFS"]["Layers"]
    worker = engine.images.get(worker_image).attrs["RootFS"]["Layers"]
    shared = 0
    while shared < min(len(web), len(worker)) and web[shared] == worker[shared]:
        shared += 1
    # Every layer has content (metadata-only history entries have size 0): pair them oldest first.
    worker_sizes = [size for size in reversed(images.layer_sizes(worker_image)) if size > 0]
    assert len(worker_sizes) == len(worker)
    unique = sum(size for layer, size in zip(worker, worker_sizes, strict=True) if layer not in set(web))
    print(f"\nworker shares {shared} of its {len(worker)} layers with web (same digests); pulling it after web")
    print(f"costs {unique / 1e6:.1f} MB of uncompressed layers, of {sum(worker_sizes) / 1e6:.1f} MB")
    # Python base image + tini + user + workdir + the locked virtualenv: all shared.
    assert shared >= 5


def test_report_breaks_each_image_down_and_compares_with_the_previous_build(project):
    older = invoke(project["path"], "build", "--service", "web", "--tag", "older", env=project["env"])
    assert older.returncode == 0, older.stderr[-2000:]
    assert invoke(project["path"], "report", "--service", "web", "--tag", "older", env=project["env"]).returncode == 0

    result = invoke(project["path"], "report", "--format", "json", env=project["env"])

    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert report["tag"] == project["sha"]
    web, worker = report["services"]["web"], report["services"]["worker"]
    for entry in (web, worker):
        assert entry["size"] > entry["over_base"] > 0
        assert sum(entry["layers"].values()) == entry["over_base"]
        assert entry["layers"]["dependencies"] > 10_000_000 and entry["layers"]["app"] > 0
        assert entry["build_seconds"] is not None and entry["cached_steps"] <= entry["steps"]
    assert web["layers"]["chromium"] == 0 and worker["layers"]["chromium"] > 100_000_000
    assert worker["unique"] >= worker["layers"]["chromium"] > web["unique"]
    assert web["previous"]["tag"] == "older" and web["previous"]["change"] == web["size"] - web["previous"]["size"]
    folder = project["path"] / "build" / "report"
    svg = ElementTree.parse(folder / "report.svg").getroot()
    assert svg.tag.endswith("svg") and len(list(svg.iter())) > 20, "the chart is empty"
    assert (folder / "report.md").read_text().startswith(f"### Images of {project['sha']}")
    history = json.loads((folder / "history.json").read_text())
    assert [entry["tag"] for entry in history] == ["older", project["sha"]]


def scan(project: dict, tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess, dict]:
    """`invoke scan` with a vulnerability DB repository that cannot answer and an empty cache, so
    that "no DB" is what happens on every machine, online or not."""
    db = ["--db-repository", "127.0.0.1:9/aquasec/trivy-db:2", "--cache-dir", str(tmp_path / "trivy-cache")]
    result = invoke(project["path"], "scan", *db, *args, env=project["env"])
    summary = json.loads((project["path"] / "build" / "scan" / "summary.json").read_text())
    return result, {(row["target"], row["scanner"]): row for row in summary["scans"]}


def test_scan_without_a_vulnerability_db_fails_naming_the_ways_out(project, tmp_path):
    result, rows = scan(project, tmp_path, "--severity", "MEDIUM,HIGH,CRITICAL")

    assert result.returncode == 4, result.stdout + result.stderr
    for way_out in ("Three ways out", "--db-repository", "--offline --cache-dir", "--allow-missing-db"):
        assert way_out in result.stderr
    for service in ("web", "worker"):
        # Secrets in every layer and in the image history: none, at any severity.
        assert rows[(service, "secrets")]["result"] == "pass"
        assert sum(rows[(service, "secrets")]["counts"].values()) == 0
        assert rows[(service, "vulnerabilities")]["result"] == "fail"
    assert rows[("project", "trivy config")]["result"] == rows[("Dockerfile", "hadolint")]["result"] == "pass"


def test_scan_allowed_to_skip_the_db_passes_and_writes_sboms(project, tmp_path):
    result, rows = scan(project, tmp_path, "--allow-missing-db", "--sbom", "--severity", "MEDIUM,HIGH,CRITICAL")

    assert result.returncode == 0, result.stdout + result.stderr
    assert rows[("web", "vulnerabilities")]["result"] == "skipped"
    assert "skipped: no vulnerability DB" in result.stdout
    lock = tomllib.loads((project["path"] / "uv.lock").read_text())
    django = next(package["version"] for package in lock["package"] if package["name"] == "django")
    for service in ("web", "worker"):
        sbom = json.loads((project["path"] / "build" / "scan" / f"{service}.cdx.json").read_text())
        assert sbom["bomFormat"] == "CycloneDX" and sbom["specVersion"].startswith("1.")
        python_packages = {
            component["name"].lower(): component["version"]
            for component in sbom["components"]
            if component.get("purl", "").startswith("pkg:pypi/")
        }
        assert python_packages.get("django") == django, python_packages
        assert len(python_packages) >= 10, python_packages


def test_scan_offline_without_a_cached_db_says_so(project, tmp_path):
    cache = tmp_path / "empty-cache"

    result = invoke(
        project["path"], "scan", "--service", "web", "--offline", "--cache-dir", str(cache), env=project["env"]
    )

    assert result.returncode == 4, result.stdout + result.stderr
    assert f"--offline was given, but {cache} holds no vulnerability DB" in result.stderr


def test_scan_finds_a_secret_planted_in_a_layer(project, tmp_path, runner, engine):
    key = "AKIA" + "".join(random.choices(string.ascii_uppercase + "234567", k=16))
    web = f"{project['registry']}-web:{project['sha']}"
    planted = f"{project['registry']}-web:planted"
    (tmp_path / "Dockerfile").write_text(
        f"FROM {web}\nRUN echo 'AWS_ACCESS_KEY_ID = \"{key}\"' > /tmp/leftover_settings.py\n"
    )
    runner.run(["docker", "buildx", "build", "--load", "--provenance=false", "-t", planted, str(tmp_path)], timeout=600)
    try:
        result, rows = scan(project, tmp_path, "--service", "web", "--tag", "planted", "--allow-missing-db")
    finally:
        engine.images.remove(planted, force=True)

    assert result.returncode == 1, result.stdout + result.stderr
    assert rows[("web", "secrets")]["result"] == "fail"
    assert "aws-access-key-id" in result.stderr
    assert "/tmp/leftover_settings.py" in result.stderr
    assert key not in result.stdout + result.stderr, "the scan printed the secret it found"


def test_scan_of_an_image_that_is_not_built_says_to_build_it(project):
    result = invoke(project["path"], "scan", "--tag", "never-built", env=project["env"])

    assert result.returncode == 2
    assert f"Not built: web ({project['registry']}-web:never-built)" in result.stderr
    assert "invoke build --tag never-built" in result.stderr


def test_test_task_runs_the_suite_against_postgres_and_redis(project):
    result = invoke(project["path"], "test", env=project["env"])

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    junit = project["path"] / "build" / "test-results" / "junit.xml"
    assert junit.is_file()
    assert 'failures="0"' in junit.read_text() and 'errors="0"' in junit.read_text()


def test_test_task_fails_with_the_failing_test_named(project, runner):
    broken = project["path"] / "tests" / "test_deliberately_broken.py"
    broken.write_text("def test_arithmetic_still_works():\n    assert 1 + 1 == 3\n")
    try:
        result = invoke(project["path"], "test", env=project["env"])
    finally:
        broken.unlink()

    assert result.returncode != 0
    assert "1 test(s) failed" in result.stderr
    assert "tests.test_deliberately_broken::test_arithmetic_still_works" in result.stderr
    leftovers = runner.run(["docker", "ps", "-aq", "--filter", "name=my-site-test-"]).stdout.strip()
    assert leftovers == "", "the task left its Postgres/Redis containers behind"


def test_doctor_passes_here_and_names_an_unreachable_mirror(project):
    good = invoke(project["path"], "doctor", env=project["env"])
    bad = invoke(project["path"], "doctor", env={**project["env"], "DOCKERHUB_MIRROR": "127.0.0.1:9/library"})

    assert good.returncode == 0, good.stdout
    assert bad.returncode == 1
    assert "127.0.0.1:9/library is unreachable" in bad.stdout
    assert "docker hub mirror" in bad.stderr


def test_build_through_an_unreachable_mirror_fails_with_the_way_out(project):
    env = {**project["env"], "DOCKERHUB_MIRROR": "127.0.0.1:9/library"}

    result = invoke(project["path"], "build", "--service", "web", "--tag", "unreachable", env=env)

    assert result.returncode == 1
    assert "The build failed:" in result.stderr
    assert "127.0.0.1:9" in result.stderr
    assert "invoke doctor" in result.stderr


def test_push_sends_the_image_with_a_provenance_attestation(project):
    result = invoke(project["path"], "build", "--service", "web", "--push", "--tag", "pushed", env=project["env"])

    assert result.returncode == 0, result.stderr[-3000:]
    registry, repository = project["registry"].split("/", 1)
    request = urllib.request.Request(
        f"http://{registry}/v2/{repository}-web/manifests/pushed",
        headers={"Accept": "application/vnd.oci.image.index.v1+json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        index = json.load(response)
    kinds = [manifest.get("annotations", {}).get("vnd.docker.reference.type") for manifest in index["manifests"]]
    assert "attestation-manifest" in kinds, index


@pytest.mark.prunes_build_cache
def test_local_cache_export_restores_every_dependency_step_after_a_prune(project, runner):
    """Prunes the engine's whole build cache, so it runs last (see conftest.py), in this module,
    after the first test exported the local caches under build/cache/."""
    for target in ("web", "worker"):
        assert (project["path"] / "build" / "cache" / target / "index.json").is_file(), f"no exported {target} cache"
    runner.run(["docker", "buildx", "prune", "--all", "--force"], timeout=600)
    try:
        check_every_dependency_step_comes_from_the_export(project, runner)
    finally:
        # The records imported from build/cache/ point at a directory pytest deletes: left in the
        # engine, they make later builds re-run steps that are cached (seen in the next run's
        # cache tests). Leave the engine's cache empty, as this test found it after its prune.
        runner.run(["docker", "buildx", "prune", "--all", "--force"], timeout=600)


def check_every_dependency_step_comes_from_the_export(project, runner):
    env = {**project["env"], "TAG": "from-exported-cache"}

    # One target at a time, as `invoke build` bakes them (a parallel bake also reports the
    # duplicate vertices it cancels, which would blur what ran).
    steps = []
    for target in ("web", "worker"):
        result = runner.run(
            ["docker", "buildx", "bake", "-f", "docker-bake.hcl", "--progress=rawjson", "--load", target],
            cwd=project["path"],
            env=env,
            timeout=1800,
        )
        steps += [step for step in buildkit.parse_rawjson(result.stderr) if step.is_instruction]

    dependency_steps = [step for step in steps if DEPENDENCY_STEP.search(step.name)]
    report = "\n".join(f"{'CACHED' if s.cached else 'RAN   '} {s.name[:100]}" for s in dependency_steps)
    print(f"\n{report}")
    assert len(dependency_steps) >= 4, report
    assert all(step.cached for step in dependency_steps), report
