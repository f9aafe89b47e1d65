"""Starts one of benches/python.sh's nanoapi servers: ``serve.py SERVER PORT``, SERVER one
of ``nanoapi-py``, ``nanoapi-py-poll`` (the package, tuple protocol), ``nanoapi-wsgi`` (the
package's WSGI server) or ``ctypes`` (the ctypes host over the C ABI). One worker, one Python
thread; prints ``listening`` once bound."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from apps import tuple_app, wsgi_app  # noqa: E402

name, port = sys.argv[1], int(sys.argv[2])
threads = int(os.environ.get("PY_THREADS", "1"))
if name == "ctypes":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples" / "ffi_python"))
    from nanoapi_host import Server

    server = Server(tuple_app, port=port, workers=1, dispatch_threads=threads, handle_signals=1)
else:
    import nanoapi

    from nanoapi.wsgi import WSGIHandler

    backend = "poll" if name.endswith("-poll") else "uring"
    handler = WSGIHandler(wsgi_app, "127.0.0.1", port) if name == "nanoapi-wsgi" else tuple_app
    server = nanoapi.Server(handler, port=port, workers=1, backend=backend, threads=threads)
server.start()
print("listening", flush=True)
server.run()
