"""The review of .trivyignore.yaml: every ignored finding says why and until when.

Trivy itself stops honouring an entry once its `expired_at` has passed; we go further and fail the
scan on an expired entry, naming it, so that a forgotten exception gets a decision instead of
quietly turning back into a finding. Entries without a `statement` or an `expired_at` are refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import yaml

# Sections of Trivy's YAML ignore file (https://trivy.dev/latest/docs/configuration/filtering/).
SECTIONS = ("vulnerabilities", "misconfigurations", "secrets", "licenses")
WARN_BEFORE = timedelta(days=14)


@dataclass
class Review:
    problems: list[str] = field(default_factory=list)
    """Reasons the scan fails: invalid or expired entries."""
    expiring: list[str] = field(default_factory=list)
    """Entries that expire within WARN_BEFORE: a warning, not a failure."""
    entries: int = 0


def _expiry(value: object) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def review(path: Path, today: date) -> Review:
    """Check the ignore file at `path` (a missing file ignores nothing and is fine)."""
    result = Review()
    if not path.exists():
        return result
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        result.problems.append(f"{path.name} is not valid YAML: {error}")
        return result
    if not isinstance(data, dict):
        result.problems.append(f"{path.name} must be a mapping with the sections {', '.join(SECTIONS)}.")
        return result
    for section in data:
        if section not in SECTIONS:
            result.problems.append(f"{path.name}: unknown section {section!r}; allowed: {', '.join(SECTIONS)}.")
    for section in SECTIONS:
        entries = data.get(section) or []
        if not isinstance(entries, list):
            result.problems.append(f"{path.name}: {section} must be a list of entries.")
            continue
        for number, entry in enumerate(entries, start=1):
            result.entries += 1
            entry = entry if isinstance(entry, dict) else {}
            name = f"{section} entry {entry.get('id') or f'#{number}'}"
            if not entry.get("id"):
                result.problems.append(f"{path.name}: {name} has no id (the finding's ID, e.g. CVE-2024-1234).")
            if not str(entry.get("statement") or "").strip():
                result.problems.append(f"{path.name}: {name} has no statement: say why ignoring it is safe.")
            if "expired_at" not in entry:
                result.problems.append(
                    f"{path.name}: {name} has no expired_at: give the date (YYYY-MM-DD) to review it."
                )
                continue
            expires = _expiry(entry["expired_at"])
            if expires is None:
                result.problems.append(
                    f"{path.name}: {name} has expired_at {entry['expired_at']!r}, which is not a date (YYYY-MM-DD)."
                )
            elif expires <= today:
                result.problems.append(
                    f"{path.name}: {name} expired on {expires}: fix the finding, or renew expired_at "
                    "and update the statement."
                )
            elif expires - today <= WARN_BEFORE:
                result.expiring.append(f"{path.name}: {name} expires on {expires} ({(expires - today).days} days).")
    return result
