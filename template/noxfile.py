"""nox sessions of this project: the same invoke tasks, in a virtualenv nox makes for them.

`nox -s scan` runs `invoke scan`; arguments after `--` go to the task, e.g.
`nox -s scan -- --sbom --severity MEDIUM,HIGH,CRITICAL` or `nox -s scan -- --no-images`.
"""

from pathlib import Path

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_venv = "yes"

# The task library's requirements: pyproject.toml's `tasks` group, or tasks/requirements.txt in
# a project that adopted dockwright (its pyproject.toml, if any, is its owners').
REQUIREMENTS = Path("tasks/requirements.txt")


def install_tasks(session: nox.Session) -> None:
    if REQUIREMENTS.is_file():
        session.install("-r", str(REQUIREMENTS))
    else:
        session.install(*nox.project.dependency_groups(nox.project.load_toml("pyproject.toml"), "tasks"))


@nox.session
def scan(session: nox.Session) -> None:
    """hadolint, `trivy config`, and Trivy's secret and vulnerability scans of the built images."""
    install_tasks(session)
    session.run("invoke", "scan", *session.posargs)
