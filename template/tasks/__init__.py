"""dockwright tasks for this project. `invoke --list` shows them; `invoke --help TASK` explains one.

Settings come from [tool.dockwright] in pyproject.toml (see tasks/settings.py).
"""

from invoke import Collection, Exit, task

from . import settings as dockwright_settings


@task
def services(c):
    """List the services of this project: image, Dockerfile stage, healthcheck, port."""
    try:
        config = dockwright_settings.load()
    except dockwright_settings.SettingsError as error:
        raise Exit(str(error), code=2) from None
    rows = [("service", "image", "stage", "healthcheck", "port")]
    for service in config.services.values():
        port = str(service.port) if service.port else "-"
        rows.append(
            (service.name, config.image(service.name, "TAG"), service.stage, service.healthcheck, port)
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


ns = Collection(services)
