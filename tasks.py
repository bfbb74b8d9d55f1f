"""Maintainer tasks for the dockwright template (`invoke --list`)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from invoke import Exit, task

from devtools import lockfile, variants

VARIANTS_DIR = Path("build") / "variants"


def variant_answers(variant: str | None) -> dict:
    try:
        return dict(variants.by_id(variant)) if variant else {}
    except ValueError as error:
        raise Exit(str(error), code=2) from None


def clear(destination: Path) -> None:
    """Remove a previous rendering; refuse anything that is not one (no .copier-answers.yml)."""
    if destination.exists():
        if not (destination / ".copier-answers.yml").is_file():
            raise Exit(f"{destination} exists and was not rendered by copier: not removing it.", code=2)
        shutil.rmtree(destination)


@task(name="variants")
def list_variants(c):
    """List every variant id (from copier.yml's axes); mark the default, the fullest and the covering set."""
    default, fullest = variants.variant_id(variants.defaults()), variants.variant_id(variants.fullest())
    covering = {variants.variant_id(answers) for answers in variants.covering_set()}
    combinations = variants.all_combinations()
    for answers in combinations:
        identifier = variants.variant_id(answers)
        marks = [
            name
            for name, on in (
                ("default", identifier == default),
                ("fullest", identifier == fullest),
                ("built in CI", identifier in covering),
            )
            if on
        ]
        print(f"{identifier:<70} {', '.join(marks)}".rstrip())
    print(f"\n{len(combinations)} variants; {len(covering)} in the covering set that the docker tier builds.")


@task(
    help={
        "destination": "Directory to render into (must not exist or be empty)",
        "variant": "A variant id from `invoke variants`, e.g. py313-frontend-chromium_worker-celery-compose-github",
        "answer": "An answer as NAME=VALUE; repeat for several (-a celery=false -a chromium=none)",
        "fullest": "Start from the fullest variant (every optional part on)",
        "force": "Replace DESTINATION if it holds an earlier rendering",
    },
    iterable=["answer"],
    positional=["destination"],
)
def render(c, destination, variant=None, answer=None, fullest=False, force=False):
    """Render the template (this checkout, uncommitted edits included) into DESTINATION."""
    if destination.startswith("-"):
        # invoke reads the token after a task with a positional argument as that argument.
        raise Exit(f"{destination!r} is not a directory to render into: `invoke --help render` lists options.", code=2)
    if force:
        clear(Path(destination))
    answers = dict(variants.FULLEST) if fullest else {}
    answers |= variant_answers(variant)
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


@task(help={"variant": "A variant id from `invoke variants` (default: the default variant)"})
def build(c, variant=None):
    """Render a variant into build/variants/ID and build it with the generated project's own `invoke build`."""
    variant = variant or variants.variant_id(variants.defaults())
    destination = VARIANTS_DIR / variant
    clear(destination)
    answers = variant_answers(variant) | variants.mirror_from_environment()
    variants.render(destination, answers)
    print(f"rendered {destination}; building it", flush=True)
    result = subprocess.run([sys.executable, "-m", "invoke", "build"], cwd=destination)
    if result.returncode != 0:
        raise Exit(f"invoke build failed in {destination} (exit {result.returncode}).", code=result.returncode)
