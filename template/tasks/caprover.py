"""CapRover: `caprover deploy --imageName` per service app, then the web app's /health/.

Every call goes through the official CapRover CLI (`npm install -g caprover`), logged in on the
fly with CAPROVER_PASSWORD from the environment (never a file, never the command line): `caprover
deploy` switches an app to an image already in the registry, `caprover api` reads the apps and
keeps the release history and the deploy lock on the CapRover machine, where the whole team sees
them (docs/decisions/0012-caprover-target.md):

- apps: web deploys to the app named like the stack, every other service to STACK-SERVICE;
- history: one env var per release (RELEASE_00001 = the record as JSON) on the app STACK-releases,
  which never runs a container (0 instances);
- lock: the app STACK-deploy-lock, registered at the start of a deploy and deleted at its end.
  CapRover refuses to register a name that exists, so two deploys cannot both take it.

CapRover does not wait for a container to be healthy, so a release counts as good only once the
web app's /health/ answers 200 several times in a row after the switch; when it does not within
the deploy timeout, the apps this release switched are deployed back to their previous images.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from . import registry, runner
from .build import require_engine
from .releases import DeployLocked, Release, TargetUnavailable, lock_holder

CLI_TIMEOUT_SECONDS = 600
HEALTH_POLL_SECONDS = 2
# Answers in a row that count as "the new release serves": one could come from the old container
# while CapRover's Swarm service update is still replacing it.
HEALTHY_ANSWERS = 3
# CapRover's answer to registering a name that exists (ApiStatusCodes.STATUS_ERROR_ALREADY_EXIST).
ALREADY_EXISTS = "already exists"
# Signs in the CLI's output that CapRover never answered (Node's network errors).
UNREACHABLE = ("ECONNREFUSED", "ENOTFOUND", "ETIMEDOUT", "EHOSTUNREACH", "ECONNRESET", "socket hang up")


class CaproverError(TargetUnavailable):
    """CapRover (or the CLI) refused a call; the message says what to check."""


class Caprover:
    """The CapRover CLI against one CapRover machine, logged in with the dashboard password."""

    def __init__(self, url: str, password: str) -> None:
        self.url, self.password = url, password

    def _run(self, *args: str) -> runner.Result:
        # The CLI reads CAPROVER_* variables as option values; only ours reach it.
        env = {key: value for key, value in os.environ.items() if not key.startswith("CAPROVER_")}
        env.update(CAPROVER_URL=self.url, CAPROVER_PASSWORD=self.password, FORCE_COLOR="0")
        argv = [runner.find_tool("caprover"), *args, "--caproverUrl", self.url]
        # stdin is empty: a CLI that would ask a question fails instead of waiting for an answer.
        return runner.run(argv, env=env, check=False, input="", timeout=CLI_TIMEOUT_SECONDS, secrets=[self.password])

    def failure(self, result: runner.Result, what: str) -> CaproverError:
        output = runner.mask(f"{result.stdout}\n{result.stderr}", [self.password])
        lines = [line.strip() for line in output.splitlines() if line.strip()]
        detail = lines[-1] if lines else f"exit code {result.returncode}"
        if any(sign in output for sign in UNREACHABLE):
            return CaproverError(
                f"CapRover does not answer at {self.url} ({detail}). Check [tool.dockwright.deploy].caprover_url "
                "and that this machine reaches it."
            )
        return CaproverError(
            f"CapRover at {self.url} refused {what}: {detail}. Check CAPROVER_PASSWORD (the dashboard password) "
            "and [tool.dockwright.deploy].caprover_url."
        )

    def api(self, method: str, path: str, data: dict | None = None) -> dict:
        """`caprover api`: the `data` of CapRover's answer {status, description, data}."""
        with tempfile.TemporaryDirectory() as directory:
            response = Path(directory) / "response.json"
            result = self._run(
                "api", "--path", path, "--method", method, "--data", json.dumps(data or {}), "--output", str(response)
            )
            if result.returncode != 0 or not response.exists():
                raise self.failure(result, f"{method} {path}")
            return json.loads(response.read_text() or "{}")

    def apps(self) -> dict[str, dict]:
        """Every app on the machine, by name."""
        listed = self.api("GET", "/user/apps/appDefinitions")
        return {app["appName"]: app for app in listed.get("appDefinitions", [])}

    def deploy(self, app: str, image: str) -> None:
        """`caprover deploy --imageName`: returns once CapRover has switched the app (or raises)."""
        result = self._run("deploy", "--caproverApp", app, "--imageName", image)
        if result.returncode != 0:
            raise self.failure(result, f"deploying {image} to app {app}")


