"""A realistic existing Django project, written by the tests, for adopt mode to adopt.

Its owners chose their own layout: settings in `config/` (not named after the project), an app
`pages`, a Celery app in `config/celery.py`, dependencies in `requirements/production.txt`
(including `requirements/base.txt`), an npm build in `assets/` that writes `static/build/`,
STATIC_ROOT `var/static`, a home page at `/` and a health view at `/healthz/`. It also holds what
such projects have and adoption must not touch: a README, a .gitignore, an old Dockerfile and a
docker-compose.yml per service.
"""

from __future__ import annotations

import json
from pathlib import Path

# The answers a team gives `copier copy` for this project (mode=adopt, the rest as asked).
ADOPT_ANSWERS = {
    "mode": "adopt",
    "project_name": "Portfolio",
    "project_slug": "portfolio",
    "django_settings_module": "config.settings",
    "server_entry": "config.wsgi:application",
    "dependency_source": "requirements",
    "requirements_file": "requirements/production.txt",
    "static_root": "var/static",
    "health_path": "/healthz/",
    "celery": True,
    "celery_app": "config",
    "frontend": True,
    "frontend_dir": "assets",
    "frontend_output": "static/build",
    "chromium": "none",
    "ci": "github",
}

FILES = {
    "manage.py": """\
#!/usr/bin/env python
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
""",
    "config/__init__.py": "from .celery import app as celery_app\n\n__all__ = ['celery_app']\n",
    "config/celery.py": """\
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
app = Celery("portfolio")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
""",
    "config/settings.py": """\
import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "insecure-local-key")
DEBUG = os.environ.get("DJANGO_DEBUG") == "1"
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1").split(",")
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.staticfiles",
    "pages",
]
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
DATABASES = {"default": dj_database_url.config(default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "var" / "static"
CELERY_BROKER_URL = os.environ.get("REDIS_URL", "redis://localhost:6379/0")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
""",
    "config/urls.py": """\
from django.urls import path

from pages import views

urlpatterns = [path("", views.home), path("healthz/", views.healthz)]
""",
    "config/wsgi.py": """\
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()
""",
    "pages/__init__.py": "",
    "pages/tasks.py": """\
from celery import shared_task


@shared_task
def add(x, y):
    return x + y
""",
    "pages/views.py": """\
from django.db import connection
from django.http import HttpResponse, JsonResponse


def home(request):
    return HttpResponse("<h1>Portfolio</h1>")


def healthz(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
""",
    "pages/tests.py": """\
from django.test import SimpleTestCase


class HomeTests(SimpleTestCase):
    def test_home(self):
        self.assertContains(self.client.get("/"), "Portfolio")
""",
    "requirements/base.txt": "django>=5.2,<5.3\ndj-database-url>=3.1\npsycopg[binary]>=3.2\n",
    "requirements/production.txt": "-r base.txt\ncelery[redis]>=5.5\n",
    "assets/package.json": json.dumps(
        {"name": "portfolio-assets", "version": "1.0.0", "private": True, "scripts": {"build": "node build.js"}},
        indent=2,
    )
    + "\n",
    "assets/package-lock.json": json.dumps(
        {
            "name": "portfolio-assets",
            "version": "1.0.0",
            "lockfileVersion": 3,
            "requires": True,
            "packages": {"": {"name": "portfolio-assets", "version": "1.0.0"}},
        },
        indent=2,
    )
    + "\n",
    "assets/build.js": """\
// The project's asset build: concatenates the stylesheets into static/build/site.css.
const fs = require("fs");
const path = require("path");
const out = path.join(__dirname, "..", "static", "build");
fs.mkdirSync(out, { recursive: true });
const css = fs.readdirSync(path.join(__dirname, "css")).sort()
  .map((name) => fs.readFileSync(path.join(__dirname, "css", name), "utf8")).join("\\n");
fs.writeFileSync(path.join(out, "site.css"), css);
""",
    "assets/css/base.css": "body { font-family: sans-serif; }\n",
    "static/robots.txt": "User-agent: *\n",
    "README.md": "# Portfolio\n\nOur site. Run it with `docker compose -f docker-compose.yml up`.\n",
    ".gitignore": "db.sqlite3\nvar/\nstatic/build/\nassets/node_modules/\n.env\n",
    ".env": "DJANGO_SECRET_KEY=do-not-ship-me\n",
    "Dockerfile": "FROM python:3.12\nCOPY . /app\nRUN pip install -r /app/requirements/production.txt\n",
    "docker-compose.yml": "services:\n  web:\n    build: .\n    ports: ['8000:8000']\n",
    "docker/worker.Dockerfile": "FROM python:3.12\nCOPY . /app\nCMD celery -A config worker\n",
}

# What adoption must leave exactly as it was (everything but the old Dockerfile, which the
# generated one replaces: the owners are moving to it).
APPLICATION_FILES = sorted(set(FILES) - {"Dockerfile"})


def write(root: Path) -> Path:
    for name, text in FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root
