"""What the server in front of the app does with a request before the app sees it, on a
real ``idp serve``: a head too large is refused, a malformed one gets a 400, a chunked body
reaches the app, and the process's environment (secrets among it) is not in a request's
WSGI environ for the app to leak."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bench.http import server as srv
from tests.served import served_fixture

served = served_fixture()


def _exchange(server: srv.Server, raw: bytes) -> bytes:
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sock.sendall(raw)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def _get(host: str, extra: bytes = b"") -> bytes:
    return b"GET /health HTTP/1.1\r\nHost: " + host.encode() + b"\r\n" + extra + b"\r\n"


@pytest.mark.parametrize(("size", "status"), [(64_000, 200), (200_000, 431)])
def test_a_head_too_large_is_refused(served: srv.Server, size: int, status: int) -> None:
    big = b"X-Big: " + b"a" * size + b"\r\nConnection: close\r\n"
    assert _status(_exchange(served, _get(served.host, big))) == status


@pytest.mark.parametrize(
    "raw",
    [
        b"GARBAGE\r\n\r\n",
        b"GET /health HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n",
        b"GET /health HTTP/9.9\r\nHost: x\r\n\r\n",
        b"POST /token HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n",
    ],
)
def test_a_malformed_request_gets_a_400(served: srv.Server, raw: bytes) -> None:
    answer = _exchange(served, raw)
    assert _status(answer) in (400, 505), answer[:200]


def test_a_chunked_body_reaches_the_app(served: srv.Server) -> None:
    body = b"grant_type=client_credentials&client_id=nobody"
    raw = (
        b"POST /token HTTP/1.1\r\nHost: " + served.host.encode() + b"\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        + f"{len(body):x}\r\n".encode()
        + body
        + b"\r\n0\r\n\r\n"
    )
    answer = _exchange(served, raw)
    # the app read the form: an unknown client, not a missing grant_type
    assert _status(answer) == 401, answer[:400]
    assert b'"invalid_client"' in answer, answer[-300:]


def test_a_worker_keeps_no_settings_in_its_environment(tmp_path: Path) -> None:
    """Granian copies the process's environment into every request's environ; the worker's
    app has read its settings, so ``IDP_SECRET_KEY`` and the database URL are gone from it."""
    env = srv.environment(f"sqlite:///{tmp_path / 'avain.db'}", tmp_path, 5000)
    srv.idp(env, "db", "upgrade")
    script = (
        "import os\n"
        "from idp import serving\n"
        "serving._start_background_jobs = lambda app: None\n"
        "app = serving.worker_app()\n"
        "print(sorted(k for k in os.environ if k.startswith('IDP_')))\n"
        "print(app.config['AVAIN'].issuer)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines() == ["[]", env["IDP_ISSUER"]], done.stdout
