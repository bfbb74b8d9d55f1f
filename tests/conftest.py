"""Shared fixtures. Tiers: `static` (render and inspect, no Docker engine) and `docker` (build
and run on a real engine). A docker-tier test fails, never skips, when the engine is missing:
select the tier you want with `-m static` instead."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from devtools import tasklib, variants


def pytest_collection_modifyitems(items):
    for item in items:
        tier = "docker" if "tests/docker/" in item.nodeid.replace("\\", "/") else "static"
        item.add_marker(getattr(pytest.mark, tier))
    # A test that empties the engine's build cache runs after every other one. Its whole module
    # moves with it: moving the test alone would make pytest set the module's fixtures up again,
    # without what the module's earlier tests built.
    pruning = {item.module for item in items if item.get_closest_marker("prunes_build_cache")}
    items.sort(key=lambda item: (item.module in pruning, item.get_closest_marker("prunes_build_cache") is not None))


@pytest.fixture(scope="session")
def runner():
    return tasklib.module("runner")


@pytest.fixture(scope="session")
def dockerhub_mirror() -> str:
    """Where Docker Hub images come from: DOCKERHUB_MIRROR, else Docker Hub itself."""
    return os.environ.get("DOCKERHUB_MIRROR", "docker.io/library").rstrip("/")


@pytest.fixture(scope="session")
def local_registry() -> str:
    return os.environ.get("LOCAL_REGISTRY", "127.0.0.1:5000")


@pytest.fixture(scope="session")
def render_variant(tmp_path_factory):
    """render_variant(name, **answers) -> path of a freshly rendered project."""

    def render(name: str, **answers) -> Path:
        return variants.render(tmp_path_factory.mktemp(name) / "project", answers)

    return render
