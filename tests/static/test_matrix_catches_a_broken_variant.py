"""The every-variant matrix fails for the right reason: a copy of the template with a Jinja
condition that drops the runtime-full stage for one slice of combinations (Python 3.14 with
Flower) is run through the same pytest module CI runs, and exactly the broken combination fails."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from devtools import updates
from devtools.variants import ROOT

BROKEN = "py314-frontend-chromium_worker-celery-flower-compose-github"
SIBLING = "py313-frontend-chromium_worker-celery-flower-compose-github"
STAGE_CONDITION = "{%- if chromium != 'none' %}\n\n\nFROM base AS runtime-full"
BROKEN_CONDITION = (
    "{%- if chromium != 'none' and not (python_version == '3.14' and flower) %}\n\n\nFROM base AS runtime-full"
)


def test_a_stage_dropped_for_one_combination_fails_that_combination_only(tmp_path):
    template = updates.snapshot(tmp_path / "template")
    updates.replace_once(template / "template" / "Dockerfile.jinja", STAGE_CONDITION, BROKEN_CONDITION)
    updates.commit_all(template, "break one slice of the matrix")

    result = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/static/test_every_variant.py", "-q", "-p", "no:cacheprovider"]
        + ["-k", f"([{BROKEN}] or [{SIBLING}]) and not own_tests"],
        cwd=ROOT,
        env={**os.environ, "DOCKWRIGHT_TEMPLATE": str(template)},
        capture_output=True,
        text=True,
        timeout=600,
    )

    failed = set(re.findall(r"^FAILED \S+\[(\S+)\]", result.stdout, re.MULTILINE))
    passed = int(re.search(r"(\d+) passed", result.stdout).group(1)) if "passed" in result.stdout else 0
    assert result.returncode == 1, result.stdout[-3000:]
    assert failed == {BROKEN}, result.stdout[-3000:]
    assert passed >= 4, "the sibling combination's checks should all pass"
