"""`invoke report`: what each service image weighs, by stage, what is unique to it, how its last
build went, and what changed since the previous recorded build.

`invoke build` records its timings in build/report/builds.json; each report is appended to
build/report/history.json (git-ignored, last 50 kept) and written as JSON, Markdown and an SVG
chart beside it. With GITHUB_STEP_SUMMARY set (GitHub Actions), the Markdown is added there too.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from invoke import Exit, task
from tabulate import tabulate

from . import clock, images
from .build import REPORT_DIR, base_image, choose_targets, git_revision, image_reference, load_settings, require_engine
from .settings import Settings

HISTORY_KEPT = 50
FORMATS = ("table", "markdown", "json")
MB = 1_000_000
# What a layer holds, from the instruction that made it (first match wins).
GROUPS = (
    ("dependencies", re.compile(r"uv sync|pip install")),
    ("chromium", re.compile(r"chromium")),
    ("assets", re.compile(r"staticfiles")),
    ("app", re.compile(r"COPY (manage\.py|\w+/ \./)")),
)
GROUP_NAMES = ("dependencies", "chromium", "app", "assets", "other")


def group_of(created_by: str) -> str:
    return next((name for name, pattern in GROUPS if pattern.search(created_by)), "other")


def build_timings(root: Path, tag: str) -> dict:
    """What `invoke build` recorded for `tag`: per target, seconds, steps and cached steps."""
    path = root / REPORT_DIR / "builds.json"
    return (json.loads(path.read_text()) if path.is_file() else {}).get(tag, {})


def collect(settings: Settings, services: list[str], tag: str) -> dict:
    base = base_image(settings)
    base_layers = len(images.layers(base)) if images.exists(base) else 0
    # Unique bytes are counted against every built service of the tag, reported or not.
    built = [name for name in settings.services if images.exists(image_reference(settings, name, tag))]
    layers = {
        service: images.layers(image_reference(settings, service, tag)) for service in dict.fromkeys(services + built)
    }
    timings = build_timings(settings.root, tag)
    report = {
        "tag": tag,
        "created": clock.now(),
        "base_image": base,
        "services": {},
    }
    for service in services:
        own = layers[service]
        others = {layer.diff_id for name, theirs in layers.items() if name != service for layer in theirs}
        added = own[base_layers:]
        groups = dict.fromkeys(GROUP_NAMES, 0)
        for layer in added:
            groups[group_of(layer.created_by)] += layer.size
        timing = timings.get(service, {})
        report["services"][service] = {
            "image": image_reference(settings, service, tag),
            "size": sum(layer.size for layer in own),
            "over_base": sum(layer.size for layer in added),
            "unique": sum(layer.size for layer in own if layer.diff_id and layer.diff_id not in others),
            "layers": groups,
            "build_seconds": timing.get("seconds"),
            "steps": timing.get("steps"),
            "cached_steps": timing.get("cached"),
        }
    return report


def compare(report: dict, previous: dict | None) -> dict:
    """Add, per service, the previous recorded report's size and the change since."""
    for service, entry in report["services"].items():
        before = (previous or {}).get("services", {}).get(service)
        entry["previous"] = (
            {"tag": previous["tag"], "size": before["size"], "change": entry["size"] - before["size"]}
            if before
            else None
        )
    return report


def record(root: Path, report: dict) -> dict | None:
    """Append `report` to the history; return the previous report of another tag (or None)."""
    path = root / REPORT_DIR / "history.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    history = json.loads(path.read_text()) if path.is_file() else []
    previous = next((old for old in reversed(history) if old["tag"] != report["tag"]), None)
    history = [old for old in history if old["tag"] != report["tag"]] + [report]
    path.write_text(json.dumps(history[-HISTORY_KEPT:], indent=2))
    return previous


def megabytes(value: int | None) -> str:
    return "-" if value is None else f"{value / MB:.1f}"


def change(entry: dict) -> str:
    previous = entry.get("previous")
    return "-" if not previous else f"{previous['change'] / MB:+.1f} vs {previous['tag']}"


def rows(report: dict) -> list[list]:
    result = []
    for service, entry in report["services"].items():
        steps = "-" if entry["steps"] is None else f"{entry['cached_steps']}/{entry['steps']}"
        seconds = "-" if entry["build_seconds"] is None else f"{entry['build_seconds']:.1f}"
        result.append(
            [service, megabytes(entry["size"]), megabytes(entry["over_base"])]
            + [megabytes(entry["layers"][group]) for group in GROUP_NAMES]
            + [megabytes(entry["unique"]), seconds, steps, change(entry)]
        )
    return result


HEADER = ["service", "size MB", "over base", *GROUP_NAMES, "unique", "build s", "cached", "size change"]


def table(report: dict) -> str:
    return tabulate(rows(report), headers=HEADER, tablefmt="simple", disable_numparse=True)


def markdown(report: dict) -> str:
    title = f"### Images of {report['tag']} (MB, uncompressed; base {report['base_image']})\n\n"
    return title + tabulate(rows(report), headers=HEADER, tablefmt="github", disable_numparse=True) + "\n"


def chart(report: dict, path: Path) -> Path:
    """A stacked bar per service: MB over the base image, by what the layers hold."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    from matplotlib import pyplot

    services = list(report["services"])
    figure, axes = pyplot.subplots(figsize=(8, 1.2 + 0.6 * len(services)))
    left = [0.0] * len(services)
    for group in GROUP_NAMES:
        values = [report["services"][service]["layers"][group] / MB for service in services]
        axes.barh(services, values, left=left, label=group)
        left = [start + value for start, value in zip(left, values, strict=True)]
    axes.set_xlabel(f"MB over {report['base_image']}")
    axes.set_title(f"Images of {report['tag']}")
    axes.legend(loc="lower right", fontsize="small")
    figure.tight_layout()
    figure.savefig(path, format="svg")
    pyplot.close(figure)
    return path


@task(
    iterable=["service"],
    help={
        "service": "Report only this service (repeatable); default: every service",
        "tag": "Tag of the images (default: the git commit, else 'dev', as `invoke build`)",
        "format": f"Output: {', '.join(FORMATS)} (files in build/report/ are written in every format)",
    },
)
def report(c, service=None, tag=None, format="table"):
    """Sizes of the built images by stage, bytes unique to each, build time and cache use, change since last time."""
    settings = load_settings()
    if format not in FORMATS:
        raise Exit(f"Unknown format {format!r}: use one of {', '.join(FORMATS)}.", code=2)
    services = choose_targets(settings, service)
    require_engine()
    tag = tag or git_revision(settings.root) or "dev"
    missing = [image_reference(settings, name, tag) for name in services]
    missing = [reference for reference in missing if not images.exists(reference)]
    if missing:
        raise Exit(f"Not built: {', '.join(missing)}. Run `invoke build --tag {tag}` first.", code=2)
    data = collect(settings, services, tag)
    compare(data, record(settings.root, data))
    folder = settings.root / REPORT_DIR
    (folder / "report.json").write_text(json.dumps(data, indent=2))
    (folder / "report.md").write_text(markdown(data))
    chart(data, folder / "report.svg")
    if os.environ.get("GITHUB_STEP_SUMMARY"):
        with open(os.environ["GITHUB_STEP_SUMMARY"], "a") as summary:
            summary.write(markdown(data))
    print({"table": table, "markdown": markdown, "json": lambda d: json.dumps(d, indent=2)}[format](data))
