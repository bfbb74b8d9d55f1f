"""The project's dockwright settings: the [tool.dockwright] table of pyproject.toml.

Every task reads its configuration from here; nothing in the task library is generated per
project, so the same code runs in every project and is tested once in the template.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

STAGES = ("base", "builder", "runtime-full", "runtime-minimal", "celery-unified", "test")
HEALTHCHECKS = ("http", "celery-ping")
DEPLOY_TARGETS = ("compose", "swarm", "caprover")
TEST_RUNNERS = ("pytest", "django")
SEVERITIES = ("UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL")


class SettingsError(ValueError):
    """[tool.dockwright] is missing or holds a value the tasks cannot use."""


@dataclass(frozen=True)
class Service:
    name: str
    stage: str
    healthcheck: str
    port: int | None = None
    chromium: bool = False


@dataclass(frozen=True)
class ScanSettings:
    """[tool.dockwright.scan]: what `invoke scan` fails on and where Trivy finds its database."""

    severity: tuple[str, ...] = ("HIGH", "CRITICAL")
    ignore_file: str = ".trivyignore.yaml"
    reports: str = "build/scan"
    db_repository: str | None = None
    cache_dir: str | None = None


@dataclass(frozen=True)
class Settings:
    root: Path
    project: str
    registry: str
    dockerhub_mirror: str
    python_version: str
    services: dict[str, Service]
    deploy_target: str
    dockerfile: str = "Dockerfile"
    bake_file: str = "docker-bake.hcl"
    test_runner: str = "pytest"
    scan: ScanSettings = ScanSettings()
    deploy_stack: str = ""
    deploy_timeout: float = 300.0
    # CapRover only: the dashboard's address, and where the web app answers (its /health/ is polled).
    caprover_url: str = ""
    site_url: str = ""

    def service(self, name: str) -> Service:
        try:
            return self.services[name]
        except KeyError:
            known = ", ".join(self.services)
            raise SettingsError(
                f"Unknown service {name!r}: this project has {known} "
                "(see [tool.dockwright.services] in pyproject.toml)."
            ) from None


# Where [tool.dockwright] lives: dockwright.toml in a project that adopted dockwright (its own
# pyproject.toml, if any, stays the owners'), pyproject.toml in a project dockwright made.
SETTINGS_FILES = ("dockwright.toml", "pyproject.toml")


def find_pyproject(start: Path | None = None) -> Path:
    """The settings file of the project around `start`: the nearest directory holding one."""
    start = (start or Path.cwd()).resolve()
    for directory in (start, *start.parents):
        for name in SETTINGS_FILES:
            candidate = directory / name
            if candidate.is_file():
                return candidate
    raise SettingsError(
        f"No dockwright.toml or pyproject.toml in {start} or above: run the tasks from the project directory."
    )


def _require(table: dict, key: str, where: str, choices: tuple[str, ...] | None = None) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value:
        raise SettingsError(f"{where}.{key} must be a non-empty string in pyproject.toml.")
    if choices and value not in choices:
        raise SettingsError(f"{where}.{key} is {value!r}; allowed: {', '.join(choices)}.")
    return value


def parse_severities(value: str | list | tuple, where: str) -> tuple[str, ...]:
    """A comma-separated string or a list of severities -> a tuple; unknown levels are refused."""
    items = value.split(",") if isinstance(value, str) else list(value)
    levels = tuple(str(item).strip().upper() for item in items if str(item).strip())
    unknown = [level for level in levels if level not in SEVERITIES]
    if unknown or not levels:
        raise SettingsError(f"{where} is {value!r}; allowed: one or more of {', '.join(SEVERITIES)}, comma-separated.")
    return levels


def _positive_number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise SettingsError(f"{where} must be a positive number of seconds, not {value!r}.")
    return float(value)


def _scan_settings(table: dict, where: str) -> ScanSettings:
    defaults = ScanSettings()
    optional = {key: table.get(key) for key in ("db_repository", "cache_dir")}
    for key, value in optional.items():
        if value is not None and (not isinstance(value, str) or not value):
            raise SettingsError(f"{where}.{key} must be a non-empty string when set.")
    return ScanSettings(
        severity=parse_severities(table.get("severity", defaults.severity), f"{where}.severity"),
        ignore_file=table.get("ignore_file", defaults.ignore_file),
        reports=table.get("reports", defaults.reports),
        **optional,
    )


def load(pyproject: Path | None = None) -> Settings:
    """Read and check [tool.dockwright]; raise SettingsError naming the key to fix."""
    path = pyproject or find_pyproject()
    try:
        table = tomllib.loads(path.read_text())["tool"]["dockwright"]
    except KeyError:
        raise SettingsError(f"{path} has no [tool.dockwright] table; was this project made by dockwright?") from None
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(f"{path} is not valid TOML: {error}") from None

    where = "[tool.dockwright]"
    raw_services = table.get("services")
    if not isinstance(raw_services, dict) or not raw_services:
        raise SettingsError(f"{where}.services must list at least one service, e.g. [tool.dockwright.services.web].")
    services = {}
    for name, spec in raw_services.items():
        here = f"{where}.services.{name}"
        port = spec.get("port")
        if port is not None and not (isinstance(port, int) and 0 < port < 65536):
            raise SettingsError(f"{here}.port must be a TCP port number (1-65535), not {port!r}.")
        services[name] = Service(
            name=name,
            stage=_require(spec, "stage", here, STAGES),
            healthcheck=_require(spec, "healthcheck", here, HEALTHCHECKS),
            port=port,
            chromium=bool(spec.get("chromium", False)),
        )
    deploy = table.get("deploy", {})
    target = _require(deploy, "target", f"{where}.deploy", DEPLOY_TARGETS)
    for key in ("caprover_url", "site_url"):
        value = deploy.get(key, "")
        if not isinstance(value, str) or (value and not value.startswith(("http://", "https://"))):
            raise SettingsError(f"{where}.deploy.{key} must be an http:// or https:// address, not {value!r}.")
    return Settings(
        root=path.parent,
        project=_require(table, "project", where),
        registry=_require(table, "registry", where),
        dockerhub_mirror=_require(table, "dockerhub_mirror", where),
        python_version=_require(table, "python_version", where),
        services=services,
        deploy_target=target,
        deploy_stack=deploy.get("stack") or _require(table, "project", where).replace("_", "-"),
        deploy_timeout=_positive_number(deploy.get("timeout", 300), f"{where}.deploy.timeout"),
        caprover_url=deploy.get("caprover_url", "").rstrip("/"),
        site_url=deploy.get("site_url", "").rstrip("/"),
        dockerfile=table.get("dockerfile", "Dockerfile"),
        bake_file=table.get("bake_file", "docker-bake.hcl"),
        test_runner=_require({"test_runner": "pytest", **table}, "test_runner", where, TEST_RUNNERS),
        scan=_scan_settings(table.get("scan", {}), f"{where}.scan"),
    )
