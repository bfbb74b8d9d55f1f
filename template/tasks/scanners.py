"""The scanners behind `invoke scan`: hadolint and Trivy, run as subprocesses, their JSON reports
kept in the reports folder and read into findings (never their tables).

Each function returns one `Scan`, a row of the summary. A scanner that cannot run (a crash, a bad
option) becomes a failed row carrying the tool's own last words; the other scanners still run.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from . import runner
from .settings import SEVERITIES

# hadolint's levels on Trivy's severity scale, so that one table can count both.
HADOLINT_SEVERITY = {"error": "HIGH", "warning": "MEDIUM", "info": "LOW", "style": "LOW"}
# Folders of a project that hold no configuration of ours (and may be large).
SKIP_DIRS = (".venv", ".nox", "build", "frontend/node_modules", "staticfiles")


@dataclass(frozen=True)
class Finding:
    id: str
    severity: str
    title: str
    where: str


@dataclass
class Scan:
    """One scanner over one target: a row of the summary."""

    target: str
    scanner: str
    findings: list[Finding] = field(default_factory=list)
    failed: bool = False
    skipped: str | None = None
    note: str = ""
    messages: list[str] = field(default_factory=list)
    """Problems that are not findings (an invalid ignore entry): shown below the table."""
    reports: list[Path] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        counted = Counter(finding.severity for finding in self.findings)
        return {severity: counted.get(severity, 0) for severity in reversed(SEVERITIES)}

    @property
    def result(self) -> str:
        if self.failed:
            return "FAIL"
        return f"skipped: {self.skipped}" if self.skipped else "pass"


@dataclass(frozen=True)
class Trivy:
    """How to call Trivy: the binary and the options every call shares."""

    binary: str
    cache_dir: Path
    ignore_file: Path | None
    db_repository: str | None = None
    offline: bool = False

    def argv(self, command: str, *options: str) -> list[str]:
        argv = [self.binary, command, "--quiet", "--cache-dir", str(self.cache_dir), *options]
        # An empty --ignorefile disables Trivy's default `.trivyignore`: only our reviewed file counts.
        argv += ["--ignorefile", str(self.ignore_file) if self.ignore_file else ""]
        return argv


def default_cache_dir() -> Path:
    """Trivy's own default, so that a DB downloaded by hand with plain `trivy` is found."""
    if os.environ.get("TRIVY_CACHE_DIR"):
        return Path(os.environ["TRIVY_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "trivy"


def failed_to_run(scan: Scan, error: runner.CommandFailed) -> Scan:
    last_words = (error.result.stderr.strip() or error.result.stdout.strip() or "no output").splitlines()[-1]
    scan.failed, scan.note = True, f"{scan.scanner} could not run: {last_words[:300]}"
    return scan


def trivy_findings(report: dict) -> list[Finding]:
    """Misconfigurations, secrets and vulnerabilities of a Trivy JSON report."""
    findings = []
    for result in report.get("Results") or []:
        target = result.get("Target", "")
        for item in result.get("Misconfigurations") or []:
            if item.get("Status", "FAIL") != "FAIL":
                continue
            line = (item.get("CauseMetadata") or {}).get("StartLine")
            findings.append(
                Finding(item["ID"], item["Severity"], item["Title"], f"{target}:{line}" if line else target)
            )
        for item in result.get("Secrets") or []:
            # Never show item["Match"]: it is the line that holds the secret.
            findings.append(
                Finding(item["RuleID"], item["Severity"], item["Title"], f"{target}:{item.get('StartLine')}")
            )
        for item in result.get("Vulnerabilities") or []:
            fixed = item.get("FixedVersion") or "no fix yet"
            title = f"{item['PkgName']} {item['InstalledVersion']} (fixed in {fixed})"
            findings.append(Finding(item["VulnerabilityID"], item.get("Severity", "UNKNOWN"), title, target))
    return findings


def over_threshold(findings: list[Finding], severities: tuple[str, ...]) -> bool:
    return any(finding.severity in severities for finding in findings)


def hadolint(binary: str, root: Path, dockerfile: str, reports: Path) -> Scan:
    """hadolint with the project's .hadolint.yaml; it fails at the threshold that file sets."""
    scan = Scan(dockerfile, "hadolint")
    try:
        result = runner.run([binary, "--format", "json", dockerfile], cwd=root, check=False)
        items = json.loads(result.stdout or "[]")
    except json.JSONDecodeError:
        scan.failed, scan.note = True, f"hadolint could not run: {result.stderr.strip()[-300:]}"
        return scan
    report = reports / "hadolint.json"
    report.write_text(json.dumps(items, indent=2))
    scan.reports.append(report)
    scan.findings = [
        Finding(
            item["code"],
            HADOLINT_SEVERITY.get(item["level"], "UNKNOWN"),
            item["message"],
            f"{item['file']}:{item['line']}",
        )
        for item in items
    ]
    scan.failed = result.returncode != 0
    return scan


def trivy_config(trivy: Trivy, root: Path, reports: Path, severities: tuple[str, ...]) -> Scan:
    """`trivy config` on the project: every file type Trivy has checks for (here, the Dockerfile)."""
    scan = Scan("project", "trivy config")
    report = reports / "trivy-config.json"
    options = ["--format", "json", "--output", str(report), "--skip-dirs", ",".join(SKIP_DIRS)]
    if trivy.offline:
        options.append("--skip-check-update")
    try:
        runner.run(trivy.argv("config", *options, "."), cwd=root)
    except runner.CommandFailed as error:
        return failed_to_run(scan, error)
    data = json.loads(report.read_text())
    scan.reports.append(report)
    scan.findings = trivy_findings(data)
    checked = [result["Target"] for result in data.get("Results") or []]
    scan.note = f"checked {', '.join(checked)}" if checked else "no file Trivy has checks for"
    scan.failed = over_threshold(scan.findings, severities)
    return scan


# Trivy's options for each image scan; vulnerabilities need the DB prepared beforehand.
IMAGE_SCANS = {
    # Secrets in every layer's files and in the image's configuration and history.
    "secrets": ("--scanners", "secret", "--image-config-scanners", "secret"),
    # Fixable vulnerabilities of OS and Python packages.
    "vulnerabilities": ("--scanners", "vuln", "--ignore-unfixed", "--skip-db-update"),
}


def image_scan(trivy: Trivy, kind: str, service: str, image: str, reports: Path, severities: tuple[str, ...]) -> Scan:
    """One of IMAGE_SCANS over a local image; its JSON report kept as SERVICE-KIND.json."""
    scan = Scan(service, kind)
    report = reports / f"{service}-{kind}.json"
    options = ["--image-src", "docker", *IMAGE_SCANS[kind], "--format", "json", "--output", str(report)]
    try:
        runner.run(trivy.argv("image", *options, image))
    except runner.CommandFailed as error:
        return failed_to_run(scan, error)
    scan.reports.append(report)
    scan.findings = trivy_findings(json.loads(report.read_text()))
    scan.failed = over_threshold(scan.findings, severities)
    return scan


def prepare_vulnerability_db(trivy: Trivy) -> str | None:
    """Make the vulnerability DB ready for scans with --skip-db-update; None when it is, else why not."""
    if trivy.offline:
        if (trivy.cache_dir / "db" / "metadata.json").is_file():
            return None
        return f"--offline was given, but {trivy.cache_dir} holds no vulnerability DB"
    options = ["--download-db-only"] + (["--db-repository", trivy.db_repository] if trivy.db_repository else [])
    try:
        runner.run(trivy.argv("image", *options), timeout=600)
    except runner.CommandFailed as error:
        lines = [line.strip() for line in error.result.stderr.splitlines() if line.strip()] or ["no output"]
        # Trivy lists the underlying causes as "* ..." lines below its FATAL line.
        detail = next((line.lstrip("* ") for line in lines if line.startswith("*")), lines[-1])
        source = trivy.db_repository or "mirror.gcr.io or ghcr.io (Trivy's defaults)"
        return f"Trivy could not download it from {source} ({detail[-300:]})"
    return None


def image_sbom(trivy: Trivy, service: str, image: str, reports: Path) -> Scan:
    """A CycloneDX JSON SBOM of the image: OS packages and the virtualenv's Python packages."""
    scan = Scan(service, "sbom")
    report = reports / f"{service}.cdx.json"
    options = ["--image-src", "docker", "--format", "cyclonedx", "--output", str(report)]
    try:
        runner.run(trivy.argv("image", *options, image))
    except runner.CommandFailed as error:
        return failed_to_run(scan, error)
    scan.reports.append(report)
    scan.note = f"{len(json.loads(report.read_text()).get('components') or [])} components"
    return scan


def sarif(trivy: Trivy, hadolint_binary: str, root: Path, dockerfile: str, scans: list[Scan]) -> list[Path]:
    """SARIF copies of the JSON reports (for code scanning tools such as GitHub's)."""
    written = []
    for scan in scans:
        for report in scan.reports:
            if report.name == "hadolint.json":
                result = runner.run([hadolint_binary, "--format", "sarif", dockerfile], cwd=root, check=False)
                target = report.with_suffix(".sarif")
                target.write_text(result.stdout)
            elif report.name.endswith(".cdx.json"):
                continue
            else:
                target = report.with_suffix(".sarif")
                runner.run([trivy.binary, "convert", "--format", "sarif", "--output", str(target), str(report)])
            written.append(target)
    return written
