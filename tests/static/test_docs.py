"""The documentation site builds in strict mode (a broken link or a page missing from the nav
fails), and it cannot drift from the code: every task, copier question and setting is documented."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib

from devtools import tasklib, variants

DOCS = variants.ROOT / "docs"


def test_site_builds_in_strict_mode(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=variants.ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "site" / "tasks" / "index.html").is_file()


def test_every_task_has_a_section_with_an_example():
    tasks = set(tasklib.load().ns.task_names)
    text = (DOCS / "tasks.md").read_text()
    documented = set(re.findall(r"^## invoke (\S+)$", text, re.MULTILINE))

    assert documented == tasks
    for name in tasks:
        section = text.split(f"## invoke {name}\n", 1)[1].split("\n## ", 1)[0]
        assert f"invoke {name}" in section.split("```bash", 1)[-1], f"no example for {name}"


def test_every_copier_question_is_documented():
    text = (DOCS / "configuration.md").read_text()

    for question in variants.questions():
        assert f"| `{question}` |" in text, question


def test_every_setting_is_documented(tmp_path):
    project = variants.render(tmp_path / "project", variants.FULLEST)
    settings = tomllib.loads((project / "pyproject.toml").read_text())["tool"]["dockwright"]
    text = (DOCS / "configuration.md").read_text()
    keys = {key for key, value in settings.items() if not isinstance(value, dict)}
    keys |= {key for table in ("scan", "deploy") for key in settings[table]}
    keys |= {key for service in settings["services"].values() for key in service}

    missing = [key for key in sorted(keys) if f"`{key}`" not in text]
    assert missing == [], missing
