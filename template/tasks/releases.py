"""The release history and the deploy lock, kept on the deploy target where the whole team sees
them: on Swarm, as config objects of the manager (`docker config ls`), one per release.

A config is immutable and its creation is atomic: two deploys creating the lock config at once
cannot both succeed, and a release record cannot be edited afterwards.
"""

from __future__ import annotations

import base64
import getpass
import json
import os
import socket
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from . import clock, runner

LABEL = "io.dockwright.releases"
LOCK_LABEL = "io.dockwright.lock"


def who() -> str:
    """The person (or CI actor) behind a deploy, and the machine it ran on."""
    person = os.environ.get("GITHUB_ACTOR") or getpass.getuser()
    return f"{person}@{socket.gethostname()}"


@dataclass
class Release:
    action: str  # deploy | rollback
    tag: str
    services: list[str]
    outcome: str = "pending"  # succeeded | failed
    message: str = ""
    digests: dict[str, str] = field(default_factory=dict)
    who: str = field(default_factory=who)
    started: str = field(default_factory=clock.now)
    finished: str = ""
    number: int = 0

    @property
    def succeeded(self) -> bool:
        return self.outcome == "succeeded"


def lock_holder(tag: str) -> dict:
    """What a deploy lock says about the deploy holding it."""
    return {"who": who(), "since": clock.now(), "tag": tag, "pid": os.getpid()}


class TargetUnavailable(RuntimeError):
    """The deploy target cannot be reached or used; the message says what to do."""


class DeployLocked(RuntimeError):
    def __init__(self, holder: dict) -> None:
        self.holder = holder
        super().__init__(
            f"Another deploy holds the lock: {holder.get('who', '?')} since {holder.get('since', '?')} "
            f"(tag {holder.get('tag', '?')}). Wait for it to finish; if it died, break the lock with "
            "`invoke deploy --break-lock`."
        )


def _read_configs(names: list[str]) -> list[dict]:
    if not names:
        return []
    result = runner.run(["docker", "config", "inspect", *names])
    return json.loads(result.stdout)


def _data(config: dict) -> dict:
    return json.loads(base64.b64decode(config["Spec"]["Data"]))


def _create(name: str, labels: dict[str, str], data: dict) -> runner.Result:
    argv = ["docker", "config", "create"]
    for key, value in labels.items():
        argv += ["--label", f"{key}={value}"]
    return runner.run([*argv, name, "-"], input=json.dumps(data, indent=2), check=False)


class SwarmReleaseLog:
    """Releases of one stack, as Swarm configs named STACK_release_00001, ..."""

    def __init__(self, stack: str) -> None:
        self.stack = stack
        self.lock_name = f"{stack}_deploy_lock"

    def releases(self) -> list[Release]:
        listed = runner.run(
            ["docker", "config", "ls", "--filter", f"label={LABEL}={self.stack}", "--format", "{{.Name}}"]
        )
        records = [Release(**_data(config)) for config in _read_configs(listed.stdout.split())]
        return sorted(records, key=lambda release: release.number)

    def record(self, release: Release) -> Release:
        release.number = max((known.number for known in self.releases()), default=0) + 1
        name = f"{self.stack}_release_{release.number:05d}"
        created = _create(name, {LABEL: self.stack}, asdict(release))
        if created.returncode != 0:
            raise runner.CommandFailed(created)
        return release

    def acquire(self, tag: str) -> None:
        holder = lock_holder(tag)
        created = _create(self.lock_name, {LOCK_LABEL: self.stack}, holder)
        if created.returncode == 0:
            return
        if "already exists" in created.stderr or "AlreadyExists" in created.stderr:
            raise DeployLocked(self.holder() or {})
        raise runner.CommandFailed(created)

    def holder(self) -> dict | None:
        found = runner.run(["docker", "config", "inspect", self.lock_name], check=False)
        return _data(json.loads(found.stdout)[0]) if found.returncode == 0 else None

    def release_lock(self) -> None:
        runner.run(["docker", "config", "rm", self.lock_name], check=False)


class HostReleaseLog:
    """Releases of one single-host stack, as files in the edge's `releases` volume (on the host,
    whoever deploys): releases/00001.json, ..., and the lock as a directory (mkdir is atomic).

    Read and written through `docker exec` in the edge's proxy container, so a remote host
    (DOCKER_HOST=ssh://...) works the same and nothing is kept on the deploying laptop.
    """

    def __init__(self, stack: str, container: Callable[[], str | None], state_dir: str) -> None:
        self.stack = stack
        self.container = container
        self.state_dir = state_dir

    def _sh(self, script: str, input: str | None = None, check: bool = True) -> runner.Result:
        container = self.container()
        if container is None:
            raise TargetUnavailable(
                f"The edge of {self.stack} (nginx, Postgres, Redis) is not running on this Docker host: "
                "`invoke deploy` starts it; check DOCKER_HOST points at the right host."
            )
        argv = ["docker", "exec", "-i", container, "sh", "-c", f"cd {self.state_dir} && {script}"]
        return runner.run(argv, input=input, check=check, timeout=60)

    def releases(self) -> list[Release]:
        # One JSON document per line: each file holds one, written on one line.
        try:
            listed = self._sh("mkdir -p releases && find releases -name '*.json' -exec cat {} +")
        except TargetUnavailable:  # nothing deployed to this host yet
            return []
        records = [Release(**json.loads(line)) for line in listed.stdout.splitlines() if line.strip()]
        return sorted(records, key=lambda release: release.number)

    def record(self, release: Release) -> Release:
        release.number = max((known.number for known in self.releases()), default=0) + 1
        # noclobber: a number another deploy took in the meantime is refused, never overwritten.
        self._sh(f"set -C && cat > releases/{release.number:05d}.json", input=json.dumps(asdict(release)) + "\n")
        return release

    def acquire(self, tag: str) -> None:
        holder = lock_holder(tag)
        taken = self._sh("mkdir lock && cat > lock/holder.json", input=json.dumps(holder), check=False)
        if taken.returncode == 0:
            return
        if "exists" in taken.stderr:
            raise DeployLocked(self.holder() or {})
        raise runner.CommandFailed(taken)

    def holder(self) -> dict | None:
        found = self._sh("cat lock/holder.json", check=False)
        if found.returncode != 0:
            return None
        try:
            return json.loads(found.stdout)
        except ValueError:  # a deploy that died between mkdir and writing its name
            return {"who": "unknown (lock/holder.json is empty)"}

    def release_lock(self) -> None:
        self._sh("rm -rf lock", check=False)
