"""No bad input gives a 500 on a console route, for a signed-in owner as well (the app-wide
sweep in tests/test_robustness.py covers a visitor and a signed-in customer), and a real
enrolment link takes the same garbage."""

from __future__ import annotations

import pytest

from tests.admin.console import invite, meta_csrf, session_for
from tests.test_robustness import _routes, _shapes

PRIMERS = {
    "admin_entry.sign_in_verify": "/admin/sign-in/options",
    "admin_entry.reverify_verify": "/admin/reverify/options",
    "admin_entry.enrol_verify": "/admin/enrol/PATHVALUE/options",
}


@pytest.mark.parametrize("shape", list(_shapes()))
def test_console_routes_take_bad_input_without_a_500(app, shape):
    client = app.test_client()
    session_for(app, client, "owner")
    _, token = invite(app, "support")
    csrf = meta_csrf(client, "/admin/")
    failures = []
    routes = [
        r for r in _routes(app) if r[1].startswith("/admin") and r[2] != "admin_entry.sign_out"
    ]
    assert len(routes) >= 10
    for method, path, endpoint in routes:
        for kwargs in _shapes()[shape]:
            kwargs = dict(kwargs)
            value = kwargs.pop("path_value", token)
            url = path.replace("PATHVALUE", value)
            headers = {"X-CSRFToken": csrf, **kwargs.pop("headers", {})}
            try:
                if endpoint in PRIMERS:
                    primer = PRIMERS[endpoint].replace("PATHVALUE", value)
                    client.post(primer, json={}, headers={"X-CSRFToken": csrf})
                resp = client.open(url, method=method, headers=headers, **kwargs)
            except Exception as exc:  # noqa: BLE001 - the test client re-raises a 500's cause
                failures.append((method, url[:60], repr(exc)[:200]))
                continue
            if resp.status_code in {500, 501, 502, 504} or b"Traceback" in resp.data:
                failures.append((method, url[:60], resp.status_code, resp.data[:200]))
    assert not failures, "\n".join(map(str, failures[:30]))
    assert client.get("/admin/").status_code == 200, "the sweep was signed out"
