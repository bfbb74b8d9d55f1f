"""Docker tier: `invoke deploy`, `invoke rollback` and `invoke releases` of a generated project, on
each deploy target that runs here: a real single-node Swarm, and a single host through Docker
Compose (blue/green behind nginx). Images are pushed to the real registry at LOCAL_REGISTRY; HTTP
requests go through the target's nginx, published on 127.0.0.1, in a bounded loop while releases
change.

Tests run in file order, once per target, and build on each other: v1, v2 under traffic, a bad
v3, a missing tag, the lock, a good v4 and a rollback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid

import pytest

from tests.docker.conftest import free_port
from tests.helpers import invoke, released

STACK = f"dwdeploy{uuid.uuid4().hex[:6]}"


def run(*argv: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(argv, input=input, capture_output=True, text=True, check=check)


class SwarmProbe:
    """What a Swarm stack runs and records: service specs and config objects."""

    target = "swarm"

    def __init__(self, stack: str) -> None:
        self.stack = stack

    def running_tag(self, service: str) -> str:
        image = run(
            "docker", "service", "inspect", f"{self.stack}_{service}", "--format",
            "{{.Spec.TaskTemplate.ContainerSpec.Image}}",
        ).stdout.strip()  # fmt: skip
        return image.split("@")[0].rsplit(":", 1)[1]

    def releases(self) -> list[dict]:
        names = run(
            "docker", "config", "ls", "--filter", f"label=io.dockwright.releases={self.stack}", "--format", "{{.Name}}"
        ).stdout.split()  # fmt: skip
        return [
            json.loads(run("docker", "config", "inspect", "--format", '{{printf "%s" .Spec.Data}}', name).stdout)
            for name in sorted(names)
        ]

    def lock_held(self) -> bool:
        return run("docker", "config", "inspect", f"{self.stack}_deploy_lock", check=False).returncode == 0

    def plant_lock(self, holder: dict) -> None:
        run("docker", "config", "create", f"{self.stack}_deploy_lock", "-", input=json.dumps(holder))

    def remove(self) -> None:
        run("docker", "stack", "rm", self.stack, check=False)
        label = f"label=com.docker.stack.namespace={self.stack}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and run("docker", "ps", "-aq", "--filter", label).stdout.strip():
            time.sleep(2)
        names = run("docker", "config", "ls", "--format", "{{.Name}}").stdout.split()
        mine = [name for name in names if name.startswith(self.stack)]
        if mine:
            run("docker", "config", "rm", *mine, check=False)
        volumes = run("docker", "volume", "ls", "-q", "--filter", label).stdout.split()
        if volumes:
            run("docker", "volume", "rm", *volumes, check=False)
        left = [run("docker", kind, "ls", "-q", "--filter", label).stdout.strip() for kind in ("volume", "network")]
        assert left == ["", ""], f"the stack left volumes or networks behind: {left}"


class ComposeProbe:
    """What a single host runs and records: the colour projects' containers, and the files in the
    edge's `releases` volume (read through the proxy container, as the tasks do)."""

    target = "compose"
    state = "/var/lib/dockwright"

    def __init__(self, stack: str) -> None:
        self.stack = stack

    def proxy(self) -> str:
        return run("docker", "ps", "-q", "--filter", f"label=com.docker.compose.project={self.stack}",
                   "--filter", "label=com.docker.compose.service=proxy").stdout.split()[0]  # fmt: skip

    def running_tag(self, service: str) -> str:
        """The tag of the one running container of `service`, in whichever colour it runs."""
        listed = run("docker", "ps", "--filter", f"label=com.docker.compose.service={service}",
                     "--format", '{{.Label "com.docker.compose.project"}} {{.Image}}').stdout  # fmt: skip
        images = [image for project, image in (line.split() for line in listed.splitlines())
                  if project in (f"{self.stack}-blue", f"{self.stack}-green")]  # fmt: skip
        assert len(images) == 1, f"{service} runs {len(images)} containers: {images}"
        return images[0].rsplit(":", 1)[1]

    def releases(self) -> list[dict]:
        listed = run("docker", "exec", self.proxy(), "sh", "-c", f"cat {self.state}/releases/*.json").stdout
        return sorted((json.loads(line) for line in listed.splitlines() if line.strip()), key=lambda r: r["number"])

    def lock_held(self) -> bool:
        return run("docker", "exec", self.proxy(), "test", "-d", f"{self.state}/lock", check=False).returncode == 0

    def plant_lock(self, holder: dict) -> None:
        script = f"mkdir {self.state}/lock && cat > {self.state}/lock/holder.json"
        run("docker", "exec", "-i", self.proxy(), "sh", "-c", script, input=json.dumps(holder))

    def remove(self) -> None:
        for project in (f"{self.stack}-blue", f"{self.stack}-green", self.stack):
            containers = run("docker", "ps", "-aq", "--filter", f"label=com.docker.compose.project={project}").stdout
            if containers.split():
                run("docker", "rm", "--force", "--volumes", *containers.split())
            volumes = run("docker", "volume", "ls", "-q", "--filter", f"label=com.docker.compose.project={project}")
            if volumes.stdout.split():
                run("docker", "volume", "rm", *volumes.stdout.split())
        run("docker", "network", "rm", self.stack, check=False)
        left = run("docker", "ps", "-aq", "--filter", f"name={self.stack}").stdout.strip()
        assert not left, f"the deployment left containers behind: {left}"


