"""dockwright tasks for this project. `invoke --list` shows them; `invoke --help TASK` explains one.

Settings come from [tool.dockwright] in pyproject.toml, or dockwright.toml in a project that
adopted dockwright (see tasks/settings.py).
"""

from invoke import Collection, task

from .build import build, image_reference, load_settings
from .deploy import deploy, list_releases, rollback
from .doctor import doctor
from .report import report
from .scan import scan
from .table import format_table
from .testing import test


@task
def services(c):
    """List the services of this project: image ($REGISTRY wins, as in builds), stage, healthcheck, port."""
    settings = load_settings()
    rows = [
        (s.name, image_reference(settings, s.name, "TAG"), s.stage, s.healthcheck, s.port or "-")
        for s in settings.services.values()
    ]
    print(format_table(("service", "image", "stage", "healthcheck", "port"), rows))


ns = Collection(build, test, scan, report, deploy, rollback, list_releases, doctor, services)
