"""Every combination of answers copier.yml allows (the axes are read from copier.yml itself),
rendered and checked: the bake file's cache scopes (each service's own scope plus the shared base
scope, no two targets writing one scope, every target building a stage that exists), and the
Dockerfile clean under hadolint and `trivy config` (no finding of MEDIUM or above)."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from devtools import variants
from tests.helpers import assert_cache_scopes

COMBINATIONS = variants.all_combinations()
BIN = Path(sys.executable).parent
# Many combinations render the same Dockerfile (deploy target and CI do not change it): scan each
# distinct content once. Identical input, identical result.
TRIVY_FINDINGS: dict[str, list] = {}


def trivy_findings(project: Path) -> list:
    digest = hashlib.sha256((project / "Dockerfile").read_bytes()).hexdigest()
    if digest not in TRIVY_FINDINGS:
        result = subprocess.run(
            [BIN / "trivy", "config", "--skip-check-update", "--quiet", "--format", "json"]
            + ["--severity", "MEDIUM,HIGH,CRITICAL", "."],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr
        results = {item["Target"]: item for item in json.loads(result.stdout).get("Results", [])}
        assert results["Dockerfile"]["MisconfSummary"]["Successes"] > 0, "the Dockerfile was not checked"
        TRIVY_FINDINGS[digest] = [
            (target, finding["ID"], finding["Severity"], finding["Title"])
            for target, item in results.items()
            for finding in item.get("Misconfigurations", [])
        ]
    return TRIVY_FINDINGS[digest]


@pytest.fixture(scope="module", params=COMBINATIONS, ids=[variants.variant_id(answers) for answers in COMBINATIONS])
def project(request, tmp_path_factory):
    """Rendered once per combination, for every test of this module."""
    return variants.render(tmp_path_factory.mktemp("variant") / "project", request.param)


def test_dockerfile_is_clean(project):
    hadolint = subprocess.run([BIN / "hadolint", "Dockerfile"], cwd=project, capture_output=True, text=True)

    assert hadolint.returncode == 0, hadolint.stdout + hadolint.stderr
    assert trivy_findings(project) == []


@pytest.mark.skipif(shutil.which("docker") is None, reason="`docker buildx bake --print` needs the docker CLI")
def test_bake_cache_scopes(project):
    assert_cache_scopes(project, "gha")
