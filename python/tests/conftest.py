"""Fixtures of the package's own tests: the backends, servers on them, a raw HTTP client."""

import os
import sys
from pathlib import Path

import pytest

import nanoapi

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "python"))
from http_client import connect, get, read_chunk, read_head  # noqa: E402,F401


def _backends():
    """Both backends, narrowed by NANOAPI_BACKEND; io_uring only where a ring can be set up."""
    wanted = os.environ.get("NANOAPI_BACKEND", "")
    if wanted in ("uring", "poll"):
        return [wanted]
    try:
        with nanoapi.Server(lambda req: None, port=0, backend="uring", workers=1):
            pass
        return ["uring", "poll"]
    except OSError:
        return ["poll"]


@pytest.fixture(params=_backends())
def backend(request):
    return request.param


@pytest.fixture
def server(backend):
    """``server(handler, **options)``: a started server on the backend under test (one
    worker, a free port), closed after the test."""
    servers = []

    def start(handler, **options):
        options.setdefault("workers", 1)
        made = nanoapi.Server(handler, port=0, backend=backend, **options)
        servers.append(made)
        made.start()
        return made

    yield start
    for made in servers:
        made.close()
