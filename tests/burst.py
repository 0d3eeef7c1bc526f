"""Many requests at the same moment, each from its own browser (test client and session)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient


def burst(
    app: Flask,
    n: int,
    send: Callable[[FlaskClient, int, Any], Any],
    prepare: Callable[[FlaskClient, int], Any] = lambda client, i: None,
) -> list[Any]:
    """``prepare(client, i)`` for each of ``n`` clients one by one, then all ``send(client,
    i, prepared)`` released together by a barrier; returns the responses in order."""
    clients = [app.test_client() for _ in range(n)]
    prepared = [prepare(client, i) for i, client in enumerate(clients)]
    barrier = threading.Barrier(n)
    responses: list[Any] = [None] * n
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            responses[i] = send(clients[i], i, prepared[i])
        except BaseException as exc:  # reported in the test's thread below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    if errors:
        raise errors[0]
    return responses
