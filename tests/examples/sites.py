"""The partner sites in Flask's test client against tests/examples/fake_avain.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.examples.fake_avain import FakeAvain, running


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeAvain]:
    yield from running()


def make_site(
    create: Any, client_id: str, fake: FakeAvain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Flask:
    monkeypatch.setenv("AVAIN_ISSUER", fake.url)
    monkeypatch.setenv("SITE_INSTANCE", str(tmp_path / client_id))
    monkeypatch.setenv("CLIENT_SECRET", "test-secret")
    monkeypatch.setenv("SITE_URL", "http://localhost:5999")
    monkeypatch.setenv("GARAGE_URL", "http://localhost:5998")
    monkeypatch.delenv("CLIENT_ID", raising=False)
    app: Flask = create()
    app.config.update(TESTING=True, WTF_CSRF_ENABLED=False)
    fake.client_id = client_id
    return app


def query(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def answer_authorize(
    fake: FakeAvain, browser: FlaskClient, location: str, sub: str, **args: str
) -> Any:
    """Avain's answer to the authorization request at ``location``: a code for ``sub``, or
    the error in ``args``."""
    assert location.startswith(fake.url + "/authorize"), location
    asked = query(location)
    fake.script.sub, fake.script.nonce = sub, asked.get("nonce", "")
    params = {"state": asked["state"], **(args or {"code": "a-code"})}
    return browser.get("/callback", query_string=params)


def sign_in(
    fake: FakeAvain, browser: FlaskClient, sub: str = "customer-1", next_path: str = "/"
) -> Any:
    resp = browser.post("/login", data={"next": next_path})
    return answer_authorize(fake, browser, resp.headers["Location"], sub)
