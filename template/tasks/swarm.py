"""Docker Swarm: deploy the stack file, then read the real outcome of the update.

`docker stack deploy` returns as soon as the new specs are accepted (and exits 0 even after Swarm
rolls a failed update back: docker/cli#6752), so the outcome is read from each service: its
UpdateStatus (completed, or rolled back with Swarm's reason) and its tasks (running, healthy, on
the new image), until every service has converged or the timeout passes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from . import registry, runner
from .releases import SwarmReleaseLog, TargetUnavailable

POLL_SECONDS = 2
# Swarm's UpdateStatus.State values: still moving, or ended without the new release.
MOVING_UPDATE_STATES = {"updating": "updating", "rollback_started": "rolling back"}
FAILED_UPDATE_STATES = {"rollback_completed", "rollback_paused", "paused"}
# stack.yaml's migrate job: restart_policy.max_attempts.
JOB_ATTEMPTS = 5
# The stack services a deploy waits for besides the ones built here (no tag of ours).
SUPPORT_SERVICES = ("proxy", "postgres", "redis")


class NotAManager(RuntimeError):
    pass


@dataclass(frozen=True)
class Outcome:
    service: str
    ok: bool | None  # None: still converging
    detail: str


def require_manager() -> None:
    swarm = json.loads(runner.run(["docker", "info", "--format", "{{json .Swarm}}"], timeout=30).stdout)
    if swarm.get("LocalNodeState") != "active" or not swarm.get("ControlAvailable"):
        raise NotAManager(
            f"This Docker engine is not a Swarm manager (swarm: {swarm.get('LocalNodeState') or 'inactive'}). "
            "Run `docker swarm init` on the host, or point DOCKER_HOST at a manager (e.g. ssh://deploy@host)."
        )


def inspect(name: str) -> dict | None:
    result = runner.run(["docker", "service", "inspect", name], check=False, timeout=30)
    return json.loads(result.stdout)[0] if result.returncode == 0 else None


def deployed_tag(name: str) -> str | None:
    service = inspect(name)
    return registry.tag_of(service["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"]) if service else None


def update_started(name: str) -> str | None:
    service = inspect(name)
    return ((service or {}).get("UpdateStatus") or {}).get("StartedAt")


def stack_exists(stack: str) -> bool:
    listed = runner.run(["docker", "stack", "ls", "--format", "{{.Name}}"], timeout=30).stdout.split()
    return stack in listed


def deploy(stack_file: str, stack: str, *, cwd, env) -> None:
    runner.run(
        ["docker", "stack", "deploy", "--compose-file", stack_file, "--with-registry-auth", "--detach=true", stack],
        cwd=cwd,
        env=env,
        timeout=300,
    )


def tasks(name: str) -> list[dict]:
    result = runner.run(["docker", "service", "ps", name, "--no-trunc", "--format", "{{json .}}"], timeout=30)
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def outcome(name: str, tag: str | None, started_before: str | None) -> Outcome:
    """Where the update of service `name` to `tag` stands (tag None: any image, e.g. Postgres)."""
    service = inspect(name)
    if service is None:
        return Outcome(name, None, "not created yet")
    status = service.get("UpdateStatus") or {}
    # Only an update started by this deploy counts; an older one's state is history.
    state = status.get("State") if status.get("StartedAt") not in (None, started_before) else None
    if state in MOVING_UPDATE_STATES:
        return Outcome(name, None, MOVING_UPDATE_STATES[state])
    if state in FAILED_UPDATE_STATES:
        return Outcome(name, False, status.get("Message") or state)
    image = service["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"]
    if tag is not None and registry.tag_of(image) != tag:
        return Outcome(name, False, f"runs {registry.tag_of(image)}, not {tag}")
    mode = service["Spec"]["Mode"]
    current = [task for task in tasks(name) if tag is None or registry.tag_of(task["Image"]) == tag]
    states = [task["CurrentState"].split()[0] for task in current]
    if "ReplicatedJob" in mode:
        if "Complete" in states:
            return Outcome(name, True, "job complete")
        if (
            states
            and all(state in ("Failed", "Rejected", "Shutdown") for state in states)
            and len(states) >= JOB_ATTEMPTS
        ):
            errors = {task["Error"] for task in current if task.get("Error")}
            return Outcome(name, False, f"job failed: {'; '.join(errors) or 'see docker service logs ' + name}")
        return Outcome(name, None, "job running")
    wanted = mode.get("Replicated", {}).get("Replicas", 1)
    running = [
        task for task in current if task["DesiredState"] == "Running" and task["CurrentState"].startswith("Running")
    ]
    if len(running) >= wanted:
        return Outcome(name, True, f"{len(running)}/{wanted} running")
    return Outcome(name, None, f"{len(running)}/{wanted} running")


def wait(
    expected: dict[str, str | None],
    started_before: dict[str, str | None],
    timeout: float,
    on_change: Callable[[Outcome], None] = lambda outcome: None,
) -> dict[str, Outcome]:
    """Poll every service in `expected` (name -> tag) until each has succeeded or failed."""
    deadline = time.monotonic() + timeout
    last: dict[str, Outcome] = {}
    while True:
        for name, tag in expected.items():
            if last.get(name) and last[name].ok is not None:
                continue
            current = outcome(name, tag, started_before.get(name))
            if current != last.get(name):
                on_change(current)
            last[name] = current
        if all(result.ok is not None for result in last.values()):
            return last
        if time.monotonic() > deadline:
            return {
                name: result
                if result.ok is not None
                else Outcome(name, False, f"timed out after {timeout:.0f} s: {result.detail}")
                for name, result in last.items()
            }
        time.sleep(POLL_SECONDS)


class SwarmTarget:
    """`invoke deploy` on a Swarm: `docker stack deploy` of stack.yaml, then the real outcome."""

    def __init__(self, stack: str, root, services: list[str], timeout: float) -> None:
        self.stack, self.root, self.services, self.timeout = stack, root, services, timeout
        self.log = SwarmReleaseLog(stack)

    def check(self) -> None:
        try:
            require_manager()
        except NotAManager as error:
            raise TargetUnavailable(str(error)) from None

    def prepare(self) -> None:
        """Nothing to start: the stack file holds every service."""

    def running_tags(self) -> dict[str, str]:
        tags = {name: deployed_tag(f"{self.stack}_{name}") for name in self.services}
        return {name: tag for name, tag in tags.items() if tag}

    def roll_out(self, tags: dict[str, str], env: dict[str, str], say: Callable[[str], None]) -> list[str]:
        """Deploy the stack with these tags; what failed, or [] when every service converged."""
        expected = {f"{self.stack}_{name}": tags[name] for name in self.services}
        expected[f"{self.stack}_migrate"] = tags["web"]
        expected.update({f"{self.stack}_{name}": None for name in SUPPORT_SERVICES})
        started_before = {name: update_started(name) for name in expected}
        deploy("stack.yaml", self.stack, cwd=self.root, env=env)
        outcomes = wait(expected, started_before, self.timeout, on_change=lambda outcome: say(show(outcome)))
        return [f"{outcome.service}: {outcome.detail}" for outcome in outcomes.values() if not outcome.ok]


def show(outcome: Outcome) -> str:
    state = "ok" if outcome.ok else "FAILED" if outcome.ok is False else "..."
    return f"{state:>6}  {outcome.service}: {outcome.detail}"
