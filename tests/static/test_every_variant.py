"""Every combination of answers copier.yml allows (the axes are read from copier.yml itself),
rendered and checked: the bake file's cache scopes (each service's own scope plus the shared base
scope, no two targets writing one scope, every target building a stage that exists), and the
Dockerfile clean under hadolint and `trivy config` (no finding at all; MEDIUM and above would fail)."""

from __future__ import annotations

import hashlib
import shutil
import sys
from pathlib import Path

import pytest

from devtools import tasklib, variants
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
