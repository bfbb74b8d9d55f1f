"""Docker tier: the rest of the covering set (devtools.variants.covering_set: every value of every
axis at least once; the default and the fullest variant have their own, deeper module). Each is
built with BuildKit, started, awaited healthy, checked non-root with /health/ answering, and
scanned (`invoke scan`: hadolint, trivy config, secrets in every layer; nothing at MEDIUM or above)."""

from __future__ import annotations

import json
import urllib.request

import pytest

from devtools import variants
from tests.helpers import invoke

UID = "10001"
THOROUGHLY_TESTED = {variants.variant_id(variants.defaults()), variants.variant_id(variants.fullest())}
REST = [answers for answers in variants.covering_set() if variants.variant_id(answers) not in THOROUGHLY_TESTED]


@pytest.fixture(scope="module", params=REST, ids=[variants.variant_id(answers) for answers in REST])
def stack(request, start_stack):
    return start_stack(variants.variant_id(request.param), request.param)


def test_every_service_is_healthy_and_runs_as_the_unprivileged_user(stack):
    settings = stack.settings()
    for service in settings.services:
        assert stack.health(service) == "healthy", service
        assert stack.exec(service, "id", "-u").stdout.strip() == UID, service


def test_health_endpoint_answers(stack):
    with urllib.request.urlopen(f"http://127.0.0.1:{stack.env['WEB_PORT']}/health/", timeout=10) as response:
        assert response.status == 200
        assert json.load(response)["status"] == "ok"


def test_scan_finds_nothing_at_medium_or_above(stack, tmp_path):
    # Compose runs Flower from the worker's image: scanning the worker covers it.
    built = [name for name in stack.settings().services if name != "flower"]
    options = ["--tag", stack.env["TAG"], "--severity", "MEDIUM,HIGH,CRITICAL", "--allow-missing-db"]
    options += ["--db-repository", "127.0.0.1:9/none:2", "--cache-dir", str(tmp_path)]
    options += [argument for name in built for argument in ("--service", name)]

    result = invoke(stack.project, "scan", *options, env=stack.env)

    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads((stack.project / "build" / "scan" / "summary.json").read_text())
    secrets = [scan for scan in summary["scans"] if scan["scanner"] == "secrets"]
    assert [scan["target"] for scan in secrets] == built
    assert all(scan["result"] == "pass" and not scan["findings"] for scan in secrets)
