"""Read BuildKit's machine-readable progress (`--progress=rawjson`): which steps ran, which came
from the cache, how long each took. Used for build summaries and cache checks, instead of
scraping the human-readable progress text."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Step:
    digest: str
    name: str
    cached: bool
    seconds: float | None
    error: str | None = None

    @property
    def is_instruction(self) -> bool:
        """A Dockerfile instruction (`[stage n/m] RUN ...`), not BuildKit's internal bookkeeping."""
        return not self.name.startswith(("[internal]", "[auth]", "exporting", "naming", "unpacking"))


def _timestamp(value: str) -> datetime:
    # RFC 3339 with nanoseconds: Python parses at most microseconds.
    head, _, fraction = value.rstrip("Z").partition(".")
    return datetime.fromisoformat(f"{head}.{(fraction + '000000')[:6]}+00:00")


def parse_rawjson(text: str) -> list[Step]:
    """Every vertex of a build, in first-seen order, with its final state.

    The stream is a sequence of JSON documents (BuildKit SolveStatus); each vertex is reported
    several times as it progresses, and the last report of a field wins.
    """
    decoder = json.JSONDecoder()
    vertexes: dict[str, dict] = {}
    position = 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position >= len(text):
            break
        try:
            document, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError:
            # Not JSON (a warning printed by the CLI): skip to the next line.
            newline = text.find("\n", position)
            position = len(text) if newline < 0 else newline + 1
            continue
        for vertex in document.get("vertexes") or []:
            vertexes.setdefault(vertex["digest"], {}).update(vertex)
    steps = []
    for digest, vertex in vertexes.items():
        seconds = None
        if vertex.get("started") and vertex.get("completed"):
            seconds = (_timestamp(vertex["completed"]) - _timestamp(vertex["started"])).total_seconds()
        steps.append(
            Step(
                digest=digest,
                name=vertex.get("name", ""),
                cached=bool(vertex.get("cached")),
                seconds=seconds,
                error=vertex.get("error") or None,
            )
        )
    return steps
