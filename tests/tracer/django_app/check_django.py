"""Profiles requests to the tiny Django site through pyflare's WSGI middleware,
served by wsgiref over real HTTP. Run by tests/tracer/run.py with Debian's
python3.11 (python3-django) and PYTHONPATH at that interpreter's module build:

    python3.11 check_django.py OUTDIR

Prints "PASS/FAIL name: reason" lines and "FILE kind path" for the profiles
(run.py checks them with pstats and callgrind_annotate)."""
import json
import os
import sys
import tempfile
import threading
import urllib.request
from wsgiref.simple_server import WSGIRequestHandler, make_server

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = sys.argv[1]
sys.path.insert(0, HERE)
os.environ["PYFLARE_DJANGO_DB"] = os.path.join(tempfile.mkdtemp(dir=OUT), "shop.sqlite3")
os.environ["DJANGO_SETTINGS_MODULE"] = "shopsite.settings"

import django  # noqa: E402

django.setup()
from django.core.management import call_command  # noqa: E402

call_command("migrate", run_syncdb=True, verbosity=0)
from shopsite.wsgi import application  # noqa: E402


class Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass


server = make_server("127.0.0.1", 0, application, handler_class=Quiet)
threading.Thread(target=server.serve_forever, daemon=True).start()
base = "http://127.0.0.1:%d/items/" % server.server_port


def get(query):
    with urllib.request.urlopen(base + query, timeout=60) as r:
        return r.status, dict(r.headers), r.read()


def result(name, ok, reason=""):
    print("PASS %s" % name if ok else "FAIL %s: %s" % (name, reason))


status, headers, body = get("")
data = json.loads(body)
result("django-plain", status == 200 and data["total"] == sum(i * 3 for i in range(50)), body[:200])
for fmt, ext in (("pstats", ".pstats"), ("callgrind", ".callgrind")):
    status, headers, body = get("?pyflare=" + fmt)
    path = os.path.join(OUT, "django" + ext)
    with open(path, "wb") as f:
        f.write(body)
    result("django-" + fmt + "-response", status == 200 and headers.get("X-Pyflare-Status") == "200 OK" and body,
           "status %s, headers %r" % (status, headers))
    print("FILE django-%s %s" % (fmt, path))
status, headers, body = get("?pyflare")
result("django-html", headers.get("Content-Type", "").startswith("text/html") and b"query.py" in body,
       "no HTML report naming django/db/models/query.py")
server.shutdown()
