"""No input gives a 500: every endpoint answers garbage with a clear 4xx."""

from __future__ import annotations

import base64
import json

import pytest
from werkzeug.routing import AnyConverter, IntegerConverter

GARBAGE = ["", "\x00", "%", "' OR 1=1 --", "<script>", "a" * 3000, "🙂", "\\", '"']
ENDPOINTS = [
    ("GET", "/authorize"),
    ("POST", "/authorize"),
    ("POST", "/token"),
    ("GET", "/userinfo"),
    ("POST", "/introspect"),
    ("POST", "/revoke"),
    ("GET", "/logout"),
    ("POST", "/logout"),
    ("POST", "/connect/register"),
    ("GET", "/login"),
    ("GET", "/consent"),
    ("GET", "/select-account"),
    ("GET", "/verify/x"),
    ("GET", "/reset/x"),
]
FIELDS = [
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "code",
    "grant_type",
    "refresh_token",
    "token",
    "id_token_hint",
    "post_logout_redirect_uri",
    "claims",
    "max_age",
    "prompt",
    "code_challenge",
    "interaction",
    "client_assertion",
    "client_assertion_type",
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_garbage_never_gives_a_server_error(client, method, path):
    for value in GARBAGE:
        data = {field: value for field in FIELDS}
        data["response_type"] = "code" if value == "" else value
        if method == "GET":
            resp = client.get(path, query_string=data)
        else:
            resp = client.post(path, data=data)
        assert resp.status_code < 500, (path, value, resp.data[:300])
        assert b"Traceback" not in resp.data


def test_basic_auth_garbage(client):
    for header in (
        "Basic",
        "Basic !!!",
        "Basic Og==",
        "Bearer",
        "Basic " + "A" * 5000,
        "Basic AHg6eQ==",
        "Basic eDoAeQ==",
    ):
        resp = client.post(
            "/token", data={"grant_type": "client_credentials"}, headers={"Authorization": header}
        )
        assert 400 <= resp.status_code < 500, header


def test_oversized_body_is_413(client):
    resp = client.post("/token", data={"x": "y" * (300 * 1024)})
    assert resp.status_code == 413


SIGNED_IN = [
    ("POST", "/account/profile"),
    ("POST", "/account/security"),
    ("POST", "/account/sharing/withdraw"),
    ("POST", "/account/sharing/object"),
    ("POST", "/account/delete"),
    ("POST", "/account/sharing/restrict"),
    ("GET", "/account/sharing/receipts/999.jwt"),
    ("POST", "/passkeys/register/verify"),
    ("POST", "/passkeys/x/rename"),
    ("POST", "/passkeys/x/remove"),
    ("POST", "/account/password"),
]
PUBLIC = [
    ("POST", "/passkeys/login/options"),
    ("POST", "/passkeys/login/verify"),
    ("GET", "/consent-log/proof/inclusion"),
    ("GET", "/consent-log/proof/consistency"),
    ("GET", "/privacy/x"),
    ("GET", "/login/second-factor"),
]
FORM_FIELDS = [
    "name",
    "phone_number",
    "street_address",
    "locale",
    "action",
    "recipient",
    "purpose",
    "current_password",
    "new_password",
    "seq",
    "size",
    "old",
    "new",
    "email",
]


@pytest.mark.parametrize(("method", "path"), SIGNED_IN + PUBLIC)
def test_garbage_on_account_passkey_and_log_endpoints(client, make_user, method, path):
    import re

    from tests.conftest import login

    if (method, path) in SIGNED_IN:
        login(client, make_user().email)
    page = client.get("/account/" if (method, path) in SIGNED_IN else "/login").data.decode()
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    for value in GARBAGE:
        data = {field: value for field in FORM_FIELDS}
        if method == "GET":
            resp = client.get(path, query_string=data)
        else:
            resp = client.post(
                path, data={**data, "csrf_token": csrf}, headers={"X-CSRFToken": csrf}
            )
            assert resp.status_code < 500, (path, value, resp.data[:300])
            resp = client.post(
                path,
                json={"credential": value, "email": value, "name": value, "interaction": value},
                headers={"X-CSRFToken": csrf},
            )
        assert resp.status_code < 500, (path, value, resp.data[:300])
        assert b"Traceback" not in resp.data


# -- the sweep: every route in the URL map, each shape of bad input -------------------------

SWEEP_FIELDS = sorted(
    {
        *FIELDS,
        *FORM_FIELDS,
        "acr_values",
        "backchannel_logout_uri",
        "client_name",
        "credential",
        "decision",
        "grant_types",
        "jwks",
        "login_hint",
        "nonce",
        "password",
        "post_logout_redirect_uris",
        "redirect_uris",
        "response_mode",
        "token_endpoint_auth_method",
        "ui_locales",
    }
)
JSON_FIELDS = ["claims", "credential", "jwks", "request", "redirect_uris"]  # parsed as JSON
NOT_UTF8 = b"\xff\xfe\xc3\x28"
DEEP = 5000
HUGE = "9" * 5000


def _form(value: bytes) -> bytes:
    return b"&".join(f.encode() + b"=" + value for f in SWEEP_FIELDS)


def _json(value: object) -> dict:
    return {"data": json.dumps({f: value for f in SWEEP_FIELDS}), "content_type": JSON}


JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


def _shapes() -> dict[str, list[dict]]:
    """Each shape of bad input, as the keyword arguments of one or more test requests."""
    basic = base64.b64encode(NOT_UTF8 + b":" + NOT_UTF8).decode()
    deep_array, deep_object = "[" * DEEP + "]" * DEEP, '{"a":' * DEEP + "1" + "}" * DEEP
    return {
        "oversize": [
            {"data": {"x": "y" * (300 * 1024)}},
            {"data": json.dumps({"x": "y" * (300 * 1024)}), "content_type": JSON},
            {"data": b"x=" + b"y" * (300 * 1024), "content_type": FORM},
        ],
        "not-utf8": [
            {"data": _form(NOT_UTF8), "content_type": FORM},
            {"data": _form(b"%FF%FE%C3%28"), "content_type": FORM},
            {"query_string": _form(b"%FF%FE%C3%28").decode()},
            {"environ_overrides": {"QUERY_STRING": _form(NOT_UTF8).decode("latin-1")}},
            {"data": b'{"email": "' + NOT_UTF8 + b'"}', "content_type": JSON},
            {"headers": {"Authorization": f"Basic {basic}"}, "data": {"grant_type": "x"}},
            {"headers": {"Authorization": f"Bearer {NOT_UTF8.decode('latin-1')}"}},
            {"headers": {"Cookie": f"avain_lang={NOT_UTF8.decode('latin-1')}"}},
            {"headers": {"Accept-Language": NOT_UTF8.decode("latin-1")}},
        ],
        "deep-json": [
            {"data": deep_array, "content_type": JSON},
            {"data": deep_object, "content_type": JSON},
            {"data": {f: deep_array[:4000] for f in JSON_FIELDS}},
            {"query_string": {f: deep_object[:4000] for f in JSON_FIELDS}},
            _json(json.loads("[" * 900 + "]" * 900)),
        ],
        "nul": [
            {"query_string": {f: "a\x00b" for f in SWEEP_FIELDS}},
            {"data": {f: "a\x00b" for f in SWEEP_FIELDS}},
            _json("a\x00b"),
            {"data": '{"email": "a\\u0000b"}', "content_type": JSON},
        ],
        # valid JSON text whose string is no text: it cannot be encoded to be stored
        "lone-surrogate": [
            _json("a\ud800b"),
            {"data": '{"email": "a\\udc00b", "reason": "\\uD83D"}', "content_type": JSON},
        ],
        "wrong-json-types": [
            *({"data": body, "content_type": JSON} for body in ("[]", '"x"', "1", "null", "")),
            *(_json(value) for value in ({}, [], 1, True, None, [{}], {"a": [1]})),
            {"data": "{not json", "content_type": JSON},
        ],
        "huge-numbers": [
            {
                "data": '{"seq": 1e999999, "size": -1e999999, "max_age": ' + HUGE + "}",
                "content_type": JSON,
            },
            _json(10**300),
            _json(1e308),
            {"query_string": {f: HUGE for f in SWEEP_FIELDS}},
            {"data": {f: "-" + HUGE[:40] for f in SWEEP_FIELDS}},
        ],
        "bad-path-values": [{"path_value": v} for v in ("%00", "%FF%FE", "a" * 3000, "..%2F..")],
    }


def _routes(app) -> list[tuple[str, str, str]]:
    """(method, path, endpoint) for every rule: values of the right kind in its variables."""
    out = []
    for rule in app.url_map.iter_rules():
        values = {}
        for name, converter in rule._converters.items():
            if isinstance(converter, AnyConverter):
                values[name] = sorted(converter.items)[0]
            elif isinstance(converter, IntegerConverter):
                values[name] = 1
            else:
                values[name] = "PATHVALUE"
        path = rule.build(values, append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            out.append((method, path, rule.endpoint))
    # the ones that can end the session last, so the signed-in sweep stays signed in
    return sorted(out, key=lambda r: (r[2] in ENDS_SESSION, r))


ENDS_SESSION = {"logout.logout", "flow.select_account"}


def _csrf_token(client, path: str) -> str:
    import re

    page = client.get(path, follow_redirects=True).data.decode()
    return re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)


def _valid_parts(make_client) -> tuple[dict[str, str], dict[str, str]]:
    """A real client's parameters and credentials, so that garbage in the other fields gets
    past the first checks of the protocol endpoints."""
    rp, secret = make_client(first_party=True)
    params = {
        "client_id": rp.client_id,
        "redirect_uri": rp.redirect_uris[0],
        "response_type": "code",
        "scope": "openid profile offline_access",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
    }
    basic = base64.b64encode(f"{rp.client_id}:{secret}".encode()).decode()
    return params, {"Authorization": f"Basic {basic}"}


# A request that a route needs first for its deeper code to run at all.
PRIMERS = {
    "passkeys.login_verify": "/passkeys/login/options",
    "passkeys.register_verify": "/passkeys/register/options",
}


@pytest.mark.parametrize("shape", list(_shapes()))
@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "signed-in"])
def test_sweep_every_route_with_bad_input(app, make_user, make_client, shape, signed_in):
    """No shape of bad input, on any route in the URL map, gives a 500 or a stack trace.

    Anonymously every field is garbage; signed in, a real client's parameters and
    credentials come along, so the garbage reaches past client and session checks."""
    from tests.conftest import login

    client = app.test_client()
    valid: dict[str, str] = {}
    credentials: dict[str, str] = {}
    if signed_in:
        login(client, make_user().email)
        valid, credentials = _valid_parts(make_client)
    csrf = _csrf_token(client, "/account/" if signed_in else "/login")
    variants = _shapes()[shape]
    failures = []
    for method, path, endpoint in _routes(app):
        if endpoint in ENDS_SESSION and signed_in:
            assert client.get("/account/").status_code == 200, "the sweep was signed out"
        if shape == "bad-path-values" and "PATHVALUE" not in path:
            continue
        for kwargs in variants:
            kwargs = dict(kwargs)
            url = path.replace("PATHVALUE", kwargs.pop("path_value", "x"))
            headers = {"X-CSRFToken": csrf, **credentials, **kwargs.pop("headers", {})}
            for key in ("data", "query_string"):
                if isinstance(kwargs.get(key), dict):
                    kwargs[key] = {**kwargs[key], **valid}
            try:
                if endpoint in PRIMERS:
                    client.post(PRIMERS[endpoint], json={}, headers={"X-CSRFToken": csrf})
                resp = client.open(url, method=method, headers=headers, **kwargs)
            except Exception as exc:  # noqa: BLE001 - the test client re-raises a 500's cause
                failures.append((method, url[:60], endpoint, repr(exc)[:200]))
                continue
            # 503 is a deliberate answer (readiness, a store down); any other 5xx is a crash
            if resp.status_code in {500, 501, 502, 504} or b"Traceback" in resp.data:
                failures.append((method, url[:60], endpoint, resp.status_code, resp.data[:200]))
    assert not failures, "\n".join(map(str, failures[:30]))


