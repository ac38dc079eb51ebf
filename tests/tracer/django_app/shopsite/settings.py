"""Settings of the tiny Django site the tracer tests profile through
pyflare.wsgi.ProfilerMiddleware: one app, SQLite in a temporary directory
(PYFLARE_DJANGO_DB, set by check_django.py), nothing else."""
import os

SECRET_KEY = "pyflare-tests-only"
DEBUG = False
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = ["shop"]
MIDDLEWARE = []
ROOT_URLCONF = "shopsite.urls"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ["PYFLARE_DJANGO_DB"],
    }
}
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
