# -*- coding: utf-8 -*-
"""Profile chosen requests of a WSGI application with pyflare.

    from pyflare.wsgi import ProfilerMiddleware
    application = ProfilerMiddleware(application)              # Django: wsgi.py
    application = ProfilerMiddleware(app, output_dir="/tmp/p")  # keep files instead

Only requests that ask are profiled: a query string with the trigger
(`?pyflare`, `?pyflare=svg`) or the header `X-Pyflare: 1` (or a format name).
The value picks the format: html (default) or any name in
pyflare.formats(). The trigger is removed from the query string before the
application sees it.

Without output_dir the response is replaced by the report (the application
still runs in full, so its side effects happen); with output_dir the report is
written there as <time>-<method>-<path>.<ext> and the application's own
response is returned. Only the serving thread is profiled, the whole response
body included (iterating it often does work); profiled requests are served
one at a time. Python 2.7 and 3.
"""
import os
import re
import tempfile
import threading
import time

from pyflare import Profile, formats

# Format name -> (file extension, content type), from pyflare's format table.
FORMATS = dict((name, (ext, media)) for name, ext, media, _binary in formats())


class ProfilerMiddleware(object):
    def __init__(self, app, trigger="pyflare", output_dir=None, default_format="html", clock="wall",
                 builtins=True):
        if default_format not in FORMATS:
            raise ValueError("unknown format %r (known: %s)" % (default_format, " ".join(sorted(FORMATS))))
        self.app = app
        self.trigger = trigger
        self.output_dir = output_dir
        self.default_format = default_format
        self.clock = clock
        self.builtins = builtins
        self._lock = threading.Lock()  # one Profile can be enabled at a time

    def _requested(self, environ):
        """(format, query string without the trigger), or (None, None)."""
        query = environ.get("QUERY_STRING", "")
        fmt = None
        kept = []
        for part in query.split("&") if query else []:
            name, _, value = part.partition("=")
            if name == self.trigger:
                fmt = value or self.default_format
            else:
                kept.append(part)
        header = environ.get("HTTP_X_" + self.trigger.upper().replace("-", "_"))
        if fmt is None and header and header.lower() not in ("0", "no", "false"):
            fmt = self.default_format if header.lower() in ("1", "yes", "true") else header.lower()
        if fmt is None:
            return None, None
        return fmt, "&".join(kept)

    def __call__(self, environ, start_response):
        fmt, query = self._requested(environ)
        if fmt is None:
            return self.app(environ, start_response)
        if fmt not in FORMATS:
            body = ("pyflare: unknown format %r (known: %s)\n" % (fmt, " ".join(sorted(FORMATS)))).encode("utf-8")
            start_response("400 Bad Request", [("Content-Type", "text/plain; charset=utf-8"),
                                               ("Content-Length", str(len(body)))])
            return [body]
        environ = dict(environ, QUERY_STRING=query)
        with self._lock:
            return self._profiled(environ, start_response, fmt)

    def _profiled(self, environ, start_response, fmt):
        captured = {}
        chunks = []

        def capture(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            return chunks.append  # the legacy write() callable

        prof = Profile(clock=self.clock, builtins=self.builtins, all_threads=False)
        prof.enable()
        try:
            result = self.app(environ, capture)
            try:
                for chunk in result:
                    chunks.append(chunk)
            finally:
                if hasattr(result, "close"):
                    result.close()
        finally:
            prof.disable()

        ext, ctype = FORMATS[fmt]
        if self.output_dir:
            if not os.path.isdir(self.output_dir):
                os.makedirs(self.output_dir)
            where = re.sub(r"[^A-Za-z0-9]+", "_", environ.get("PATH_INFO", "/")).strip("_") or "root"
            name = "%s-%s-%s%s" % (time.strftime("%Y%m%d-%H%M%S"), environ.get("REQUEST_METHOD", "GET"),
                                   where[:80], ext)
            prof.write(os.path.join(self.output_dir, name), format=fmt,
                       title="%s %s" % (environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "/")))
            start_response(captured.get("status", "500 Internal Server Error"), captured.get("headers", []))
            return chunks

        fd, path = tempfile.mkstemp(suffix=ext, prefix="pyflare-")
        os.close(fd)
        try:
            prof.write(path, format=fmt,
                       title="%s %s" % (environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "/")))
            with open(path, "rb") as f:
                body = f.read()
        finally:
            os.unlink(path)
        headers = [("Content-Type", ctype), ("Content-Length", str(len(body))),
                   ("X-Pyflare-Status", captured.get("status", "")),
                   ("Cache-Control", "no-store")]
        if ctype == "application/octet-stream":
            headers.append(("Content-Disposition", 'attachment; filename="profile%s"' % ext))
        start_response("200 OK", headers)
        return [body]