@pytest.fixture(scope="module", params=[SwarmProbe, ComposeProbe], ids=["swarm", "compose"])
def deployment(request, render_variant, dockerhub_mirror, local_registry, runner, engine):
    probe = request.param(STACK)
    joined_swarm = probe.target == "swarm" and engine.info()["Swarm"]["LocalNodeState"] != "active"
    if joined_swarm:  # a single-node Swarm: the one already there, or one made here and left afterwards
        runner.run(["docker", "swarm", "init", "--advertise-addr", "127.0.0.1"], timeout=120)
    path = render_variant(f"deploy-{probe.target}", dockerhub_mirror=dockerhub_mirror, deploy_target=probe.target)
    pyproject = path / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('stack = "my-site"', f'stack = "{STACK}"'))
    registry = f"{local_registry}/{STACK}-{probe.target}"
    port = free_port()
    env = {
        **os.environ,
        "REGISTRY": registry,
        "DOCKERHUB_MIRROR": dockerhub_mirror,
        "CACHE_BACKEND": "none",
        # Swarm publishes in host mode on every address; the single host on loopback only.
        "HTTP_PORT": str(port) if probe.target == "swarm" else f"127.0.0.1:{port}",
        "DJANGO_SECRET_KEY": uuid.uuid4().hex,
        "POSTGRES_PASSWORD": uuid.uuid4().hex,
    }
    for tag in ("v1", "v2", "v4"):
        result = invoke(path, "build", "--push", "--tag", tag, env=env)
        assert result.returncode == 0, result.stderr[-3000:]
    yield {"path": path, "env": env, "registry": registry, "url": f"http://127.0.0.1:{port}/health/", "probe": probe}
    try:
        probe.remove()
    finally:
        if joined_swarm:
            runner.run(["docker", "swarm", "leave", "--force"], check=False, timeout=120)
        for image in engine.images.list():
            if any(tag.startswith(registry) for tag in image.tags):
                engine.images.remove(image.id, force=True)


def running_tags(deployment, *services: str) -> set[str]:
    return {deployment["probe"].running_tag(service) for service in services}


class Traffic:
    """GET /health/ through the proxy every 50 ms until stopped (at most 6000 requests or 300 s)."""

    def __init__(self, url: str) -> None:
        self.url, self.ok, self.failed = url, 0, []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)

    def loop(self) -> None:
        started = time.monotonic()
        while not self.stopped.is_set() and self.ok + len(self.failed) < 6000 and time.monotonic() - started < 300:
            try:
                with urllib.request.urlopen(self.url, timeout=5) as response:
                    body = json.load(response)
                    if response.status == 200 and body.get("status") == "ok":
                        self.ok += 1
                    else:
                        self.failed.append(f"{response.status} {body}")
            except (urllib.error.URLError, OSError, ValueError) as error:
                self.failed.append(repr(error)[:200])
            time.sleep(0.05)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopped.set()
        self.thread.join(timeout=30)
        print(f"\ntraffic: {self.ok} requests answered 200, {len(self.failed)} failed {self.failed[:5]}")


