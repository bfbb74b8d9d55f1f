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
    started: datetime | None = None
    completed: datetime | None = None

    @property
    def is_instruction(self) -> bool:
        """A Dockerfile instruction (`[web base 1/5] RUN ...`), not BuildKit's bookkeeping."""
        return bool(self._bracket) and not self._bracket.endswith(("internal", "auth"))

    @property
    def target(self) -> str | None:
        """The bake target a step was reported under (`[web base 1/5] ...` -> web), if any."""
        words = self._bracket.split()
        return words[0] if len(words) >= 3 else None

    @property
    def _bracket(self) -> str:
        if self.name.startswith("[") and "]" in self.name:
            return self.name[1 : self.name.index("]")]
        return ""


def rfc3339(value: str) -> datetime:
    """An RFC 3339 time as Docker and BuildKit write it (UTC, nanoseconds): Python parses microseconds."""
    head, _, fraction = value.rstrip("Z").partition(".")
    return datetime.fromisoformat(f"{head}.{(fraction + '000000')[:6]}+00:00")


class ProgressReader:
    """Feed rawjson lines as they arrive; `feed` returns each step once, when it has finished."""

    def __init__(self) -> None:
        self._buffer = ""
        self._vertexes: dict[str, dict] = {}
        self._reported: set[str] = set()

    def feed(self, line: str) -> list[Step]:
        self._buffer += line
        # Each document is pretty-printed and ends with a "}" alone on its line.
        if line.rstrip("\n") != "}":
            return []
        text, self._buffer = self._buffer, ""
        done = []
        for step in parse_rawjson(text, self._vertexes):
            if step.digest not in self._reported and (step.seconds is not None or step.cached or step.error):
                self._reported.add(step.digest)
                done.append(step)
        return done

    def steps(self) -> list[Step]:
        return _steps(self._vertexes)


def parse_rawjson(text: str, vertexes: dict[str, dict] | None = None) -> list[Step]:
    """Every vertex of a build, in first-seen order, with its final state.

    The stream is a sequence of JSON documents (BuildKit SolveStatus); each vertex is reported
    several times as it progresses, and the last report of a field wins.
    """
    decoder = json.JSONDecoder()
    vertexes = {} if vertexes is None else vertexes
    touched: list[str] = []
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
            touched.append(vertex["digest"])
    return _steps({digest: vertexes[digest] for digest in dict.fromkeys(touched)}) if touched else []


def _steps(vertexes: dict[str, dict]) -> list[Step]:
    steps = []
    for digest, vertex in vertexes.items():
        started = rfc3339(vertex["started"]) if vertex.get("started") else None
        completed = rfc3339(vertex["completed"]) if vertex.get("completed") else None
        steps.append(
            Step(
                digest=digest,
                name=vertex.get("name", ""),
                cached=bool(vertex.get("cached")),
                seconds=(completed - started).total_seconds() if started and completed else None,
                error=vertex.get("error") or None,
                started=started,
                completed=completed,
            )
        )
    return steps
