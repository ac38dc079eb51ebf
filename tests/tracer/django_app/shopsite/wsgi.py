"""The site's WSGI application, wrapped in pyflare's profiling middleware."""
import os

from django.core.wsgi import get_wsgi_application

from pyflare.wsgi import ProfilerMiddleware

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shopsite.settings")
application = ProfilerMiddleware(get_wsgi_application())
