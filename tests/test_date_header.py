"""One ``Date`` per answer (RFC 9110 §6.6.1 names it once; §5.3: a field that is not a list
must not repeat). The server adds it; Werkzeug's conditional answers added a second, the
app's own, to the discovery document, the JWKS and the theme's assets. Checked on the app
and on a real ``idp serve`` (Granian), for answers from the app and from the worker's kept
copy (:mod:`idp.documents`), 200 and 304 alike."""

from __future__ import annotations

import http.client
import re

import pytest
from flask.testing import FlaskClient

from bench.http import server as srv
from tests.served import served_fixture

DOCUMENTS = ("/.well-known/openid-configuration", "/jwks.json")


def test_the_app_leaves_the_date_to_the_server(client: FlaskClient) -> None:
    page = client.get("/login")
    css = re.search(rb'href="(/theme/avain-[^"]+\.css)"', page.data)
    assert css is not None, page.data[:500]
    for path in (*DOCUMENTS, css.group(1).decode()):
        first = client.get(path)
        assert first.status_code == 200 and "Date" not in first.headers, path
        again = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
        assert again.status_code == 304 and "Date" not in again.headers, path


served = served_fixture()


def _dates(server: srv.Server, path: str, headers: dict[str, str]) -> tuple[int, list[str], str]:
    conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
    try:
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        resp.read()
        return resp.status, resp.msg.get_all("Date") or [], resp.getheader("ETag", "")
    finally:
        conn.close()


@pytest.mark.parametrize("path", DOCUMENTS)
def test_a_served_answer_has_one_date(served: srv.Server, path: str) -> None:
    # the first answer is the app's; the next ones come from the worker's kept copy
    for _ in range(3):
        status, dates, etag = _dates(served, path, {})
        assert status == 200 and len(dates) == 1, dates
        status, dates, _ = _dates(served, path, {"If-None-Match": etag})
        assert status == 304 and len(dates) == 1, dates
