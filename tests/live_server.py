"""A real Avain on a free localhost port in a background thread, for browser and interop tests."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.serving import make_server

from idp import create_app
from idp.migrate import upgrade


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    app: Flask
    url: str
    instance: Path


@contextmanager
def live_avain(tmp: Path, database_url: str | None = None, **settings: Any) -> Iterator[LiveServer]:
    """Serve a freshly migrated Avain at http://localhost:PORT (the issuer)."""
    port = free_port()
    instance = tmp / "instance"
    instance.mkdir(parents=True, exist_ok=True)
    url = database_url or f"sqlite:///{instance / 'avain.db'}"
    upgrade(url)
    config = {
        "issuer": f"http://localhost:{port}",
        "database_url": url,
        "instance_path": str(instance),
        "secret_key": "live-test-secret-" + "y" * 32,
    }
    config.update(settings)
    app = create_app(config)
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveServer(app, f"http://localhost:{port}", instance)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        app.extensions["avain.engine"].dispose()