def wait_until_serving(url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(1)
    pytest.fail(f"{url} did not answer 200 within {timeout} s")


def test_first_deploy_comes_up_healthy_and_is_recorded(deployment):
    result = invoke(deployment["path"], "deploy", "--tag", "v1", env=deployment["env"])

    assert result.returncode == 0, result.stderr[-3000:]
    assert "deploy of v1 succeeded" in result.stdout
    wait_until_serving(deployment["url"])
    assert running_tags(deployment, "web", "worker") == {"v1"}
    [record] = deployment["probe"].releases()
    assert (record["action"], record["tag"], record["outcome"]) == ("deploy", "v1", "succeeded")
    assert set(record["digests"]) == {"web", "worker"} and all(
        d.startswith("sha256:") for d in record["digests"].values()
    )


def test_deploy_v2_under_traffic_loses_no_request(deployment):
    with Traffic(deployment["url"]) as traffic:
        started = time.monotonic()
        result = invoke(deployment["path"], "deploy", "--tag", "v2", env=deployment["env"])
        took = time.monotonic() - started

    print(f"{deployment['probe'].target}: deploy v1 -> v2 took {took:.1f} s")
    assert result.returncode == 0, result.stderr[-3000:]
    assert running_tags(deployment, "web", "worker") == {"v2"}
    assert traffic.ok > 100
    assert traffic.failed == []


def test_a_release_that_never_turns_healthy_is_rolled_back_and_never_served(deployment, runner, tmp_path):
    """v3 serves something else on port 8000 (a directory listing, /health/ 404), so its
    healthcheck fails; a request that reached it would fail too."""
    web_v2 = f"{deployment['registry']}-web:v2"
    probe = "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health/', timeout=1)"
    (tmp_path / "Dockerfile").write_text(
        f"FROM {web_v2}\n"
        "HEALTHCHECK --interval=2s --timeout=2s --start-period=2s --start-interval=1s --retries=2 \\\n"
        f"    CMD {json.dumps(['python', '-c', probe])}\n"
        'CMD ["python", "-m", "http.server", "8000"]\n'
    )
    bad = f"{deployment['registry']}-web:v3"
    runner.run(["docker", "buildx", "build", "--push", "--provenance=false", "-t", bad, str(tmp_path)], timeout=600)

    with Traffic(deployment["url"]) as traffic:
        result = invoke(deployment["path"], "deploy", "--tag", "v3", "--service", "web", env=deployment["env"])

    assert result.returncode == 1
    assert "deploy of v3 FAILED" in result.stderr
    assert deployment["probe"].running_tag("web") == "v2"
    assert traffic.ok > 20
    assert traffic.failed == [], "a request reached v3, or v2 stopped serving"
    last = deployment["probe"].releases()[-1]
    assert (last["tag"], last["outcome"]) == ("v3", "failed")
    assert "web" in last["message"]


def test_a_tag_missing_from_the_registry_changes_nothing(deployment):
    before = len(deployment["probe"].releases())

    result = invoke(deployment["path"], "deploy", "--tag", "v9", env=deployment["env"])

    assert result.returncode == 2
    assert f"Not in the registry: {deployment['registry']}-web:v9, {deployment['registry']}-worker:v9" in result.stderr
    assert "nothing was changed" in result.stderr
    assert deployment["probe"].running_tag("web") == "v2"
    assert len(deployment["probe"].releases()) == before


def test_an_unreachable_registry_changes_nothing(deployment):
    env = {**deployment["env"], "REGISTRY": "127.0.0.1:9/nowhere"}
    before = len(deployment["probe"].releases())

    result = invoke(deployment["path"], "deploy", "--tag", "v2", env=env)

    assert result.returncode == 3
    assert "cannot read 127.0.0.1:9/nowhere-web:v2 from its registry" in result.stderr
    assert "nothing was changed" in result.stderr
    assert deployment["probe"].running_tag("web") == "v2"
    assert len(deployment["probe"].releases()) == before


def test_a_second_deploy_is_refused_while_one_holds_the_lock(deployment):
    """The first deploy changes v2 to v4, so it holds the lock for a rolling update's length."""
    env = deployment["env"]
    first = subprocess.Popen(
        [sys.executable, "-m", "invoke", "deploy", "--tag", "v4"],
        cwd=deployment["path"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not deployment["probe"].lock_held():
            assert time.monotonic() < deadline and first.poll() is None, "the first deploy never took the lock"
            time.sleep(0.2)
        second = invoke(deployment["path"], "deploy", "--tag", "v2", env=env)
    finally:
        out, err = first.communicate(timeout=600)

    assert first.returncode == 0, err[-3000:]
    assert second.returncode == 1
    assert "Another deploy holds the lock" in second.stderr and "--break-lock" in second.stderr


def test_a_stale_lock_is_broken_only_when_asked(deployment):
    deployment["probe"].plant_lock({"who": "ghost@laptop", "since": "2026-01-01T00:00:00Z", "tag": "v0"})

    refused = invoke(deployment["path"], "deploy", "--tag", "v2", env=deployment["env"])
    forced = invoke(deployment["path"], "deploy", "--tag", "v2", "--break-lock", env=deployment["env"])

    assert refused.returncode == 1 and "ghost@laptop since 2026-01-01T00:00:00Z" in refused.stderr
    assert forced.returncode == 0, forced.stderr[-3000:]
    assert "breaking the deploy lock held by ghost@laptop" in forced.stderr


def test_rollback_after_a_good_release_returns_to_the_previous_one(deployment):
    assert invoke(deployment["path"], "deploy", "--tag", "v4", env=deployment["env"]).returncode == 0
    assert deployment["probe"].running_tag("web") == "v4"

    with Traffic(deployment["url"]) as traffic:
        started = time.monotonic()
        result = invoke(deployment["path"], "rollback", env=deployment["env"])
        took = time.monotonic() - started

    print(f"{deployment['probe'].target}: rollback v4 -> v2 took {took:.1f} s")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "rollback of v2 succeeded" in result.stdout
    assert running_tags(deployment, "web", "worker") == {"v2"}
    assert took < 60
    assert traffic.failed == []

    assert released(deployment["path"], deployment["env"]) == [
        ("deploy", "v1", "succeeded"),
        ("deploy", "v2", "succeeded"),
        ("deploy", "v3", "failed"),
        ("deploy", "v4", "succeeded"),
        ("deploy", "v2", "succeeded"),
        ("deploy", "v4", "succeeded"),
        ("rollback", "v2", "succeeded"),
    ]