# -- the shapes that gave a 500, one by one -------------------------------------------------


def test_oversized_form_on_an_html_route_is_a_413_page(client):
    resp = client.post("/login?ui_locales=fi", data={"x": "y" * (300 * 1024)})
    assert resp.status_code == 413
    assert resp.mimetype == "text/html" and b"request_too_large" in resp.data


@pytest.mark.parametrize("path", ["/token", "/introspect", "/revoke"])
def test_basic_credentials_that_are_not_utf8_are_invalid_client(client, make_client, path):
    rp, _ = make_client(first_party=True)
    for user_pass in (b"\xff\xfe:\xc3\x28", rp.client_id.encode() + b":\xff", b"\xff:"):
        resp = client.post(
            path,
            data={"grant_type": "client_credentials", "token": "x"},
            headers={"Authorization": "Basic " + base64.b64encode(user_pass).decode()},
        )
        assert resp.status_code == 401, (path, user_pass)
        assert resp.json["error"] == "invalid_client"
        assert resp.headers["WWW-Authenticate"].startswith("Basic")


def test_authorization_header_that_is_not_ascii_is_invalid_request(client):
    for path in ("/token", "/userinfo", "/connect/register"):
        resp = client.post(path, headers={"Authorization": "Bearer \xff\xfe"})
        assert resp.status_code == 400 and resp.json["error"] == "invalid_request", path


