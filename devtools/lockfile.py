"""Refresh template/uv.lock.jinja: one uv lock file serves every variant.

Every variant's pyproject.toml declares the same dependencies (Celery and Flower as extras the
Dockerfile picks per variant), so the lock differs between variants only in the project's own
name. We lock a rendered project and put the name back as a Jinja expression.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from .variants import ROOT, render

LOCK_TEMPLATE = ROOT / "template" / "uv.lock.jinja"
PLACEHOLDER_SLUG = "dockwright_lock_placeholder"
NAME_EXPRESSION = "{{ project_slug | replace('_', '-') }}"


def refresh(upgrade: bool = False) -> Path:
    with tempfile.TemporaryDirectory() as tmp:
        project = render(Path(tmp) / "project", {"project_slug": PLACEHOLDER_SLUG})
        command = [sys.executable, "-m", "uv", "lock"] + (["--upgrade"] if upgrade else [])
        # Use the system's CA store, so a TLS-intercepting proxy's CA is trusted where installed.
        subprocess.run(command, cwd=project, check=True, env={**os.environ, "UV_SYSTEM_CERTS": "1"})
        lock = (project / "uv.lock").read_text()
    placeholder = f'name = "{PLACEHOLDER_SLUG.replace("_", "-")}"'
    if lock.count(placeholder) != 1 or "{{" in lock or "{%" in lock or "{#" in lock:
        raise RuntimeError("uv.lock is not in the expected shape; refusing to write the template")
    LOCK_TEMPLATE.write_text(lock.replace(placeholder, f'name = "{NAME_EXPRESSION}"'))
    return LOCK_TEMPLATE
