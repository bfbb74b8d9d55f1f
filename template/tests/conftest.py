import pytest


@pytest.fixture(autouse=True)
def test_settings(settings):
    """A throwaway secret, and static files without the build-time manifest."""
    settings.SECRET_KEY = "tests-only-not-a-secret"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
