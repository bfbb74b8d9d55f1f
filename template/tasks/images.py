"""Facts about built images, read from the engine."""

from __future__ import annotations

import json
from dataclasses import dataclass

from . import runner


def exists(reference: str) -> bool:
    return runner.run(["docker", "image", "inspect", reference], check=False).returncode == 0


def layer_sizes(reference: str) -> list[int]:
    """Uncompressed bytes of each history entry, newest first (0 for metadata-only entries)."""
    result = runner.run(["docker", "history", "--human=false", "--no-trunc", "--format", "{{.Size}}", reference])
    return [int(line) for line in result.stdout.split()]


def size(reference: str) -> int:
    return sum(layer_sizes(reference))


def added_over(reference: str, base: str) -> int:
    """Uncompressed bytes `reference` adds on top of `base`, the image it was built FROM."""
    layers, base_layers = layer_sizes(reference), layer_sizes(base)
    return sum(layers[: len(layers) - len(base_layers)])


@dataclass(frozen=True)
class Layer:
    created_by: str
    size: int
    diff_id: str | None  # None for metadata-only history entries (ENV, USER, ...)


def layers(reference: str) -> list[Layer]:
    """The history of `reference`, oldest first, each entry with its layer's diff ID (if it has one)."""
    listed = runner.run(["docker", "history", "--human=false", "--no-trunc", "--format", "{{json .}}", reference])
    entries = [json.loads(line) for line in listed.stdout.splitlines() if line.strip()][::-1]
    inspected = json.loads(runner.run(["docker", "image", "inspect", reference]).stdout)[0]
    diff_ids = iter(inspected["RootFS"]["Layers"])
    result = []
    for entry in entries:
        size = int(entry["Size"])
        # Entries that add files own the next layer of RootFS, in order; empty ones own none.
        result.append(Layer(entry["CreatedBy"], size, next(diff_ids, None) if size > 0 else None))
    return result
