"""Variants of the template: read from copier.yml (the single source of the axes) and rendered.

A variant is a dict of Copier answers. Only answers that differ from copier.yml's defaults
need to be given; everything else takes the template's default.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any

import jinja2
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
    this commit would get it. DOCKWRIGHT_TEMPLATE names another template repository to render
    from (the test that breaks a copy of the template on purpose uses it).
    """
    # Imported here: the noxfile imports this module in nox's own environment, which has no copier.
    import copier

    copier.run_copy(
        os.environ.get("DOCKWRIGHT_TEMPLATE") or str(ROOT),
        str(destination),
        data=dict(answers or {}),
        defaults=True,
        vcs_ref=vcs_ref,
        quiet=True,
        unsafe=False,
    )
    return destination


def choices(question: str) -> list:
    """The values a question allows, from copier.yml: its choices, or both booleans."""
    spec = questions()[question]
    if spec.get("type") == "bool":
        return [False, True]
    values = spec["choices"]
    return list(values.values()) if isinstance(values, dict) else list(values)


# Questions whose answers change what is generated (free text such as the name does not).
AXES = ("python_version", "frontend", "celery", "flower", "chromium", "deploy_target", "ci")


def all_combinations() -> list[dict[str, Any]]:
    """Every valid combination of the axes, as copier.yml allows them: flower is asked only with
    celery, and Chromium runs in the worker, so it needs celery."""
    combinations: list[dict[str, Any]] = [{}]
    for axis in AXES:
        combinations = [{**combo, axis: value} for combo in combinations for value in choices(axis)]
    return [
        combo for combo in combinations if (combo["celery"] or (not combo["flower"] and combo["chromium"] == "none"))
    ]


def variant_id(answers: dict[str, Any]) -> str:
    """A readable id, e.g. py313-frontend-chromium_worker-celery-swarm-github."""
    parts = [f"py{answers['python_version'].replace('.', '')}"]
    parts += ["frontend"] if answers["frontend"] else []
    parts += [f"chromium_{answers['chromium']}"] if answers["chromium"] != "none" else []
    parts += ["celery"] if answers["celery"] else []
    parts += ["flower"] if answers["flower"] else []
    return "-".join(parts + [answers["deploy_target"], answers["ci"]])


def defaults() -> dict[str, Any]:
    """The answers `copier copy --defaults` gives, on every axis (Jinja defaults evaluated in order)."""
    answers: dict[str, Any] = {}
    for axis in AXES:
        default = questions()[axis].get("default")
        if isinstance(default, str) and "{{" in default:
            # The matrix is of new projects: adopt mode is tested on a project made for it.
            default = jinja2.Environment().from_string(default).render(mode="new", **answers)
        answers[axis] = default
    return answers


def fullest() -> dict[str, Any]:
    return {**defaults(), **FULLEST}


def by_id(identifier: str) -> dict[str, Any]:
    """The combination whose variant_id is `identifier`; ValueError listing similar ones if none."""
    combinations = {variant_id(answers): answers for answers in all_combinations()}
    if identifier in combinations:
        return combinations[identifier]
    close = difflib.get_close_matches(identifier, combinations, n=3, cutoff=0.6)
    hint = f" Did you mean {', '.join(close)}?" if close else " `invoke variants` lists them."
    raise ValueError(f"No variant {identifier!r}.{hint}")


def buildable_python_versions() -> list[str]:
    """Python versions whose base image this machine can pull: BUILD_PYTHON_VERSIONS (comma-separated)
    when set, e.g. where a mirror holds only some python:X-slim images; else every version offered."""
    offered = choices("python_version")
    wanted = [version.strip() for version in os.environ.get("BUILD_PYTHON_VERSIONS", "").split(",") if version.strip()]
    unknown = sorted(set(wanted) - set(offered))
    if unknown:
        raise ValueError(f"BUILD_PYTHON_VERSIONS names {', '.join(unknown)}; copier.yml offers {', '.join(offered)}.")
    return wanted or offered


def covering_set() -> list[dict[str, Any]]:
    """The default and the fullest variant, then, greedily, the fewest more combinations that give
    every value of every axis at least once (Python versions limited to the buildable ones)."""
    pythons = buildable_python_versions()
    chosen = [defaults(), fullest()]
    candidates = [answers for answers in all_combinations() if answers["python_version"] in pythons]
    wanted = {(axis, value) for axis in AXES for value in choices(axis) if axis != "python_version" or value in pythons}
    uncovered = wanted - {(axis, answers[axis]) for answers in chosen for axis in AXES}
    while uncovered:
        best = max(candidates, key=lambda answers: len(uncovered & set(answers.items())))
        chosen.append(best)
        uncovered -= set(best.items())
    return chosen
