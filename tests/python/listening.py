"""Waiting for a server the CI script started in the background to accept connections."""

import socket
import sys
import time


def wait_until_listening(port, name, timeout=10):
    """Returns once 127.0.0.1:PORT accepts a connection; exits naming NAME after TIMEOUT s."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                sys.exit(f"{name} did not start")
            time.sleep(0.05)
