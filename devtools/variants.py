"""Variants of the template: read from copier.yml (the single source of the axes) and rendered.

A variant is a dict of Copier answers. Only answers that differ from copier.yml's defaults
need to be given; everything else takes the template's default.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import copier
import yaml

ROOT = Path(__file__).resolve().parent.parent
COPIER_YML = ROOT / "copier.yml"

# The fullest variant: every optional part switched on.
FULLEST = {
    "frontend": True,
    "celery": True,
    "flower": True,
    "chromium": "web_and_worker",
    "deploy_target": "swarm",
    "ci": "github",
}


def questions() -> dict[str, dict[str, Any]]:
    """copier.yml's questions (keys not starting with '_'), in file order."""
    config = yaml.safe_load(COPIER_YML.read_text())
    return {name: spec for name, spec in config.items() if not name.startswith("_")}


def mirror_from_environment() -> dict[str, str]:
    """The Docker Hub mirror answer from DOCKERHUB_MIRROR, when set (a laptop uses the default)."""
    mirror = os.environ.get("DOCKERHUB_MIRROR", "").strip().rstrip("/")
    return {"dockerhub_mirror": mirror} if mirror else {}


def render(destination: Path, answers: dict[str, Any] | None = None, *, vcs_ref: str = "HEAD") -> Path:
    """Render the template into `destination` with `answers` over the defaults; return the path.

    vcs_ref="HEAD" renders the checked-out template, uncommitted edits included, as a user of
    this commit would get it.
    """
    copier.run_copy(
        str(ROOT),
        str(destination),
        data=dict(answers or {}),
        defaults=True,
        vcs_ref=vcs_ref,
        quiet=True,
        unsafe=False,
    )
    return destination
