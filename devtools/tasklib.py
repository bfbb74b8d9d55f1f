"""Import the generated projects' task library (template/tasks/) straight from the template.

It is plain Python with no Jinja, so the template repository tests the very code every
generated project runs. It is imported as `dockwright_tasks` because the maintainer's own
tasks.py already owns the name `tasks`.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

from .variants import ROOT

PACKAGE = "dockwright_tasks"
TASKS_DIR = ROOT / "template" / "tasks"


def load() -> ModuleType:
    if PACKAGE not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            PACKAGE, TASKS_DIR / "__init__.py", submodule_search_locations=[str(TASKS_DIR)]
        )
        module = importlib.util.module_from_spec(spec)
        sys.modules[PACKAGE] = module
        spec.loader.exec_module(module)
    return sys.modules[PACKAGE]


def module(name: str) -> ModuleType:
    """A submodule of the task library, e.g. module("runner")."""
    load()
    return importlib.import_module(f"{PACKAGE}.{name}")
