"""`invoke scan`: is this project safe to deploy? hadolint and `trivy config` on the files, then, per
built service image, Trivy's secret scanner, its vulnerability scanner and (with --sbom) a
CycloneDX SBOM. One summary table at the end; the JSON reports stay in [tool.dockwright.scan].reports.

Exit codes: 0 clean; 1 a finding at a failing severity, an expired or invalid ignore entry, or a
scanner that could not run; 2 bad input or an image that is not built; 3 a missing tool or no
Docker engine; 4 only the vulnerability DB was missing (see the message for the ways out).
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

from invoke import Exit, task

from . import ignores, images, runner, scanners
from .build import choose_targets, git_revision, image_reference, load_settings, require_engine
from .scanners import Scan, Trivy
from .settings import SEVERITIES, SettingsError, parse_severities
from .table import format_table

FORMATS = ("table", "json", "sarif")
DETAILS_PER_SCAN = 20
NO_DB_EXIT = 4


def no_db_message(reason: str) -> str:
    return (
        f"Vulnerability scanning needs Trivy's vulnerability DB, and there is none: {reason}. Three ways out: "
        "(1) let this machine reach mirror.gcr.io or ghcr.io; "
        "(2) point --db-repository (or db_repository in [tool.dockwright.scan], or TRIVY_DB_REPOSITORY) at a "
        "mirror of aquasec/trivy-db:2 you can reach; "
        "(3) copy a DB into a cache folder (`trivy image --download-db-only --cache-dir DIR` on a connected "
        "machine) and scan with --offline --cache-dir DIR. "
        "To scan without it, pass --allow-missing-db: vulnerabilities are then reported as skipped."
    )


def review_ignores(path: Path) -> Scan:
    review = ignores.review(path, date.today())
    for warning in review.expiring:
        print(f"warning: {warning}", file=sys.stderr)
    scan = Scan(path.name, "ignore file", failed=bool(review.problems), messages=review.problems)
    if review.problems:
        scan.note = f"{len(review.problems)} problem(s), listed below"
    else:
        scan.note = f"{review.entries} entries" if path.exists() else "no file"
    return scan


def image_references(settings, services: list[str], tag: str) -> dict[str, str]:
    """The image of each service, refusing to go on if one is not in the local engine."""
    references = {service: image_reference(settings, service, tag) for service in services}
    missing = [f"{service} ({reference})" for service, reference in references.items() if not images.exists(reference)]
    if missing:
        raise Exit(
            f"Not built: {', '.join(missing)}. Run `invoke build --tag {tag}` first, or pass the --tag of images "
            "you built (--no-images scans only the files).",
            code=2,
        )
    return references


def summary_table(scans: list[Scan], severities: tuple[str, ...]) -> str:
    rows = []
    for scan in scans:
        counts = scan.counts()
        rows.append((scan.target, scan.scanner, *counts.values(), scan.result, scan.note))
    header = ("target", "scanner", *reversed(SEVERITIES), "result", "note")
    return format_table(header, rows) + (
        f"\n\nFails on {', '.join(severities)} findings; hadolint fails at the threshold its .hadolint.yaml sets."
    )


def details(scans: list[Scan]) -> str:
    lines = []
    for scan in scans:
        if not scan.failed:
            continue
        lines.append(
            f"{scan.target} / {scan.scanner}:"
            if scan.findings or scan.messages
            else f"{scan.target} / {scan.scanner}: {scan.note}"
        )
        lines.extend(f"  {message}" for message in scan.messages)
        for finding in scan.findings[:DETAILS_PER_SCAN]:
            lines.append(f"  {finding.severity:<8} {finding.id:<22} {finding.where}  {finding.title}")
        if len(scan.findings) > DETAILS_PER_SCAN:
            lines.append(f"  ... and {len(scan.findings) - DETAILS_PER_SCAN} more in {scan.reports[0]}")
    return "\n".join(lines)


def summary_json(scans: list[Scan], severities: tuple[str, ...]) -> dict:
    return {
        "fails_on": list(severities),
        "passed": not any(scan.failed for scan in scans),
        "scans": [
            {
                "target": scan.target,
                "scanner": scan.scanner,
                "result": "fail" if scan.failed else "skipped" if scan.skipped else "pass",
                "note": scan.note,
                "messages": scan.messages,
                "counts": scan.counts(),
                "findings": [vars(finding) for finding in scan.findings],
                "reports": [str(report) for report in scan.reports],
            }
            for scan in scans
        ],
    }


@task(
    iterable=["service"],
    help={
        "service": "Scan only this service's image (repeatable); default: every service",
        "severity": "Severities that fail the scan, comma-separated (default: [tool.dockwright.scan].severity, "
        "else HIGH,CRITICAL)",
        "format": f"Output: {', '.join(FORMATS)} (json: the summary on stdout; sarif: also .sarif reports)",
        "sbom": "Also write a CycloneDX JSON SBOM of each image to the reports folder",
        "images": "Scan the built images (default); --no-images scans only the files and needs no Docker engine",
        "tag": "Tag of the images to scan (default: the git commit, else 'dev', as `invoke build`)",
        "db-repository": "OCI repository of Trivy's vulnerability DB, e.g. a company mirror of aquasec/trivy-db:2",
        "offline": "Do not download anything: use the DB and checks already in the cache folder",
        "cache-dir": "Trivy's cache folder (DB, checks, layer analyses); default: Trivy's own",
        "allow-missing-db": "Without a vulnerability DB, report vulnerability scanning as skipped instead of failing",
    },
)
def scan(
    c,
    service=None,
    severity=None,
    format="table",
    sbom=False,
    images=True,
    tag=None,
    db_repository=None,
    offline=False,
    cache_dir=None,
    allow_missing_db=False,
):
    """Scan the Dockerfile, configuration and built images for misconfigurations, secrets and vulnerabilities.

    Optionally writes SBOMs. Ends with one table; exits 1 on findings at a failing severity.
    """
    settings = load_settings()
    try:
        severities = parse_severities(severity, "--severity") if severity else settings.scan.severity
    except SettingsError as error:
        raise Exit(str(error), code=2) from None
    if format not in FORMATS:
        raise Exit(f"Unknown format {format!r}: use one of {', '.join(FORMATS)}.", code=2)
    services = choose_targets(settings, service)
    try:
        trivy_binary, hadolint_binary = runner.find_tool("trivy"), runner.find_tool("hadolint")
    except runner.ToolNotFound as error:
        raise Exit(str(error), code=3) from None
    root = settings.root
    reports = root / settings.scan.reports
    reports.mkdir(parents=True, exist_ok=True)
    ignore_file = root / settings.scan.ignore_file
    trivy = Trivy(
        binary=trivy_binary,
        cache_dir=Path(cache_dir or settings.scan.cache_dir or scanners.default_cache_dir()),
        ignore_file=ignore_file if ignore_file.exists() else None,
        db_repository=db_repository or settings.scan.db_repository,
        offline=offline,
    )

    references = {}
    if images:
        try:
            require_engine()
        except Exit as error:
            raise Exit(f"{error.message} Or scan only the files: `invoke scan --no-images`.", code=error.code) from None
        references = image_references(settings, services, tag or git_revision(root) or "dev")

    scans = [
        review_ignores(ignore_file),
        scanners.hadolint(hadolint_binary, root, settings.dockerfile, reports),
        scanners.trivy_config(trivy, root, reports, severities),
    ]
    db_problem = scanners.prepare_vulnerability_db(trivy) if references else None
    if references:
        for name, reference in references.items():
            print(f"scanning {reference}", file=sys.stderr, flush=True)
            scans.append(scanners.image_scan(trivy, "secrets", name, reference, reports, severities))
            if db_problem:
                missing = Scan(name, "vulnerabilities", failed=not allow_missing_db, skipped="no vulnerability DB")
                missing.note = "" if allow_missing_db else "no vulnerability DB (see below)"
                scans.append(missing)
            else:
                scans.append(scanners.image_scan(trivy, "vulnerabilities", name, reference, reports, severities))
            if sbom:
                scans.append(scanners.image_sbom(trivy, name, reference, reports))

    summary = json.dumps(summary_json(scans, severities), indent=2)
    (reports / "summary.json").write_text(summary)
    if format == "json":
        print(summary)
    else:
        print(summary_table(scans, severities))
        if format == "sarif":
            for path in scanners.sarif(trivy, hadolint_binary, root, settings.dockerfile, scans):
                print(f"wrote {path.relative_to(root)}")
    failed = [scan for scan in scans if scan.failed]
    if not failed:
        return
    text = details(failed)
    only_the_db = all(scan.skipped for scan in failed)
    if db_problem and not allow_missing_db:
        text += "\n\n" + no_db_message(db_problem)
    raise Exit(text, code=NO_DB_EXIT if only_the_db else 1)
