"""A local HTTP server on a loopback port of its own, served from a daemon thread: what every stand-in is.

Subclasses pass their request handler and keep their state on `self.server_state`, which handlers
read as `self.server.state`. Port 0 (the default) lets the OS choose, so tests never collide.
"""

from __future__ import annotations

import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: Any

    def handle_error(self, request, client_address) -> None:
        # A client that stopped waiting (its timeout) has closed the connection a slow answer goes to.
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class LoopbackServer:
    def __init__(self, handler: type[BaseHTTPRequestHandler], state: Any, *, name: str, port: int = 0):
        self._server = _Server(("127.0.0.1", port), handler)
        self._server.state = state
        # A short poll interval: stopping waits for the serving loop to notice, and tests stop often.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name=name, daemon=True)

    @property
    def server_state(self) -> Any:
        return self._server.state

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self):
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()
