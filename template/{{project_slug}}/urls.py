from django.contrib import admin
from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("admin/", admin.site.urls),
    # /health/ is answered by HealthCheckMiddleware before host validation; this route
    # lets reverse("health") and the test client name it.
    path("health/", views.health, name="health"),
]
