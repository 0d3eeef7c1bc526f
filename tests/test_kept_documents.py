"""Discovery and the JWKS from each worker's memory (:mod:`idp.documents`): the kept answer
is the app's own, byte for byte and header for header, for GET, HEAD and a matching
``If-None-Match``; any request the app might answer differently still goes to the app; a
key rotated in this process is in the very next JWKS, and a copy older than
``cache_check_seconds`` is asked for again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from idp import context, documents
from idp.signing import keys

DISCOVERY = "/.well-known/openid-configuration"
PATHS = [DISCOVERY, "/.well-known/oauth-authorization-server", "/jwks.json"]
VIEWS = {
    DISCOVERY: "oauth.openid_configuration",
    "/.well-known/oauth-authorization-server": "oauth.oauth_metadata",
    "/jwks.json": "oauth.jwks",
}


@pytest.fixture
def views(app: Flask) -> dict[str, int]:
    """How many times each document's view ran."""
    calls = dict.fromkeys(VIEWS.values(), 0)
    for endpoint in calls:
        inner = app.view_functions[endpoint]

        def counted(*args: Any, _inner: Callable[..., Any] = inner, _e: str = endpoint) -> Any:
            calls[_e] += 1
            return _inner(*args)

        app.view_functions[endpoint] = counted
    return calls


def _answer(resp: Any) -> tuple[str, list[tuple[str, str]], bytes]:
    """Status, headers and body; a Date only as being there (it is the time of sending)."""
    headers = sorted((n, "(now)" if n == "Date" else v) for n, v in resp.headers.items())
    return resp.status, headers, resp.get_data()


@pytest.mark.parametrize("path", PATHS)
def test_the_kept_answer_is_the_apps_own(client: FlaskClient, views, path):
    first = client.get(path)
    assert first.status_code == 200 and first.headers["ETag"]
    assert views[VIEWS[path]] == 1
    for _ in range(3):
        assert _answer(client.get(path)) == _answer(first)
    assert views[VIEWS[path]] == 1  # from memory
    # a query sends the request to the app, which answers the same document
    assert _answer(client.get(f"{path}?fresh=1")) == _answer(first)
    assert views[VIEWS[path]] == 2
    head, app_head = client.head(path), client.head(f"{path}?fresh=1")
    assert _answer(head) == _answer(app_head) and head.get_data() == b""
    assert head.headers["Content-Length"] == first.headers["Content-Length"]
    assert views[VIEWS[path]] == 3


@pytest.mark.parametrize("path", PATHS)
def test_if_none_match_gets_the_apps_304(client: FlaskClient, views, path):
    etag = client.get(path).headers["ETag"]
    client.get(path)
    bare = etag.strip('"')
    for given in (etag, f"W/{etag}", "*", f'"other", {etag}'):
        kept = client.get(path, headers={"If-None-Match": given})
        from_app = client.get(f"{path}?fresh=1", headers={"If-None-Match": given})
        assert kept.status_code == 304 and kept.get_data() == b""
        assert _answer(kept) == _answer(from_app), given
        assert kept.headers["ETag"] == etag and "Content-Type" not in kept.headers
    other = client.get(path, headers={"If-None-Match": f'"{bare}x"'})
    assert other.status_code == 200 and other.headers["ETag"] == etag
    assert views[VIEWS[path]] == 1 + 4  # the first, and the four with a query


