"""Maintainer tasks for the dockwright template (`invoke --list`)."""

from __future__ import annotations

import json
from pathlib import Path

from invoke import Exit, task

from devtools import lockfile, variants


@task(
    help={
        "destination": "Directory to render into (must not exist or be empty)",
        "answer": "An answer as NAME=VALUE; repeat for several (-a celery=false -a chromium=none)",
        "fullest": "Start from the fullest variant (every optional part on)",
    },
    iterable=["answer"],
    positional=["destination"],
)
def render(c, destination, answer=None, fullest=False):
    """Render the template (this checkout, uncommitted edits included) into DESTINATION."""
    answers = dict(variants.FULLEST) if fullest else {}
    answers |= variants.mirror_from_environment()
    for item in answer or []:
        name, separator, value = item.partition("=")
        if not separator:
            raise Exit(f"--answer takes NAME=VALUE, got {item!r}.", code=2)
        answers[name] = value
    try:
        path = variants.render(Path(destination), answers)
    except ValueError as error:
        raise Exit(str(error), code=2) from None
    print(f"rendered {path} with {json.dumps(answers)}")


@task(help={"upgrade": "Also upgrade every locked package to its newest allowed version"})
def lock(c, upgrade=False):
    """Refresh template/uv.lock.jinja, the lock file every generated project starts with."""
    print(f"wrote {lockfile.refresh(upgrade=upgrade)}")
