"""copier.yml: the defaults render a project, and every invalid answer is refused with a sentence
saying what is allowed, whether it comes from --data, the Python API or the interactive prompt."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pexpect
import pyte
import pytest
import yaml

from devtools import variants

COPIER = str(Path(sys.executable).parent / "copier")


def copier(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([COPIER, *args], capture_output=True, text=True, timeout=300)


def test_defaults_render_from_the_command_line(tmp_path):
    destination = tmp_path / "site"

    started = time.monotonic()
    result = copier("copy", "--defaults", "--vcs-ref", "HEAD", str(variants.ROOT), str(destination))
    print(f"\ncopier copy --defaults took {time.monotonic() - started:.2f} s")

    assert result.returncode == 0, result.stderr
    answers = yaml.safe_load((destination / ".copier-answers.yml").read_text())
    assert answers["project_slug"] == "my_site"
    assert answers["python_version"] == "3.13"
    assert answers["chromium"] == "worker"
    assert answers["dockerhub_mirror"] == "docker.io/library"
    assert (destination / "my_site" / "settings.py").is_file()
    assert "--trust" not in result.stderr


INVALID_ANSWERS = [
    ({"project_slug": "1abc"}, 'project_slug "1abc" is not a valid Python package name'),
    ({"project_slug": "my-site"}, 'project_slug "my-site" is not a valid Python package name'),
    ({"project_slug": "tasks"}, 'project_slug "tasks" clashes with a module'),
    ({"registry": "UPPER/Case"}, 'registry "UPPER/Case" is not an image repository'),
    ({"registry": "ghcr.io/acme/site:latest"}, "without a tag or digest"),
    # Choices are checked by Copier itself, which names the allowed values.
    (
        {"python_version": "2.7"},
        "Invalid choice for 'python_version': '2.7' is not in ['3.12', '3.13', '3.14']",
    ),
    ({"celery": "false", "chromium": "worker"}, 'chromium "worker" needs celery=true'),
    ({"deploy_target": "heroku"}, "'heroku' is not in ['compose', 'swarm', 'caprover']"),
    ({"dockerhub_mirror": "https://mirror.example.com/"}, "without scheme or trailing slash"),
    ({"mode": "migrate"}, "'migrate' is not in ['new', 'adopt']"),
    ({"dependency_source": "poetry"}, 'dependency_source "poetry" applies to adopted projects'),
    ({"mode": "adopt", "server_entry": "config.wsgi"}, 'server_entry "config.wsgi" is not module:attribute'),
    ({"mode": "adopt", "requirements_file": "../x.txt"}, 'requirements_file "../x.txt" is not a path inside'),
    ({"mode": "adopt", "health_path": "healthz"}, 'health_path "healthz" is not a URL path'),
]


def data_id(case) -> str:
    return "-".join(f"{key}={value}" for key, value in case[0].items())


@pytest.mark.parametrize(("answers", "message"), INVALID_ANSWERS, ids=[data_id(c) for c in INVALID_ANSWERS])
def test_invalid_data_is_refused_with_a_sentence(tmp_path, answers, message):
    destination = tmp_path / "site"
    data = [arg for key, value in answers.items() for arg in ("--data", f"{key}={value}")]

    result = copier("copy", "--defaults", "--vcs-ref", "HEAD", *data, str(variants.ROOT), str(destination))

    assert result.returncode != 0
    assert message in result.stderr + result.stdout
    assert not destination.exists() or not any(destination.iterdir()), "nothing may be written"


def test_invalid_data_through_the_python_api_raises(tmp_path):
    with pytest.raises(ValueError, match='registry "UPPER/Case" is not an image repository'):
        variants.render(tmp_path / "site", {"registry": "UPPER/Case"})


# The interactive prompt shows each question's help text; we answer with the default (Enter)
# until the question under test, then type a bad answer over the default.
PROMPT_ORDER = [
    ("mode", "Start a new Django project"),
    ("project_name", "Human-readable name"),
    ("project_slug", "Python package name"),
    ("description", "One sentence describing"),
    ("python_version", "Python version of the images"),
    ("frontend", "Compile CSS/JS"),
    ("celery", "Run Celery workers"),
    ("flower", "Flower service"),
    ("chromium", "need headless Chromium"),
    ("deploy_target", "Where the project is deployed"),
    ("registry", "Image repository"),
]


class Terminal:
    """copier's prompt in a pseudo-terminal, read back as the screen a user would see (pyte)."""

    def __init__(self, args: list[str], columns: int = 250, lines: int = 50) -> None:
        self.screen = pyte.Screen(columns, lines)
        self.stream = pyte.Stream(self.screen)
        env = {**os.environ, "TERM": "xterm", "NO_COLOR": "1"}
        self.process = pexpect.spawn(COPIER, args, env=env, encoding="utf-8", dimensions=(lines, columns))

    def wait_for(self, text: str, timeout: float = 30) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.stream.feed(self.process.read_nonblocking(65536, timeout=0.2))
            except pexpect.TIMEOUT:
                pass
            except pexpect.EOF:
                break
            if text in self.text():
                return True
        return text in self.text()

    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.screen.display)

    def type(self, keys: str) -> None:
        time.sleep(0.3)  # prompt_toolkit drops keys sent while it is still drawing
        self.process.send(keys)

    def close(self) -> None:
        self.process.sendcontrol("c")
        self.process.expect(pexpect.EOF, timeout=30)
        self.process.close()


@pytest.mark.parametrize(
    ("question", "bad", "message", "next_help"),
    [
        ("project_slug", "1abc", 'project_slug "1abc" is not a valid Python package name', "One sentence"),
        (
            "registry",
            "UPPER/Case",
            'registry "UPPER/Case" is not an image repository',
            "Continuous integration",
        ),
    ],
)
def test_invalid_interactive_answer_is_refused(tmp_path, question, bad, message, next_help):
    destination = tmp_path / "site"
    terminal = Terminal(["copy", "--vcs-ref", "HEAD", str(variants.ROOT), str(destination)])
    try:
        for name, help_text in PROMPT_ORDER:
            assert terminal.wait_for(help_text), f"prompt for {name} not shown:\n{terminal.text()}"
            if name != question:
                terminal.type("\r")  # accept the default
                continue
            terminal.type("\x7f" * 60 + bad + "\r")
            assert terminal.wait_for(message), f"no validation message:\n{terminal.text()}"
            # Enter did not move on: the next question is never asked.
            assert not terminal.wait_for(next_help, timeout=3)
            break
        else:
            pytest.fail(f"question {question} was never asked")
    finally:
        terminal.close()
    assert not destination.exists() or not any(destination.iterdir()), "nothing may be written"
