"""Fixtures of the host's tests: the backends to run on, servers on them, a raw HTTP client."""

import os
import sys
from pathlib import Path

import pytest

from nanoapi_host import NanoapiError, Server, load_library

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "python"))
from http_client import connect, get, read_chunk, read_head  # noqa: E402,F401

try:
    import nanoapi
except ImportError:
    nanoapi = None

LIB = load_library()


def _backends():
    """Both backends, narrowed by NANOAPI_BACKEND; io_uring only where a ring can be set up."""
    wanted = os.environ.get("NANOAPI_BACKEND", "")
    if wanted in ("uring", "poll"):
        return [wanted]
    try:
        probe = Server(lambda req: (200, "", b""), backend="uring", lib=LIB, workers=1)
        probe.start()
        probe.close()
        return ["uring", "poll"]
    except NanoapiError:
        return ["poll"]


@pytest.fixture(params=_backends())
def backend(request):
    return request.param


# The hosts the shared tests run on: this ctypes host, and the compiled `nanoapi` package
# (python/) when it is installed, which answers the same protocol.
HOSTS = ["ctypes"] + (["package"] if nanoapi else [])


@pytest.fixture(params=HOSTS)
def host(request):
    return request.param


@pytest.fixture
def make(backend, host):
    """``make(handler, **options)``: a server of the host under test on the backend under
    test (one worker, a free port), not started."""

    def new(handler, **options):
        options.setdefault("workers", 1)
        if host == "package":
            options["threads"] = options.pop("dispatch_threads", 1)
            return nanoapi.Server(handler, port=0, backend=backend, **options)
        return Server(handler, backend=backend, lib=LIB, **options)

    return new


@pytest.fixture
def serve(make):
    """``serve(handler, **options)`` starts a server of the host under test on the backend
    under test, serving on a background thread; every server is stopped after the test."""
    servers = []

    def start(handler, **options):
        server = make(handler, **options)
        servers.append(server)
        return server.__enter__()

    yield start
    for server in servers:
        # A ctypes server already closed has no handle left.
        if getattr(server, "_server", True):
            server.__exit__(None, None, None)


