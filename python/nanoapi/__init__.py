"""nanoapi for Python: an HTTP/1.1 server on nanoapi's io_uring/poll runtime.

A handler is a plain function called with a :class:`Request`; it returns
``(status, content_type, body)`` or ``(status, content_type, body, headers)``, ``headers`` a
list of ``(name, value)`` pairs, ``body`` ``bytes``, ``str``, ``bytearray`` or an iterable of
those (a generator, say), streamed one chunk per item::

    import nanoapi

    def app(request):
        return 200, "text/plain", "Hello, World!"

    nanoapi.serve(app, port=8000)

``nanoapi.wsgi.serve(app)`` serves a WSGI application (PEP 3333) instead.
"""

import logging
import signal
import threading

from ._nanoapi import Request, Server

__all__ = ["Request", "Server", "serve"]

log = logging.getLogger("nanoapi")


def serve(handler, host="127.0.0.1", port=8000, *, static=(), **options):
    """Serves ``handler`` until SIGINT or SIGTERM, then drains the open connections.

    ``static`` is a list of ``(method, path, status, content_type, body)`` routes answered
    without calling Python. The other keyword arguments are :class:`Server`'s.
    """
    server = Server(handler, host, port, **options)
    for route in static:
        server.add_static(*route)
    _run_until_signalled(server, host)


def _run_until_signalled(server, host, started=None):
    """Starts ``server``, calls ``started(port)``, serves until SIGINT or SIGTERM (SIGTERM
    handled only on the main thread), then drains and closes it."""
    port = server.start()
    if started is not None:
        started(port)
    log.info("serving on http://%s:%d", host, port)
    on_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, lambda *_: server.stop()) if on_main else None
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        if on_main:
            signal.signal(signal.SIGTERM, previous)
        server.close()
    log.info("stopped")