def deployed_image(app: dict) -> str | None:
    """The image of the app's deployed version, from CapRover's app definition."""
    for version in app.get("versions") or []:
        if version.get("version") == app.get("deployedVersion"):
            return version.get("deployedImageName")
    return None


def env_vars(app: dict) -> dict[str, str]:
    return {item["key"]: item.get("value", "") for item in app.get("envVars") or []}


class CaproverReleaseLog:
    """The history as env vars of the app STACK-releases; the lock as the app STACK-deploy-lock."""

    def __init__(self, caprover: Caprover, stack: str) -> None:
        self.caprover = caprover
        self.records_app = f"{stack}-releases"
        self.lock_app = f"{stack}-deploy-lock"

    def _register(self, app: str) -> None:
        self.caprover.api("POST", "/user/apps/appDefinitions/register", {"appName": app, "hasPersistentData": False})

    def _store(self, app: str, values: dict[str, str]) -> None:
        # A bookkeeping app: no container, no domain, only its env vars.
        definition = {
            "appName": app,
            "instanceCount": 0,
            "notExposeAsWebApp": True,
            "envVars": [{"key": key, "value": value} for key, value in sorted(values.items())],
        }
        self.caprover.api("POST", "/user/apps/appDefinitions/update", definition)

    def releases(self) -> list[Release]:
        app = self.caprover.apps().get(self.records_app)
        values = env_vars(app) if app else {}
        records = [Release(**json.loads(value)) for key, value in values.items() if key.startswith("RELEASE_")]
        return sorted(records, key=lambda release: release.number)

    def record(self, release: Release) -> Release:
        # Written only while this deploy holds the lock, so reading then writing the list is safe.
        app = self.caprover.apps().get(self.records_app)
        if app is None:
            self._register(self.records_app)
        values = env_vars(app) if app else {}
        numbers = [int(key.removeprefix("RELEASE_")) for key in values if key.startswith("RELEASE_")]
        release.number = max(numbers, default=0) + 1
        values[f"RELEASE_{release.number:05d}"] = json.dumps(asdict(release))
        self._store(self.records_app, values)
        return release

    def acquire(self, tag: str) -> None:
        holder = lock_holder(tag)
        try:
            self._register(self.lock_app)
        except CaproverError as error:
            if ALREADY_EXISTS in str(error):
                raise DeployLocked(self.holder() or {}) from None
            raise
        self._store(self.lock_app, {"HOLDER": json.dumps(holder)})

    def holder(self) -> dict | None:
        app = self.caprover.apps().get(self.lock_app)
        if app is None:
            return None
        try:
            return json.loads(env_vars(app)["HOLDER"])
        except (KeyError, ValueError):  # a deploy that died between registering and naming itself
            return {"who": f"unknown (the app {self.lock_app} has no HOLDER)"}

    def release_lock(self) -> None:
        try:
            self.caprover.api("POST", "/user/apps/appDefinitions/delete", {"appName": self.lock_app})
        except CaproverError:
            pass  # not there: nothing to free


