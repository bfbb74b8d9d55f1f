"""Facts about built images, read from the engine."""

from __future__ import annotations

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
