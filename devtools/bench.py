"""Benchmark of the generated images: what each service adds over the Python base image, how
close a Chromium image is to its floor, and what a one-line Python change costs a deploy.

Run with `nox -s bench` (needs a Docker engine and the registry in LOCAL_REGISTRY). Writes
docs/benchmarks.json and docs/benchmarks.md. Numbers are measured, never asserted: the tests
check behaviour, this records cost.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import tempfile
import time
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path

import docker

from . import tasklib, variants

MB = 1_000_000
VARIANTS = {"default": {}, "fullest": variants.FULLEST}
RUNS = 3
MANIFEST_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
runner = tasklib.module("runner")
images = tasklib.module("images")


def compose(project: Path, env: dict, *args: str) -> float:
    # Plain progress: a failed step's own output ends up in the error, not only "failed to solve".
    result = runner.run(["docker", "compose", "--progress", "plain", *args], cwd=project, env=env, timeout=3600)
    return result.seconds


def shell(client, image: str, script: str) -> str:
    return client.containers.run(image, entrypoint=["sh", "-c"], command=[script], remove=True, user="0").decode()


def installed_kib(client, image: str) -> dict[str, int]:
    out = shell(client, image, "dpkg-query -W -f '${Package} ${Installed-Size}\\n'")
    return {name: int(size or 0) for name, size in (line.split(" ") for line in out.splitlines() if line)}


def du_bytes(client, image: str, *paths: str) -> int:
    return int(shell(client, image, f"du -scb {' '.join(paths)} | tail -1 | cut -f1"))


def floor(client, image: str, base: str, slug: str) -> dict[str, int]:
    """The least a Chromium image can add: its new Debian packages, the venv, the app, the assets."""
    new_packages = set(installed_kib(client, image).items()) - set(installed_kib(client, base).items())
    packages = sum(size for _, size in new_packages) * 1024
    venv = du_bytes(client, image, "/opt/venv")
    app = du_bytes(client, image, f"/app/{slug}", "/app/manage.py")
    assets = du_bytes(client, image, "/app/staticfiles")
    return {
        "packages": packages,
        "venv": venv,
        "app": app,
        "assets": assets,
        "total": packages + venv + app + assets,
    }


def fetch_manifest(registry: str, repository: str, reference: str) -> dict:
    url = f"http://{registry}/v2/{repository}/manifests/{reference}"
    request = urllib.request.Request(url, headers={"Accept": ", ".join(MANIFEST_TYPES)})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def pushed_layers(registry: str, image: str) -> dict[str, int]:
    """Compressed layer digests and sizes of `image` as pushed to `registry` (what a deploy pulls)."""
    runner.run(["docker", "push", "--quiet", image], timeout=1800)
    repository, tag = image[len(registry) + 1 :].rsplit(":", 1)
    manifest = fetch_manifest(registry, repository, tag)
    if "manifests" in manifest:  # an index: the image itself, beside any attestation manifests
        image_manifest = next(
            entry
            for entry in manifest["manifests"]
            if entry.get("annotations", {}).get("vnd.docker.reference.type") != "attestation-manifest"
        )
        manifest = fetch_manifest(registry, repository, image_manifest["digest"])
    return {layer["digest"]: layer["size"] for layer in manifest["layers"]}


def time_to_healthy(project: Path, env: dict) -> float:
    """Seconds from `docker compose up` (images built) until every service reports healthy."""
    env = {**env, "COMPOSE_PROJECT_NAME": f"bench{uuid.uuid4().hex[:8]}", "WEB_PORT": "0", "FLOWER_PORT": "0"}
    try:
        return compose(project, env, "up", "--detach", "--wait", "--wait-timeout", "300")
    finally:
        compose(project, env, "down", "--volumes", "--remove-orphans")


def summary(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "runs": len(values)}


def bench_variant(name: str, answers: dict, client, mirror: str, registry: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        project = variants.render(Path(tmp) / "project", {**answers, "dockerhub_mirror": mirror})
        settings = tasklib.module("settings").load(project / "pyproject.toml")
        tag = f"bench{uuid.uuid4().hex[:8]}"
        env = {
            **os.environ,
            "DOCKERHUB_MIRROR": mirror,
            "REGISTRY": f"{registry}/dockwright-bench",
            "TAG": tag,
        }
        build_services = [s for s in settings.services if s != "flower"]  # flower reuses the worker image
        image_names = {service: f"{env['REGISTRY']}-{service}:{tag}" for service in build_services}
        base = f"{mirror}/python:{settings.python_version}-slim"
        if not images.exists(base):
            client.images.pull(base)
        try:
            cold_builds = []
            for _ in range(RUNS):
                # Every step executed (no build cache); base images are already local, as on any
                # machine that built once.
                cold_builds.append(compose(project, env, "build", "--no-cache", *build_services))
            result = {"services": {}, "cold_build_s": summary(cold_builds)}
            before = {service: pushed_layers(registry, image) for service, image in image_names.items()}
            for service, image in image_names.items():
                entry = {"over_base": images.added_over(image, base)}
                if settings.services[service].chromium:
                    entry["floor"] = floor(client, image, base, settings.project)
                result["services"][service] = entry

            python_rebuilds, css_rebuilds = [], []
            views = project / settings.project / "views.py"
            for _ in range(RUNS):
                views.write_text(views.read_text() + f"\n# one-line change {uuid.uuid4().hex}\n")
                python_rebuilds.append(compose(project, env, "build", *build_services))
            after = {service: pushed_layers(registry, image) for service, image in image_names.items()}
            for service in image_names:
                new = set(after[service]) - set(before[service])
                result["services"][service]["new_layer_bytes_per_python_change"] = sum(after[service][d] for d in new)
            stylesheet = project / "frontend" / "src" / "app.css"
            if stylesheet.exists():
                for _ in range(RUNS):
                    stylesheet.write_text(stylesheet.read_text() + f"\n.c{uuid.uuid4().hex} {{ color: red; }}\n")
                    css_rebuilds.append(compose(project, env, "build", *build_services))
            result["warm_rebuild_after_python_change_s"] = summary(python_rebuilds)
            result["time_to_healthy_s"] = summary([time_to_healthy(project, env) for _ in range(RUNS)])
            if css_rebuilds:
                result["warm_rebuild_after_css_change_s"] = summary(css_rebuilds)
            return result
        finally:
            for image in image_names.values():
                try:
                    client.images.remove(image, force=True)
                except docker.errors.ImageNotFound:
                    pass


def timing(value: dict | None) -> str:
    return f"{value['median']:.1f} ({value['min']:.1f}-{value['max']:.1f})" if value else "-"


def markdown(report: dict) -> str:
    machine = report["machine"]
    lines = [
        "# Benchmarks",
        "",
        f"Measured {report['date']} on {machine['cores']} cores, Docker {machine['engine']}, base image "
        f"`{machine['base']}`, by `nox -s bench` (devtools/bench.py). Sizes are uncompressed bytes over "
        "the base image; new layer bytes are the compressed bytes a deploy pushes and pulls after a "
        f"one-line Python change. Timings: median (min-max) of {RUNS} runs, building every service.",
        "",
        "| variant | service | over base (MB) | floor (MB) | over floor | new layer MB per Python change |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for name, result in report["variants"].items():
        for service, entry in result["services"].items():
            over_base = entry["over_base"]
            total = entry.get("floor", {}).get("total")
            floor_text = f"{total / MB:.1f} | {(over_base / total - 1) * 100:+.1f}%" if total else "- | -"
            new_bytes = entry["new_layer_bytes_per_python_change"] / MB
            lines.append(f"| {name} | {service} | {over_base / MB:.1f} | {floor_text} | {new_bytes:.2f} |")
    header = (
        "| variant | cold build (s) | rebuild after a Python change (s) | after a CSS change (s) | up to healthy (s) |"
    )
    lines += ["", header, "| --- | ---: | ---: | ---: | ---: |"]
    for name, result in report["variants"].items():
        cells = [
            timing(result.get(key))
            for key in ("cold_build_s", "warm_rebuild_after_python_change_s", "warm_rebuild_after_css_change_s")
        ]
        cells.append(timing(result.get("time_to_healthy_s")))
        lines.append(f"| {name} | {' | '.join(cells)} |")
    floors = [
        (name, service, entry["floor"])
        for name, result in report["variants"].items()
        for service, entry in result["services"].items()
        if "floor" in entry
    ]
    if floors:
        lines += ["", "Floors (MB): Debian packages added over the base + venv + app + assets.", ""]
        for name, service, parts in floors:
            text = ", ".join(f"{key} {value / MB:.1f}" for key, value in parts.items())
            lines.append(f"- {name} {service}: {text}")
    return "\n".join(lines) + "\n"


def main() -> None:
    mirror = os.environ.get("DOCKERHUB_MIRROR", "docker.io/library").rstrip("/")
    registry = os.environ.get("LOCAL_REGISTRY", "127.0.0.1:5000")
    client = docker.from_env()
    started = time.monotonic()
    report = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": {
            "cores": os.cpu_count(),
            "engine": client.version()["Version"],
            "platform": platform.machine(),
            "base": f"{mirror}/python:3.13-slim",
        },
        "variants": {
            name: bench_variant(name, answers, client, mirror, registry) for name, answers in VARIANTS.items()
        },
    }
    report["seconds"] = round(time.monotonic() - started, 1)
    docs = variants.ROOT / "docs"
    (docs / "benchmarks.json").write_text(json.dumps(report, indent=2) + "\n")
    (docs / "benchmarks.md").write_text(markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
