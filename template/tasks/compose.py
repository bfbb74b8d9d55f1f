"""A single Docker host through Docker Compose: blue/green releases behind nginx.

The host runs the edge project (deploy/edge.yaml: nginx, Postgres, Redis and the volume with the
release history) and one release project per colour (deploy/release.yaml as STACK-blue and
STACK-green). A release starts in the colour that is not live, beside the live one; when Compose
reports every container healthy (and the migrations done), nginx is pointed at it and reloaded
gracefully, and only then is the old colour stopped. A release that does not turn healthy is
removed: nginx never pointed at it, so the live one keeps serving.

Works the same on a remote host (`DOCKER_HOST=ssh://deploy@host`): every step is a docker call.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from . import registry, runner
from .releases import HostReleaseLog, TargetUnavailable

COLORS = ("blue", "green")
EDGE_FILE = "deploy/edge.yaml"
RELEASE_FILE = "deploy/release.yaml"
STATE_DIR = "/var/lib/dockwright"  # the edge's `releases` volume, mounted in the proxy
LIVE_FILE = f"{STATE_DIR}/live-release.conf"
# After `nginx -s reload` returns, the master starts new workers and tells the old ones to stop
# accepting; until then a new request can still reach the old colour, which must be up.
SWITCH_GRACE_SECONDS = 2
STOP_TIMEOUT_SECONDS = 30


class ComposeTarget:
    """`invoke deploy` on a single host: the edge project, two colours, one of them live."""

    def __init__(self, stack: str, root: Path, env: dict[str, str], timeout: float) -> None:
        self.stack = stack
        self.root = root
        self.env = {**env, "STACK_NAME": stack}
        self.timeout = timeout
        self.log = HostReleaseLog(stack, self.proxy, STATE_DIR)

    def check(self) -> None:
        """The engine answered already (require_engine); the edge may not exist yet."""

    def prepare(self) -> None:
        """Start the edge when it is not up (the first deploy to a host); a running one stays as it is."""
        if self.proxy() is None:
            self.start_edge(self.timeout)

    def running_tags(self) -> dict[str, str]:
        live = self.live_colour()
        images = self.running_images(live) if live else {}
        return {service: registry.tag_of(image) for service, image in images.items() if service != "migrate"}

    def roll_out(self, tags: dict[str, str], env: dict[str, str], say: Callable[[str], None]) -> list[str]:
        """Start the release in the colour not live, switch to it once healthy, stop the old one.
        Returns what failed, or [] when the new release serves."""
        live = self.live_colour()
        colour = "green" if live == "blue" else "blue"
        release_env = {**env, "COLOR": colour}  # env holds the tags: WEB_TAG, ...
        say(f"starting {self.colour_project(colour)} beside {self.colour_project(live) if live else 'nothing'}")
        failure = self.start_release(colour, release_env, self.timeout)
        if failure:
            say(f"{colour} did not turn healthy ({failure}): removing it; {live or 'nothing'} stays live")
            self.stop_release(colour)
            return [failure]
        say(f"{colour} is healthy: pointing nginx at web-{colour}")
        self.switch_to(colour)
        if live:
            say(f"stopping {self.colour_project(live)}")
            self.stop_release(live)
        return []

    def compose(self, project: str, file: str, *args: str, env: dict[str, str] | None = None, timeout: float = 600):
        argv = ["docker", "compose", "--project-name", project, "--file", file, "--progress", "plain", *args]
        return runner.run(argv, cwd=self.root, env=env or self.env, check=False, timeout=timeout)

    def colour_project(self, colour: str) -> str:
        return f"{self.stack}-{colour}"

    # The edge -----------------------------------------------------------------------------

    def start_edge(self, timeout: float) -> None:
        started = self.compose(self.stack, EDGE_FILE, "up", "--detach", "--wait", "--wait-timeout", str(int(timeout)))
        if started.returncode != 0:
            detail = (started.stderr.strip().splitlines() or ["no output"])[-1]
            raise TargetUnavailable(
                f"Could not start the edge of {self.stack} ({EDGE_FILE}): {detail}. "
                f"`docker compose -p {self.stack} -f {EDGE_FILE} logs` shows why."
            )

    def proxy(self) -> str | None:
        """The running proxy container's ID, or None when the edge is not up on this host."""
        listed = runner.run(
            ["docker", "ps", "--quiet", "--filter", f"label=com.docker.compose.project={self.stack}"]
            + ["--filter", "label=com.docker.compose.service=proxy"],
            timeout=30,
        )
        ids = listed.stdout.split()
        return ids[0] if ids else None

    # The colours --------------------------------------------------------------------------

    def live_colour(self) -> str | None:
        proxy = self.proxy()
        if proxy is None:
            return None
        line = runner.run(["docker", "exec", proxy, "cat", LIVE_FILE], check=False, timeout=30).stdout
        colour = next((name for name in COLORS if f"web-{name}:" in line), None)
        # Before the first release the file points at blue, but nothing runs there.
        return colour if colour and self.running_images(colour) else None

    def running_images(self, colour: str) -> dict[str, str]:
        """service -> image of the containers running in a colour."""
        listed = runner.run(
            ["docker", "ps", "--filter", f"label=com.docker.compose.project={self.colour_project(colour)}"]
            + ["--format", '{{.Label "com.docker.compose.service"}} {{.Image}}'],
            timeout=30,
        )
        return dict(line.split(" ", 1) for line in listed.stdout.splitlines() if line.strip())

    def start_release(self, colour: str, env: dict[str, str], timeout: float) -> str | None:
        """Start a colour and wait until it is healthy; None when it is, else what went wrong."""
        project = self.colour_project(colour)
        # A colour that is not live holds nothing worth keeping (a deploy that died half-way).
        self.stop_release(colour)
        started = self.compose(
            project, RELEASE_FILE, "up", "--detach", "--wait", "--wait-timeout", str(int(timeout)), env=env
        )
        if started.returncode == 0:
            return None
        return self.describe_failure(project, env) or (started.stderr.strip().splitlines() or ["compose up failed"])[-1]

    def describe_failure(self, project: str, env: dict[str, str]) -> str:
        listed = self.compose(project, RELEASE_FILE, "ps", "--all", "--format", "json", env=env, timeout=60)
        problems = []
        for line in listed.stdout.splitlines():
            if not line.strip():
                continue
            container = json.loads(line)
            state, health = container.get("State", ""), container.get("Health", "")
            exit_code = container.get("ExitCode", 0)
            if health == "unhealthy" or (state == "exited" and exit_code != 0) or state in ("restarting", "dead"):
                problems.append(f"{container['Service']}: {health or state} (exit {exit_code})")
        return "; ".join(problems)

    def stop_release(self, colour: str) -> None:
        project = self.colour_project(colour)
        # `down` with the colour's own variables unset: it only needs the project's containers.
        stopped = self.compose(
            project,
            RELEASE_FILE,
            "down",
            "--timeout",
            str(STOP_TIMEOUT_SECONDS),
            env={**PLACEHOLDERS, **self.env, "COLOR": colour},
        )
        if stopped.returncode != 0:
            raise runner.CommandFailed(stopped)

    def switch_to(self, colour: str) -> None:
        """Point nginx at a colour and reload it gracefully; the old config stays if nginx refuses."""
        proxy = self.proxy()
        if proxy is None:
            raise TargetUnavailable(f"The proxy of {self.stack} is not running: `docker compose -p {self.stack} ps`.")
        script = (
            f"cp {LIVE_FILE} {LIVE_FILE}.previous"
            f" && echo 'set $web http://web-{colour}:8000;' > {LIVE_FILE}"
            " && if nginx -t -q; then nginx -s reload;"
            f" else cp {LIVE_FILE}.previous {LIVE_FILE}; exit 1; fi"
        )
        runner.run(["docker", "exec", proxy, "sh", "-c", script], timeout=60)
        time.sleep(SWITCH_GRACE_SECONDS)


# Variables release.yaml requires, given placeholder values where only the project name matters.
PLACEHOLDERS = dict.fromkeys(("WEB_TAG", "WORKER_TAG", "FLOWER_TAG", "DJANGO_SECRET_KEY", "POSTGRES_PASSWORD"), "-")