@pytest.mark.parametrize(
    "how",
    [
        {"cookie": "x"},
        {"headers": {"Authorization": "Bearer"}},
        {"headers": {"Authorization": "Basic !!!"}},
        {"headers": {"If-Modified-Since": "Wed, 21 Oct 2015 07:28:00 GMT"}},
        {"headers": {"If-Match": '"nothing"'}},
        {"headers": {"Range": "bytes=0-10"}},
        {"data": b"x"},
    ],
    ids=["cookie", "empty-bearer", "bad-basic", "if-modified-since", "if-match", "range", "body"],
)
def test_requests_the_app_might_answer_otherwise_go_to_it(
    app: Flask, client: FlaskClient, views, how
):
    client.get(DISCOVERY)
    client.get(DISCOVERY)
    assert views[VIEWS[DISCOVERY]] == 1
    other = app.test_client()
    how = dict(how)  # (the parameter is shared by both backends)
    cookie = how.pop("cookie", None)
    if cookie is not None:  # (the test client sends its own jar, not a Cookie header)
        client.set_cookie("avain_session", cookie)
        other.set_cookie("avain_session", cookie)
    kept = client.get(DISCOVERY, **how)
    fresh = other.get(f"{DISCOVERY}?fresh=1", **how)
    assert (kept.status_code, kept.get_data()) == (fresh.status_code, fresh.get_data())
    # it reached the app: the view ran, or a hook answered before it (a malformed header)
    assert views[VIEWS[DISCOVERY]] == 1 + 2 * (kept.status_code in (200, 206, 304, 412))


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "OPTIONS"])
def test_other_methods_get_the_apps_answer(client: FlaskClient, method):
    client.get(DISCOVERY)
    resp = client.open(DISCOVERY, method=method)
    assert resp.status_code in (200, 405)
    if method != "OPTIONS":
        assert resp.status_code == 405


def test_a_key_rotated_here_is_in_the_next_jwks(app: Flask, client: FlaskClient, db, views):
    before = client.get("/jwks.json")
    client.get("/jwks.json")
    assert views["oauth.jwks"] == 1
    with app.app_context():
        new = keys.rotate(
            db, context.settings().secret_key, publish_delay=3600, max_token_lifetime=600
        )
        db.commit()
    after = client.get("/jwks.json")
    assert views["oauth.jwks"] == 2
    assert {k.kid for k in new} <= {k["kid"] for k in after.json["keys"]}
    assert after.headers["ETag"] != before.headers["ETag"]
    # the old ETag no longer matches
    assert client.get("/jwks.json", headers={"If-None-Match": before.headers["ETag"]}).json


def test_a_copy_is_asked_for_again_after_cache_check_seconds(
    app: Flask, client: FlaskClient, views, monkeypatch
):
    assert app.config["AVAIN"].cache_check_seconds == 60  # tests/conftest.py
    clock = [1000.0]
    monkeypatch.setattr(documents.time, "monotonic", lambda: clock[0])
    client.get("/jwks.json")
    clock[0] += 59
    client.get("/jwks.json")
    assert views["oauth.jwks"] == 1
    clock[0] += 2
    client.get("/jwks.json")
    client.get("/jwks.json")
    assert views["oauth.jwks"] == 2


def test_conditional_and_head_requests_renew_an_expired_copy(
    app: Flask, client: FlaskClient, views, monkeypatch
):
    """A JWKS fetcher that always sends If-None-Match (or HEAD) renews the copy too: the
    app answers the plain GET behind it once, and the request gets its own answer."""
    clock = [1000.0]
    monkeypatch.setattr(documents.time, "monotonic", lambda: clock[0])
    first = client.get("/jwks.json")
    etag = first.headers["ETag"]
    for how in ({"headers": {"If-None-Match": etag}}, {"method": "HEAD"}):
        clock[0] += 61  # past cache_check_seconds
        before = views["oauth.jwks"]
        resp = client.open("/jwks.json", **how)
        again = client.open("/jwks.json", **how)
        from_app = client.open("/jwks.json?fresh=1", **how)
        assert views["oauth.jwks"] == before + 2  # once behind the first, once for ?fresh
        assert _answer(resp) == _answer(again) == _answer(from_app)
        assert resp.status_code == (304 if "headers" in how else 200) and resp.get_data() == b""


def test_an_answer_that_sets_a_cookie_or_varies_is_not_kept(app: Flask, client: FlaskClient):
    @app.after_request
    def _cookie(resp: Any) -> Any:
        resp.set_cookie("x", "1")
        return resp

    client.get(DISCOVERY)
    resp = client.get(DISCOVERY)
    assert "x=1" in resp.headers.get("Set-Cookie", "")  # made again by the app, not replayed
    assert DISCOVERY not in app.wsgi_app._kept  # type: ignore[attr-defined]
    # what is not kept goes out as the app gave it; a HEAD's without the body
    # (a client without the cookie the first answer set: this one's requests carry it)
    head = app.test_client().head(DISCOVERY)
    assert head.status_code == 200 and head.get_data() == b""
    assert "x=1" in head.headers["Set-Cookie"]
    assert head.headers["Content-Length"] == resp.headers["Content-Length"]
