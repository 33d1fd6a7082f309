"""moto in server mode on a loopback port of its own: AWS over real HTTP, for tests that need it."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import urllib3
from moto.server import ThreadedMotoServer

REGION = "us-east-1"


@contextmanager
def moto_server() -> Iterator[str]:
    """The emulator's endpoint URL, for as long as the block runs; its state starts empty."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    urllib3.request("POST", f"{endpoint}/moto-api/reset")  # moto keeps state per process, not per server
    try:
        yield endpoint
    finally:
        server.stop()
