from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from .health import run_checks


def home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "home.html",
        {"site_name": settings.SITE_NAME, "site_description": settings.SITE_DESCRIPTION},
    )


def health(request: HttpRequest) -> JsonResponse:
    checks = run_checks()
    healthy = all(result == "ok" for result in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "error", "checks": checks},
        status=200 if healthy else 503,
    )
