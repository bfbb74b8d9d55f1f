"""Every combination of answers copier.yml allows (the axes are read from copier.yml itself):
rendered, and its bake file checked: each service's own cache scope plus the shared base scope,
no two targets writing one scope, every target building a stage that exists."""

from __future__ import annotations

import shutil

import pytest

from devtools import variants
from tests.helpers import assert_cache_scopes

COMBINATIONS = variants.all_combinations()


@pytest.mark.skipif(shutil.which("docker") is None, reason="`docker buildx bake --print` needs the docker CLI")
@pytest.mark.parametrize("answers", COMBINATIONS, ids=[variants.variant_id(answers) for answers in COMBINATIONS])
def test_bake_cache_scopes(tmp_path, answers):
    project = variants.render(tmp_path / "project", answers)

    assert_cache_scopes(project, "gha")
