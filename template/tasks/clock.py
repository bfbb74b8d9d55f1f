"""The tasks' timestamps: UTC to the second, ISO 8601 with a Z. One format for release records,
deploy locks, the image label org.opencontainers.image.created and build reports."""

from __future__ import annotations

from datetime import UTC, datetime

FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def now() -> str:
    return datetime.now(UTC).strftime(FORMAT)


def parse(text: str) -> datetime:
    return datetime.strptime(text, FORMAT).replace(tzinfo=UTC)