def healthy(url: str) -> tuple[bool, str]:
    """Whether GET url answers 200 with {"status": "ok"}, and what it answered."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            body = json.loads(response.read() or b"{}")
            return response.status == 200 and body.get("status") == "ok", f"{response.status} {body}"
    except urllib.error.HTTPError as error:
        return False, f"{error.code} {error.reason}"
    except (urllib.error.URLError, OSError, ValueError) as error:
        return False, repr(getattr(error, "reason", error))[:200]


class CaproverTarget:
    """`invoke deploy` on CapRover: each service's app switched with `caprover deploy`, web first."""

    def __init__(self, stack: str, services: list[str], url: str, site_url: str, timeout: float) -> None:
        self.stack, self.timeout = stack, timeout
        self.apps = {name: stack if name == "web" else f"{stack}-{name}" for name in services}
        self.url = url
        # The web app's own CapRover domain, as the CLI prints it: captain.ROOT -> STACK.ROOT.
        self.site_url = site_url or (url.replace("//captain.", f"//{stack}.", 1) if "//captain." in url else "")
        self.caprover = Caprover(url, os.environ.get("CAPROVER_PASSWORD", ""))
        self.log = CaproverReleaseLog(self.caprover, stack)

    def check(self) -> None:
        """What this machine needs before any call to CapRover; raises saying what to do."""
        if not self.url:
            raise TargetUnavailable(
                "[tool.dockwright.deploy].caprover_url is not set: add the address of the CapRover dashboard, "
                'e.g. caprover_url = "https://captain.apps.example.com".'
            )
        if not self.site_url:
            raise TargetUnavailable(
                f"Where does the web app answer? {self.url} is not captain.ROOT_DOMAIN, so set "
                '[tool.dockwright.deploy].site_url (e.g. "https://www.example.com"): its /health/ is polled.'
            )
        if not self.caprover.password:
            raise TargetUnavailable(
                "CAPROVER_PASSWORD is not set: export the CapRover dashboard password (a CI secret) before deploying."
            )
        try:
            runner.find_tool("caprover")
        except runner.ToolNotFound as error:
            raise TargetUnavailable(str(error)) from None
        require_engine()  # the registry check reads digests through docker buildx

    def prepare(self) -> None:
        """Log in and check every service has its app; CapRover apps are created by a person, not here."""
        missing = sorted(set(self.apps.values()) - set(self.caprover.apps()))
        if missing:
            raise TargetUnavailable(
                f"CapRover at {self.url} has no app named {', '.join(missing)}. Create it in the dashboard "
                f"(Apps, Create a new app): web deploys to the app {self.stack}, every other service to "
                f"{self.stack}-SERVICE."
            )

    def running_tags(self) -> dict[str, str]:
        apps = self.caprover.apps()
        images = {name: deployed_image(apps.get(app, {})) for name, app in self.apps.items()}
        return {name: registry.tag_of(image) for name, image in images.items() if image}

    def roll_out(self, tags: dict[str, str], env: dict[str, str], say: Callable[[str], None]) -> list[str]:
        """Switch web, wait for its /health/, then the other services. On a failure, every app this
        release switched goes back to its previous image. Returns what failed, or []."""
        apps = self.caprover.apps()
        previous = {name: deployed_image(apps.get(app, {})) for name, app in self.apps.items()}
        switched: list[str] = []
        failure = None
        for name in sorted(tags, key=lambda service: service != "web"):
            image = f"{env['REGISTRY']}-{name}:{tags[name]}"
            if previous.get(name) == image:
                say(f"{self.apps[name]} already runs {image}")
                continue
            say(f"caprover deploy --caproverApp {self.apps[name]} --imageName {image}")
            try:
                self.caprover.deploy(self.apps[name], image)
            except CaproverError as error:
                failure = f"{name}: {error}"
                break
            switched.append(name)
            if name == "web":
                failure = self.wait_until_healthy(image, say)
                if failure:
                    break
        if failure:
            return [failure, *self.put_back(switched, previous, say)]
        return []

    def wait_until_healthy(self, image: str, say: Callable[[str], None]) -> str | None:
        """None once CapRover deploys `image` for web and its /health/ answers; else what went wrong."""
        deployed = deployed_image(self.caprover.apps().get(self.apps["web"], {}))
        if deployed != image:
            return f"web: CapRover reports {deployed or 'no image'} deployed for {self.apps['web']}, not {image}"
        url = f"{self.site_url}/health/"
        say(f"waiting for {url} to answer 200 from {image}")
        deadline = time.monotonic() + self.timeout
        in_a_row, last = 0, "no answer yet"
        while time.monotonic() < deadline:
            ok, last = healthy(url)
            in_a_row = in_a_row + 1 if ok else 0
            if in_a_row >= HEALTHY_ANSWERS:
                say(f"web is healthy: {last}")
                return None
            time.sleep(HEALTH_POLL_SECONDS if not ok else 0.5)
        return f"web: {url} did not answer 200 within {self.timeout:.0f} s (last: {last})"

    def put_back(self, switched: list[str], previous: dict[str, str | None], say: Callable[[str], None]) -> list[str]:
        """Deploy the apps this release switched back to their previous images; what could not be."""
        problems = []
        for name in switched:
            image = previous.get(name)
            if image is None:
                problems.append(f"{self.apps[name]} ran nothing before this release, so it keeps the new image")
                continue
            say(f"putting {self.apps[name]} back on {image}")
            try:
                self.caprover.deploy(self.apps[name], image)
            except CaproverError as error:
                problems.append(f"{self.apps[name]} could not be put back on {image}: {error}")
        return problems
