"""Docker tier: the layer order of the Dockerfile keeps the expensive steps cached. Steps are
read from BuildKit's own progress stream (--progress=rawjson), not from its printed text."""

from __future__ import annotations

import re
import uuid

import pytest

from devtools import tasklib

buildkit = tasklib.module("buildkit")
DEPENDENCY_STEP = re.compile(r"\b(uv sync|apt-get install|npm ci)\b")
PYTHON_DEPENDENCY_STEP = re.compile(r"\buv sync\b")


@pytest.fixture(scope="module")
def project(render_variant, dockerhub_mirror, engine, runner):
    path = render_variant("cache-default", dockerhub_mirror=dockerhub_mirror)
    tag = f"dockwright-cache-test-{uuid.uuid4().hex[:8]}"
    state = {"path": path, "tag": tag}
    build_all(state, runner)  # warm: everything after this is a rebuild
    # An identical rebuild must be served wholly from the cache. If it is not, the engine lost
    # cache records between two builds (a pruning or broken engine), and the tests below could not
    # tell a bad layer order from that: say so instead of blaming the Dockerfile.
    rerun = [step for step in build_all(state, runner) if not step.cached and not is_base_image(step)]
    if rerun:
        pytest.fail(
            "the engine did not reuse its own cache for an identical rebuild (is something pruning "
            "it, or is the cache broken? `docker buildx prune --all --force` resets it):\n" + describe(rerun)
        )
    yield state
    for image in engine.images.list(name=tag):
        engine.images.remove(image.id, force=True)


def build_all(project, runner) -> list:
    steps = []
    for target in ("runtime-minimal", "celery-unified"):
        result = runner.run(
            ["docker", "buildx", "build", "--progress=rawjson", "--target", target]
            + ["--tag", f"{project['tag']}:{target}", "."],
            cwd=project["path"],
            timeout=1200,
        )
        steps += [step for step in buildkit.parse_rawjson(result.stderr) if step.is_instruction]
    return steps


def is_base_image(step) -> bool:
    """BuildKit reports resolving the FROM image as a step that ran, cache or not."""
    return " FROM " in step.name


def describe(steps) -> str:
    return "\n".join(
        f"{'CACHED' if step.cached else 'RAN   '} {step.seconds or 0:6.1f} s {step.name[:110]}" for step in steps
    )


def test_python_change_reruns_no_dependency_step(project, runner):
    views = project["path"] / "my_site" / "views.py"
    # Unique text: BuildKit caches by content, so an edit seen in an earlier run would be cached.
    views.write_text(views.read_text() + f"\n# a one-line change {uuid.uuid4().hex}\n")

    steps = build_all(project, runner)

    dependency_steps = [step for step in steps if DEPENDENCY_STEP.search(step.name)]
    assert len(dependency_steps) >= 4, describe(steps)  # uv sync, apt (tini, Chromium), npm ci
    assert all(step.cached for step in dependency_steps), describe(steps)
    code_copies = [step for step in steps if "COPY my_site/" in step.name]
    # The second target reuses what the first one just rebuilt, so some copies are cached.
    assert any(not step.cached for step in code_copies), "the change was not built"


def test_css_change_keeps_the_python_dependency_layers(project, runner):
    stylesheet = project["path"] / "frontend" / "src" / "app.css"
    stylesheet.write_text(stylesheet.read_text() + f"\n.changed-{uuid.uuid4().hex} {{ color: red; }}\n")

    steps = build_all(project, runner)

    python_steps = [step for step in steps if PYTHON_DEPENDENCY_STEP.search(step.name)]
    assert python_steps and all(step.cached for step in python_steps), describe(steps)
    css_builds = [step for step in steps if "npm run build" in step.name]
    assert any(not step.cached for step in css_builds), "the CSS change was not built"