@pytest.mark.parametrize("body", ["[" * 5000 + "]" * 5000, '{"a":' * 100 + "1" + "}" * 100])
def test_deeply_nested_json_is_a_400_in_each_routes_format(client, body):
    resp = client.post(
        "/connect/register",
        data=body,
        content_type="application/json",
        headers={"Authorization": "Bearer initial-access-token-for-tests"},
    )
    assert resp.status_code == 400
    assert resp.json["error"] == "invalid_request" and "error_description" in resp.json
    csrf = _csrf_token(client, "/login")
    resp = client.post(
        "/passkeys/login/options",
        data=body,
        content_type="application/json",
        headers={"X-CSRFToken": csrf},
    )
    assert resp.status_code == 400
    assert resp.json["error"] == "invalid_request" and resp.json["message"]


def test_query_string_that_is_not_utf8_still_gets_its_page(client):
    resp = client.get("/login", environ_overrides={"QUERY_STRING": "ui_locales=\xff\xfe&x=\xc3("})
    assert resp.status_code == 200


@pytest.mark.parametrize("credential", ["not json", "[" * 5000 + "]" * 5000, "[]"])
def test_passkey_answer_that_is_not_a_credential_is_invalid_response(client, credential):
    csrf = _csrf_token(client, "/login")
    client.post("/passkeys/login/options", json={}, headers={"X-CSRFToken": csrf})
    resp = client.post(
        "/passkeys/login/verify", json={"credential": credential}, headers={"X-CSRFToken": csrf}
    )
    assert resp.status_code == 400 and resp.json["error"] == "invalid_response"


