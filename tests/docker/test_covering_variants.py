"""Docker tier: the rest of the covering set (devtools.variants.covering_set: every value of every
axis at least once; the default and the fullest variant have their own, deeper module). Each is
built with BuildKit, started, awaited healthy, and checked non-root with /health/ answering."""

from __future__ import annotations

import json
import urllib.request

import pytest

from devtools import variants

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
