"""A WSGI server (PEP 3333) on nanoapi::

    from nanoapi import wsgi
    from myproject import app   # Flask, Django's get_wsgi_application(), any WSGI callable

    wsgi.serve(app, port=8000)

The environ, ``start_response`` and the sending of the body are compiled code: no Python
frame of nanoapi's runs per request. A request body up to 64 KiB is read whole before the
application runs (``wsgi.input`` is then a ``BytesIO``); a longer or chunked one is read from
``wsgi.input`` while it arrives, each read waiting without the interpreter lock. Over
``max_body`` a read raises ``OSError`` and the client gets 413. The response is sent
whole when the application returns a list or tuple of one piece, else streamed chunk by chunk
as its iterable yields; the status and headers go out with the first non-empty chunk, so
``start_response`` may be called again with ``exc_info`` until then. Data given to ``write()``
is sent before the iterable's, at the same moment. The server writes ``Content-Length`` (or
chunks the body), ``Date`` and the connection's fields itself: an application's own are
dropped. A header whose name holds ``_`` does not reach the environ (as with gunicorn and
nginx: it would collide with the ``-`` spelling of the same name).
"""

from . import Server, _run_until_signalled
from ._nanoapi import WSGIHandler

__all__ = ["WSGIHandler", "serve"]


def serve(app, host="127.0.0.1", port=8000, **options):
    """Serves the WSGI application ``app`` until SIGINT or SIGTERM, then drains the open
    connections (as :func:`nanoapi.serve`). The keyword arguments are
    :class:`nanoapi.Server`'s."""
    handler = WSGIHandler(app, host, port, multithread=options.get("threads", 1) > 1)
    server = Server(handler, host, port, **options)
    _run_until_signalled(server, host, started=handler.set_server_port)
