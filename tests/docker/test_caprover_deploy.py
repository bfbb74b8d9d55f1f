"""Docker tier: `invoke deploy`, `invoke rollback` and `invoke releases` of a generated project on
the CapRover target, through the real `caprover` CLI (npm package, the version the tasks pin).

CapRover's server cannot run here (it takes over a whole Docker Swarm machine, ports 80, 443 and
3000, and reaches the internet), so the CLI talks to a TEST DOUBLE of CapRover's HTTP API:
CaproverDouble below, a Python http.server on 127.0.0.1. It answers the calls the CLI makes with
the answers the server gives (status 100 envelopes, the app definitions' versions), records every
request and checks its auth and payload as the server does. What it cannot prove is that the real
server behaves the same; docs/decisions/0012-caprover-target.md lists the server code it follows.

The CLI always talks to `captain.` + the host it is given (Utils.cleanAdminDomainUrl), so the
project's caprover_url is http://captain.STACK.test (a name that never resolves) and the CLI reaches
the double as its HTTP proxy (HTTP_PROXY, which the CLI's HTTP client honours), with NO_PROXY for
127.0.0.1 so the registry and the health checks go direct.

The images are real (built and pushed to the registry at LOCAL_REGISTRY), and so is the health
check: a deploy of the web app makes the double run that image with the real Docker engine on
127.0.0.1, replacing the previous container, so /health/ is answered by the deployed release.

Tests run in file order and build on each other: v1, the refusals, the lock (v2), a bad v3 and a
rollback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.docker.conftest import free_port
from tests.helpers import invoke, released

STACK = f"dwcap{uuid.uuid4().hex[:6]}"
PASSWORD = uuid.uuid4().hex
CLI_VERSION = "2.4.4"  # the version in the tasks' install hint (runner.INSTALL_HINTS)
CLI_DIR = Path(__file__).resolve().parents[2] / "build" / f"caprover-cli-{CLI_VERSION}"
# Names CapRover allows (AppsDataStore.isNameAllowed): lowercase, digits, single hyphens.
APP_DATA = "/api/v2/user/apps/appData/"  # where the CLI posts a deploy and reads its build status
ALLOWED = set("abcdefghijklmnopqrstuvwxyz0123456789-")


def run(*argv: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, check=check)


class CaproverDouble:
    """A test double of CapRover's HTTP API, because CapRover's server cannot run here.

    It serves, on 127.0.0.1, the calls the `caprover` CLI makes (caprover-cli 2.4.4,
    built/api/ApiManager.js) with the server's envelope {status, description, data}:
    POST /api/v2/login, GET /user/system/info, GET /user/apps/appDefinitions, POST /user/apps/appData/APP?detached=1,
    GET /user/apps/appData/APP (build status), POST .../register, .../update and .../delete.
    The CLI reaches it as its HTTP proxy: request lines hold the whole http://captain.../ URL.
    Like the server it wants `x-namespace: captain` on every call, the password on /login and the
    token /login returned in `x-captain-auth` on /user/*, and answers an error status otherwise.
    A deploy to the web app runs its image with the real Docker engine on 127.0.0.1:web_port.
    """

    def __init__(self, web_app: str, other_apps: list[str], web_env: dict[str, str]) -> None:
        self.web_app, self.web_env = web_app, web_env
        self.web_port = free_port()
        self.token = uuid.uuid4().hex
        self.requests: list[dict] = []
        self.deploy_delay = 0.0
        self.lock = threading.Lock()
        self.apps = {name: self.new_app(name) for name in [web_app, *other_apps]}
        self.container = f"{STACK}-web-capdouble"
        double = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                double.handle(self, "GET")

            def do_POST(self):
                double.handle(self, "POST")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.proxy = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.url = f"http://captain.{STACK}.test"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @staticmethod
    def new_app(name: str) -> dict:
        return {"appName": name, "instanceCount": 1, "envVars": [], "versions": [], "deployedVersion": 0,
                "notExposeAsWebApp": False, "hasPersistentData": False, "buildFailed": False}  # fmt: skip

    def stop(self) -> None:
        self.server.shutdown()
        run("docker", "rm", "--force", self.container, check=False)

    # What the tests read -------------------------------------------------------------------

    def calls(self, method: str, path: str) -> list[dict]:
        return [call for call in self.requests if call["method"] == method and call["path"] == path]

    def deployed_image(self, app: str) -> str | None:
        definition = self.apps[app]
        return next((v["deployedImageName"] for v in definition["versions"]
                     if v["version"] == definition["deployedVersion"]), None)  # fmt: skip

    def releases(self) -> list[dict]:
        app = self.apps.get(f"{STACK}-releases")
        values = sorted((item["key"], item["value"]) for item in (app or {}).get("envVars", []))
        return [json.loads(value) for key, value in values if key.startswith("RELEASE_")]

    # The server side -----------------------------------------------------------------------

    def handle(self, request: BaseHTTPRequestHandler, method: str) -> None:
        url = urlsplit(request.path)
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length) if length else b""
        body = json.loads(raw) if raw and "json" in (request.headers.get("Content-Type") or "") else {}
        call = {"method": method, "host": url.hostname, "path": url.path, "query": url.query,
                "headers": dict(request.headers), "body": body}  # fmt: skip
        with self.lock:
            self.requests.append(call)
            status, description, data = self.answer(call)
        payload = json.dumps({"status": status, "description": description, "data": data}).encode()
        request.send_response(200)  # CapRover answers errors as 200 with an error status inside
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(payload)))
        request.end_headers()
        request.wfile.write(payload)

    def answer(self, call: dict) -> tuple[int, str, dict]:
        headers = {key.lower(): value for key, value in call["headers"].items()}
        if headers.get("x-namespace") != "captain":
            return 1000, "Unknown namespace", {}
        path, body = call["path"].removeprefix("/api/v2"), call["body"]
        if path == "/login" and call["method"] == "POST":
            if body.get("password") != PASSWORD:
                return 1105, "Password is incorrect.", {}
            return 100, "Login succeeded", {"token": self.token}
        if not path.startswith("/user/"):
            return 1000, f"Not found: {path}", {}
        if headers.get("x-captain-auth") != self.token:
            return 1102, "Auth token is missing or invalid", {}
        if path == "/user/system/info" and call["method"] == "GET":  # `caprover api` checks its login with it
            info = {
                "rootDomain": f"{STACK}.test",
                "captainSubDomain": "captain",
                "hasRootSsl": False,
                "forceSsl": False,
            }
            return 100, "Captain info retrieved", info
        if path == "/user/apps/appDefinitions" and call["method"] == "GET":
            apps = [{key: value for key, value in app.items() if key != "buildFailed"} for app in self.apps.values()]
            return 100, "App definitions are retrieved.", {"appDefinitions": apps, "rootDomain": "apps.test"}
        if path.startswith("/user/apps/appData/"):
            name = path.removeprefix("/user/apps/appData/").rstrip("/")
            if name not in self.apps:
                return 1000, f"App ({name}) could not be found. Make sure that you have created the app.", {}
            if call["method"] == "GET":  # build status, polled by the CLI until the deploy is done
                failed = self.apps[name]["buildFailed"]
                logs = {"lines": [f"deployed version {self.apps[name]['deployedVersion']}"], "firstLineNumber": 0}
                return (
                    100,
                    "App build status retrieved",
                    {"isAppBuilding": False, "isBuildFailed": failed, "logs": logs},
                )
            return self.deploy(name, body)
        name = body.get("appName", "")
        if path == "/user/apps/appDefinitions/register":
            if not name or set(name) - ALLOWED or "--" in name or name[0] == "-" or name[-1] == "-":
                return 1104, "App Name is not allow. Only lowercase letters and single hyphen is allow", {}
            if name in self.apps:
                return 1103, "App Name already exists. Please use a different name", {}
            self.apps[name] = self.new_app(name)
            return 100, "App Definition Saved", {}
        if name not in self.apps:
            return 1000, f"App ({name}) could not be found. Make sure that you have created the app.", {}
        if path == "/user/apps/appDefinitions/update":
            app = self.apps[name]
            if int(body.get("instanceCount", -1)) >= 0:
                app["instanceCount"] = int(body["instanceCount"])
            app["notExposeAsWebApp"] = bool(body.get("notExposeAsWebApp"))
            if body.get("envVars") is not None:
                assert all(item.get("key") for item in body["envVars"]), "Environmental Variable key is empty!"
                app["envVars"] = [{"key": item["key"], "value": item.get("value", "")} for item in body["envVars"]]
            return 100, "Updated App Definition Saved", {}
        if path == "/user/apps/appDefinitions/delete":
            del self.apps[name]
            return 100, "App is deleted", {}
        return 1000, f"Not found: {path}", {}

    def deploy(self, name: str, body: dict) -> tuple[int, str, dict]:
        """POST appData with captainDefinitionContent: a new version of the app on that image."""
        try:
            definition = json.loads(body["captainDefinitionContent"])
        except (KeyError, ValueError):
            return 1000, "Either tarballfile or captainDefinitionContent should be present.", {}
        if definition.get("schemaVersion") != 2 or not definition.get("imageName"):
            return 1000, f"captain-definition is not schemaVersion 2 with an imageName: {definition}", {}
        time.sleep(self.deploy_delay)
        image, app = definition["imageName"], self.apps[name]
        if name == self.web_app:  # the real engine runs it, so /health/ is answered by the release
            run("docker", "rm", "--force", self.container, check=False)
            env = [arg for key, value in self.web_env.items() for arg in ("--env", f"{key}={value}")]
            started = run("docker", "run", "--detach", "--name", self.container, "--publish",
                          f"127.0.0.1:{self.web_port}:8000", *env, image, check=False)  # fmt: skip
            app["buildFailed"] = started.returncode != 0
            if app["buildFailed"]:
                return 1000, f"Cannot run {image}: {started.stderr.strip()[-300:]}", {}
        version = max((v["version"] for v in app["versions"]), default=-1) + 1
        app["versions"].append({"version": version, "deployedImageName": image, "gitHash": body.get("gitHash") or "",
                                "timeStamp": datetime.now(UTC).isoformat()})  # fmt: skip
        app["deployedVersion"] = version
        return 101, "Deploy is started", {}


@pytest.fixture(scope="module")
def caprover_cli() -> Path:
    """The real CapRover CLI, installed with npm into build/ (git-ignored) once."""
    binary = CLI_DIR / "node_modules" / ".bin" / "caprover"
    if not binary.exists():
        if shutil.which("npm") is None:
            pytest.fail(f"npm is needed to install the CapRover CLI (npm install caprover@{CLI_VERSION})")
        CLI_DIR.mkdir(parents=True, exist_ok=True)
        installed = subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(CLI_DIR), f"caprover@{CLI_VERSION}"],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert installed.returncode == 0, installed.stderr[-3000:]
    return binary.parent


@pytest.fixture(scope="module")
def deployment(render_variant, dockerhub_mirror, local_registry, runner, engine, caprover_cli, tmp_path_factory):
    path = render_variant("deploy-caprover-cli", dockerhub_mirror=dockerhub_mirror, deploy_target="caprover")
    registry = f"{local_registry}/{STACK}-caprover"
    web_env = {"DJANGO_SECRET_KEY": uuid.uuid4().hex, "DATABASE_URL": "sqlite:////tmp/health.sqlite3"}
    double = CaproverDouble(STACK, [f"{STACK}-worker"], web_env)
    pyproject = path / "pyproject.toml"
    text = pyproject.read_text().replace('stack = "my-site"', f'stack = "{STACK}"')
    # [tool.dockwright.deploy] is the file's last table: a short timeout keeps the bad release short.
    text = text.replace("timeout = 300", "timeout = 20")
    text = "\n".join(line for line in text.splitlines() if not line.startswith(("caprover_url", "site_url")))
    text += f'\ncaprover_url = "{double.url}"\nsite_url = "http://127.0.0.1:{double.web_port}"\n'
    pyproject.write_text(text)
    env = {
        **os.environ,
        "PATH": f"{caprover_cli}{os.pathsep}{os.environ['PATH']}",
        "REGISTRY": registry,
        "DOCKERHUB_MIRROR": dockerhub_mirror,
        "CACHE_BACKEND": "none",
        "CAPROVER_PASSWORD": PASSWORD,
        **proxy_env(double.proxy),
        # The CLI keeps a configstore of machines and deployed directories: this test's own.
        "XDG_CONFIG_HOME": str(tmp_path_factory.mktemp("caprover-config")),
        **web_env,
    }
    started = time.monotonic()
    # The build goes direct: only the CLI needs the proxy.
    build_env = {key: value for key, value in env.items() if "proxy" not in key.lower()}
    result = invoke(path, "build", "--push", "--tag", "v1", env=build_env)
    assert result.returncode == 0, result.stderr[-3000:]
    print(f"\nbuild and push of v1: {time.monotonic() - started:.1f} s")
    for service in ("web", "worker"):  # v2: the same images under another tag
        runner.run(["docker", "buildx", "imagetools", "create", "-t", f"{registry}-{service}:v2",
                    f"{registry}-{service}:v1"], timeout=120)  # fmt: skip
    yield {"path": path, "env": env, "registry": registry, "double": double, "pyproject": pyproject}
    double.stop()
    for image in engine.images.list():
        if any(tag.startswith(registry) for tag in image.tags):
            engine.images.remove(image.id, force=True)
    left = run("docker", "ps", "-aq", "--filter", f"name={STACK}").stdout.strip()
    assert not left, f"the double left containers behind: {left}"


def proxy_env(proxy: str) -> dict[str, str]:
    no_proxy = "127.0.0.1,localhost"
    return {"HTTP_PROXY": proxy, "http_proxy": proxy, "HTTPS_PROXY": proxy, "https_proxy": proxy,
            "NO_PROXY": no_proxy, "no_proxy": no_proxy}  # fmt: skip


def health(deployment) -> int | None:
    try:
        url = f"http://127.0.0.1:{deployment['double'].web_port}/health/"
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except (urllib.error.URLError, OSError):
        return None


def deploys(double: CaproverDouble, since: int = 0) -> list[tuple[str, str]]:
    """(app, image) of every deploy call the CLI made, in order, from request number `since`."""
    return [
        (
            call["path"].removeprefix(APP_DATA).strip("/"),
            json.loads(call["body"]["captainDefinitionContent"])["imageName"],
        )
        for call in double.requests[since:]
        if call["method"] == "POST" and call["path"].startswith(APP_DATA)
    ]


def test_first_deploy_calls_the_cli_for_each_app_and_is_recorded(deployment):
    double, registry = deployment["double"], deployment["registry"]

    result = invoke(deployment["path"], "deploy", "--tag", "v1", env=deployment["env"])

    assert result.returncode == 0, result.stderr[-3000:]
    assert "deploy of v1 succeeded" in result.stdout
    assert deploys(double) == [(STACK, f"{registry}-web:v1"), (f"{STACK}-worker", f"{registry}-worker:v1")]
    posted = [call for call in double.requests if call["path"].startswith(APP_DATA)]
    assert all(call["query"] == "detached=1" for call in posted if call["method"] == "POST")
    assert all(call["headers"].get("x-captain-auth") == double.token for call in posted)
    logins = double.calls("POST", "/api/v2/login")
    assert logins and all(call["body"]["password"] == PASSWORD for call in logins)
    assert all(call["headers"].get("x-namespace") == "captain" for call in double.requests)
    assert {call["host"] for call in double.requests} == {f"captain.{STACK}.test"}
    assert PASSWORD not in result.stdout + result.stderr
    assert health(deployment) == 200
    [record] = double.releases()
    assert (record["action"], record["tag"], record["outcome"]) == ("deploy", "v1", "succeeded")
    assert set(record["digests"]) == {"web", "worker"} and all(
        d.startswith("sha256:") for d in record["digests"].values()
    )
    assert f"{STACK}-deploy-lock" not in double.apps, "the lock was not freed"
    assert double.apps[f"{STACK}-releases"]["instanceCount"] == 0


def test_a_tag_missing_from_the_registry_makes_no_call(deployment):
    double = deployment["double"]
    before = len(double.requests)

    result = invoke(deployment["path"], "deploy", "--tag", "v9", env=deployment["env"])

    assert result.returncode == 2
    assert f"Not in the registry: {deployment['registry']}-web:v9" in result.stderr
    assert len(double.requests) == before, double.requests[before:]


def test_a_wrong_password_is_refused_and_deploys_nothing(deployment):
    double = deployment["double"]
    before = len(double.requests)

    result = invoke(
        deployment["path"], "deploy", "--tag", "v2", env={**deployment["env"], "CAPROVER_PASSWORD": "wrong"}
    )

    assert result.returncode == 3
    assert f"CapRover at {double.url} refused" in result.stderr
    assert "Password is incorrect" in result.stderr and "Check CAPROVER_PASSWORD" in result.stderr
    assert "Nothing was changed" in result.stderr
    assert deploys(double, before) == []
    assert double.deployed_image(STACK).endswith("-web:v1")


def test_an_unreachable_caprover_is_reported_and_deploys_nothing(deployment):
    double = deployment["double"]
    before = len(double.requests)
    # Nothing listens on this port: the CLI's connection is refused, as for a machine that is down.
    env = {**deployment["env"], **proxy_env(f"http://127.0.0.1:{free_port()}")}

    result = invoke(deployment["path"], "deploy", "--tag", "v2", env=env)

    assert result.returncode == 3
    assert f"CapRover does not answer at {double.url}" in result.stderr and "ECONNREFUSED" in result.stderr
    assert "caprover_url" in result.stderr and "Nothing was changed" in result.stderr
    assert len(double.requests) == before
    assert double.deployed_image(STACK).endswith("-web:v1")


def test_a_missing_app_is_named_and_nothing_is_deployed(deployment):
    double = deployment["double"]
    worker = double.apps.pop(f"{STACK}-worker")
    before = len(double.requests)
    try:
        result = invoke(deployment["path"], "deploy", "--tag", "v2", env=deployment["env"])
    finally:
        double.apps[f"{STACK}-worker"] = worker

    assert result.returncode == 3
    assert f"has no app named {STACK}-worker" in result.stderr and "Create it in the dashboard" in result.stderr
    assert deploys(double, before) == []
    assert len(double.releases()) == 1


def test_a_second_deploy_is_refused_while_one_holds_the_lock(deployment):
    double, env = deployment["double"], deployment["env"]
    double.deploy_delay = 3  # the first deploy holds the lock a few seconds longer
    first = subprocess.Popen(
        [sys.executable, "-m", "invoke", "deploy", "--tag", "v2"],
        cwd=deployment["path"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while "HOLDER" not in json.dumps(double.apps.get(f"{STACK}-deploy-lock", {})):
            assert time.monotonic() < deadline and first.poll() is None, "the first deploy never took the lock"
            time.sleep(0.1)
        second = invoke(deployment["path"], "deploy", "--tag", "v1", env=env)
    finally:
        out, err = first.communicate(timeout=300)
        double.deploy_delay = 0

    assert first.returncode == 0, err[-3000:]
    assert second.returncode == 1
    assert "Another deploy holds the lock" in second.stderr and "--break-lock" in second.stderr
    assert double.deployed_image(STACK).endswith("-web:v2")
    assert [record["tag"] for record in double.releases()] == ["v1", "v2"]


def test_a_release_whose_health_never_answers_fails_and_is_put_back(deployment, runner, tmp_path):
    """v3 serves a directory listing on port 8000: /health/ answers 404, never 200."""
    double, registry = deployment["double"], deployment["registry"]
    (tmp_path / "Dockerfile").write_text(f'FROM {registry}-web:v2\nCMD ["python", "-m", "http.server", "8000"]\n')
    runner.run(["docker", "buildx", "build", "--push", "--provenance=false", "-t", f"{registry}-web:v3",
                str(tmp_path)], timeout=600)  # fmt: skip
    before = len(double.requests)

    result = invoke(deployment["path"], "deploy", "--tag", "v3", "--service", "web", env=deployment["env"])

    assert result.returncode == 1
    assert "deploy of v3 FAILED" in result.stderr and "did not answer 200 within 20 s" in result.stderr
    assert deploys(double, before) == [(STACK, f"{registry}-web:v3"), (STACK, f"{registry}-web:v2")]
    assert double.deployed_image(STACK) == f"{registry}-web:v2"
    assert health(deployment) == 200
    last = double.releases()[-1]
    assert (last["tag"], last["outcome"]) == ("v3", "failed") and "web" in last["message"]


def test_rollback_returns_to_the_previous_good_release(deployment):
    double, registry = deployment["double"], deployment["registry"]

    result = invoke(deployment["path"], "rollback", env=deployment["env"])

    assert result.returncode == 0, result.stderr[-3000:]
    assert "rollback of v1 succeeded" in result.stdout
    assert double.deployed_image(STACK) == f"{registry}-web:v1"
    assert double.deployed_image(f"{STACK}-worker") == f"{registry}-worker:v1"
    assert health(deployment) == 200
    named = invoke(deployment["path"], "rollback", "--to", "v2", env=deployment["env"])
    assert named.returncode == 0, named.stderr[-3000:]
    assert double.deployed_image(STACK) == f"{registry}-web:v2"

    assert released(deployment["path"], deployment["env"]) == [
        ("deploy", "v1", "succeeded"),
        ("deploy", "v2", "succeeded"),
        ("deploy", "v3", "failed"),
        ("rollback", "v1", "succeeded"),
        ("rollback", "v2", "succeeded"),
    ]
