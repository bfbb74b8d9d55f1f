"""nox sessions of this project: the same invoke tasks, in a virtualenv nox makes for them.

`nox -s scan` runs `invoke scan`; arguments after `--` go to the task, e.g.
`nox -s scan -- --sbom --severity MEDIUM,HIGH,CRITICAL` or `nox -s scan -- --no-images`.
"""

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_venv = "yes"

PYPROJECT = nox.project.load_toml("pyproject.toml")
TASKS = nox.project.dependency_groups(PYPROJECT, "tasks")


@nox.session
def scan(session: nox.Session) -> None:
    """hadolint, `trivy config`, and Trivy's secret and vulnerability scans of the built images."""
    session.install(*TASKS)
    session.run("invoke", "scan", *session.posargs)
