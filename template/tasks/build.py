"""`invoke build`: the service images, built by `docker buildx bake -f docker-bake.hcl`.

Settings come from [tool.dockwright]; CLI options win over the environment (CACHE_BACKEND,
DOCKERHUB_MIRROR, REGISTRY), which wins over pyproject.toml.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from invoke import Exit, task

from . import buildkit, clock, images, runner
from .settings import Settings, SettingsError, load
from .table import format_table, megabytes

CACHE_BACKENDS = ("local", "registry", "gha", "none")
REPORT_DIR = Path("build") / "report"
DOCTOR_HINT = "Run `invoke doctor`: it checks the Docker engine, buildx and the mirror, and says what to fix."


@dataclass(frozen=True)
class TargetBuild:
    target: str
    image: str | None
    seconds: float
    steps: int
    cached: int


def load_settings() -> Settings:
    try:
        return load()
    except SettingsError as error:
        raise Exit(str(error), code=2) from None


def git_revision(root: Path) -> str | None:
    try:
        result = runner.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=root, check=False)
    except runner.ToolNotFound:
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def require_engine() -> None:
    """Exit with what to do unless the docker CLI, an engine and buildx all answer."""
    try:
        engine = runner.run(["docker", "version", "--format", "{{.Server.Version}}"], check=False, timeout=30)
    except runner.ToolNotFound as error:
        raise Exit(str(error), code=3) from None
    if engine.returncode != 0:
        where = os.environ.get("DOCKER_HOST", "the default socket")
        detail = (engine.stderr.strip().splitlines() or ["no answer"])[-1]
        raise Exit(
            f"No Docker engine answers at {where} ({detail}). Start Docker (`sudo systemctl start docker`, "
            "or Docker Desktop), or point DOCKER_HOST at a running engine, then retry.",
            code=3,
        )
    if runner.run(["docker", "buildx", "version"], check=False).returncode != 0:
        raise Exit(
            "docker buildx is not installed; bake needs it. Install the buildx plugin (Debian/Ubuntu: "
            "`apt install docker-buildx`; Docker Desktop ships it), then retry.",
            code=3,
        )


def choose_targets(settings: Settings, services: list[str] | None) -> list[str]:
    try:
        return [settings.service(name).name for name in services] if services else list(settings.services)
    except SettingsError as error:
        raise Exit(str(error), code=2) from None


def image_registry(settings: Settings) -> str:
    """Where the images go: REGISTRY from the environment wins over [tool.dockwright], as in the bake file."""
    return os.environ.get("REGISTRY") or settings.registry


def image_reference(settings: Settings, target: str, tag: str) -> str:
    """The image bake tags for `target`."""
    return f"{image_registry(settings)}-{target}:{tag}"


def base_image(settings: Settings) -> str:
    """The Python image every stage starts FROM, through the Docker Hub mirror."""
    mirror = os.environ.get("DOCKERHUB_MIRROR", settings.dockerhub_mirror)
    return f"{mirror}/python:{settings.python_version}-slim"


def bake_environment(settings: Settings, tag: str, cache: str, revision: str | None) -> dict[str, str]:
    env = dict(os.environ)
    env["REGISTRY"] = image_registry(settings)
    env.setdefault("DOCKERHUB_MIRROR", settings.dockerhub_mirror)
    env.update(
        TAG=tag,
        CACHE_BACKEND=cache,
        REVISION=revision or "unknown",
        CREATED=clock.now(),
    )
    return env


def show_step(step: buildkit.Step) -> None:
    if not step.is_instruction:
        return
    state = "ERROR " if step.error else "cached" if step.cached else f"{step.seconds or 0:5.1f}s"
    print(f"  {state:>7}  {step.name[:110]}", file=sys.stderr, flush=True)


def bake(settings: Settings, targets: list[str], *, tag: str, cache: str, push: bool = False) -> dict[str, TargetBuild]:
    """Bake `targets` in one invocation, printing each step as it finishes.

    BuildKit merges the identical steps of the targets' concurrent builds: the stages they share
    are built once, and every image carries the same base layers (identical digests).
    """
    env = bake_environment(settings, tag, cache, git_revision(settings.root))
    reader = buildkit.ProgressReader()
    argv = ["docker", "buildx", "bake", "-f", settings.bake_file, "--progress=rawjson", *targets]
    # Pushed images carry a provenance attestation (how and from what they were built); images
    # loaded into the local engine need none, and skipping it avoids BuildKit's provenance walk,
    # which crashed BuildKit 0.13 (dockerd 26) under two concurrent builds here.
    argv += ["--push", "--provenance=mode=max"] if push else ["--load", "--provenance=false"]
    try:
        runner.stream(argv, lambda line: [show_step(step) for step in reader.feed(line)], cwd=settings.root, env=env)
    except runner.CommandFailed as error:
        failed = [step for step in reader.steps() if step.error]
        where = "\n".join(f"  {step.name[:150]}: {step.error}" for step in failed) or error.result.stderr[-1500:]
        raise Exit(f"The build failed:\n{where}\n{DOCTOR_HINT}", code=1) from None
    steps = [step for step in reader.steps() if step.is_instruction]
    builds = {}
    for target in targets:
        # With several targets bake names steps "[target stage n/m]"; a step the targets share is
        # reported once, under the first target that needed it.
        mine = [step for step in steps if step.target == target or (len(targets) == 1 and step.target is None)]
        times = [moment for step in mine for moment in (step.started, step.completed) if moment]
        builds[target] = TargetBuild(
            target=target,
            image=image_reference(settings, target, tag),
            seconds=(max(times) - min(times)).total_seconds() if times else 0.0,
            steps=len(mine),
            cached=sum(step.cached for step in mine),
        )
    return builds


def save_build(root: Path, tag: str, builds: dict[str, TargetBuild]) -> None:
    """The timings and cache use of each target, per tag, for `invoke report` (build/report/builds.json)."""
    path = root / REPORT_DIR / "builds.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    known = json.loads(path.read_text()) if path.is_file() else {}
    record = known.pop(tag, {})  # re-inserted last: the newest tags stay at the end
    for name, done in builds.items():
        record[name] = {"seconds": done.seconds, "steps": done.steps, "cached": done.cached}
    known[tag] = record
    path.write_text(json.dumps(dict(list(known.items())[-20:]), indent=2))


def summary(settings: Settings, builds: dict[str, TargetBuild], pushed: bool) -> str:
    base = base_image(settings)
    rows = []
    for build in builds.values():
        size = over = None
        if not pushed and images.exists(build.image):
            size = images.size(build.image)
            over = images.added_over(build.image, base) if images.exists(base) else None
        steps = f"{build.cached}/{build.steps} cached" if build.steps else "-"
        rows.append((build.target, build.image, megabytes(size), megabytes(over), f"{build.seconds:.1f} s", steps))
    header = ("service", "image", "size", "over base", "build time", "steps")
    return format_table(header, rows)


@task(
    iterable=["service"],
    help={
        "service": "Build only this service (repeatable); default: every service in [tool.dockwright.services]",
        "push": "Push the images to the registry instead of loading them into the local engine",
        "cache": f"Cache backend: {', '.join(CACHE_BACKENDS)} (default: $CACHE_BACKEND, else local)",
        "tag": "Image tag (default: the git commit, else 'dev')",
    },
)
def build(c, service=None, push=False, cache=None, tag=None):
    """Build the service images with buildx bake; end with sizes, times and cache use per image."""
    settings = load_settings()
    targets = choose_targets(settings, service)
    cache = cache or os.environ.get("CACHE_BACKEND") or "local"
    if cache not in CACHE_BACKENDS:
        raise Exit(f"Unknown cache backend {cache!r}: use one of {', '.join(CACHE_BACKENDS)}.", code=2)
    require_engine()
    tag = tag or git_revision(settings.root) or "dev"
    builds = bake(settings, targets, tag=tag, cache=cache, push=push)
    save_build(settings.root, tag, builds)
    print(summary(settings, builds, pushed=push))
    if not push:
        print("\n`invoke report` breaks the sizes down by stage and compares them with the previous build.")
