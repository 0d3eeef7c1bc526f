"""A real RFC 8935 push receiver on a chosen localhost port: it can be down (not listening)
and come back on the same port; it records every SET it accepts, in arrival order."""

from __future__ import annotations

import base64
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SetReceiver:
    def __init__(self, port: int | None = None, expected_auth: str | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://localhost:{self.port}/events"
        self.expected_auth = expected_auth
        self.tokens: list[str] = []
        self.server: ThreadingHTTPServer | None = None
        self.lock = threading.Lock()
        self.arrived = threading.Event()

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length).decode()
                ok = self.headers.get("Content-Type") == "application/secevent+jwt"
                if receiver.expected_auth is not None:
                    ok = ok and self.headers.get("Authorization") == receiver.expected_auth
                if ok:
                    with receiver.lock:
                        receiver.tokens.append(body)
                    receiver.arrived.set()
                self.send_response(202 if ok else 401)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def claims(self) -> list[dict[str, Any]]:
        """The accepted SETs' claims (read without the signature check, which the tests
        make separately against the JWKS)."""
        with self.lock:
            return [payload(t) for t in self.tokens]


def payload(token: str) -> dict[str, Any]:
    part = token.split(".")[1]
    found: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return found