@pytest.mark.parametrize(
    "how",
    [
        {"query_string": "grant_type=a%00b"},
        {"environ_overrides": {"QUERY_STRING": "grant_type=a\x00b"}},
        {"data": "grant_type=a%00b", "content_type": "application/x-www-form-urlencoded"},
        {"data": b"grant_type=a\x00b", "content_type": "application/x-www-form-urlencoded"},
        {"data": {"grant_type": "a\x00b"}, "content_type": "multipart/form-data"},
    ],
    ids=["query-escaped", "query-raw", "form-escaped", "form-raw", "multipart"],
)
def test_a_nul_is_refused_however_it_is_written(client, how):
    """Each way of writing a NUL into a parameter is a 400 before the token endpoint sees
    it (idp.security._refuse_nul)."""
    resp = client.post("/token", **how)
    assert resp.status_code == 400, resp.data[:200]
    assert "NUL" in resp.get_data(as_text=True)


def test_the_text_percent_00_is_no_nul(client):
    resp = client.post("/token", data={"grant_type": "x%00"})  # sent as x%2500
    assert resp.status_code == 400 and resp.json["error"] == "unsupported_grant_type"


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_a_forged_host_over_plain_http_is_the_clients_error(client, method, path):
    """Authlib refuses OAuth over http to a host other than loopback: with a forged ``Host``
    that was a 500 on the Authlib endpoints (a 4xx now: the request is wrong); the pages
    answer as they would over https."""
    data = {"client_id": "x", "grant_type": "client_credentials", "token": "x"}
    headers = {"Host": "attacker.example", "Authorization": "Bearer x"}
    if method == "GET":
        resp = client.get(path, query_string=data, headers=headers)
    else:
        resp = client.post(path, data=data, headers=headers)
    assert resp.status_code < 500, (path, resp.status_code, resp.data[:300])
    assert b"Traceback" not in resp.data
    if path in OAUTH_OVER_TLS:
        assert resp.status_code == 400 and resp.json["error"] == "invalid_request", path
        assert "HTTPS" in resp.json["error_description"]


#: the endpoints that take OAuth credentials (RFC 6749 §1.6, RFC 6750 §5.3: TLS only)
OAUTH_OVER_TLS = {"/token", "/userinfo", "/introspect", "/revoke", "/claims/tire_purchase"}


@pytest.mark.parametrize(
    ("method", "path"), [("POST", "/userinfo"), ("POST", "/claims/tire_purchase")]
)
def test_a_bearer_token_over_plain_http_to_another_host_is_refused(client, method, path):
    """RFC 6750 §5.3: the resources that take bearer tokens answer only over TLS (or on
    loopback), as Authlib's token endpoint does: a 400 saying so, before any token is
    looked at."""
    headers = {"Host": "attacker.example", "Authorization": "Bearer x"}
    resp = client.open(path, method=method, headers=headers, json={})
    assert resp.status_code == 400 and resp.json["error"] == "invalid_request"
    assert "HTTPS" in resp.json["error_description"]
    over_tls = client.open(
        path, method=method, headers=headers, json={}, base_url="https://attacker.example"
    )
    assert over_tls.status_code == 401 and over_tls.json["error"] == "invalid_token"
