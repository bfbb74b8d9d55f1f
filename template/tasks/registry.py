"""What the registry holds: an image tag's digest, or a clear reason why there is none."""

from __future__ import annotations

import json

from . import runner


class ImageMissing(LookupError):
    """The registry answers, and has no such tag."""


class RegistryUnreachable(ConnectionError):
    """The registry does not answer (or refuses us)."""


def digest(reference: str) -> str:
    """The manifest digest of `reference` in its registry (with the engine's credentials)."""
    argv = ["docker", "buildx", "imagetools", "inspect", "--format", "{{json .Manifest.Digest}}", reference]
    result = runner.run(argv, check=False, timeout=60)
    if result.returncode == 0:
        return json.loads(result.stdout)
    detail = (result.stderr.strip().splitlines() or ["no answer"])[-1].removeprefix("ERROR: ")
    if "not found" in detail:
        raise ImageMissing(f"{reference} is not in the registry")
    raise RegistryUnreachable(f"cannot read {reference} from its registry: {detail}")


def tag_of(image: str) -> str:
    """ "repo/name:tag@sha256:..." -> "tag"."""
    reference = image.split("@", 1)[0]
    return reference.rsplit(":", 1)[1] if ":" in reference.rsplit("/", 1)[-1] else "latest"
