"""Client metadata is checked the same way however a client is created: dynamic registration
(RFC 7591), ``idp clients create`` and the ``clients.create`` service. Redirect URIs of every
client, the URIs Avain calls itself, ``jwks`` and the JSON type of every field."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import pytest
from click.testing import CliRunner
from joserfc.jwk import ECKey, OctKey, OKPKey, RSAKey

from idp.config import OPTIONS
from idp.db import new_session
from idp.models import Client

IAT = {"Authorization": "Bearer initial-access-token-for-tests"}
WAYS = ("registration", "cli", "service")
RSA = RSAKey.generate_key(2048, parameters={"kid": "rsa"})
EC = ECKey.generate_key("P-256", parameters={"kid": "ec"})


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    """Avain's defaults: no allow-listed hosts, no http for the URIs it calls."""
    return {k: v for k, v in app_config.items() if not k.startswith("outbound_")}


@dataclass
class Outcome:
    error: str | None  # the RFC 7591 §3.2.2 error code, or None when the client was created
    client_id: str | None = None


def _by_registration(client: Any, meta: dict[str, Any]) -> Outcome:
    resp = client.post("/connect/register", json=meta, headers=IAT)
    assert resp.status_code in (201, 400), (resp.status_code, resp.data[:300])
    if resp.status_code == 201:
        return Outcome(None, resp.json["client_id"])
    return Outcome(resp.json["error"])


def _by_service(app: Any, meta: dict[str, Any]) -> Outcome:
    from idp.oauth.clients import ClientError, ClientSpec, create

    spec = ClientSpec(
        name=meta.get("client_name", "RP"),
        redirect_uris=meta.get("redirect_uris", []),
        grant_types=meta["grant_types"],
        token_endpoint_auth_method=meta.get("token_endpoint_auth_method"),
        post_logout_redirect_uris=meta.get("post_logout_redirect_uris", []),
        backchannel_logout_uri=meta.get("backchannel_logout_uri"),
        jwks=meta.get("jwks"),
    )
    s = app.config["AVAIN"]
    outbound: tuple[Any, ...] = ()  # without a policy, create() is as strict as the defaults
    if s.values.get("outbound_allow_hosts") or s.values.get("outbound_allow_http"):
        from idp.outbound import policy_from

        outbound = (policy_from(s),)
    with app.app_context():
        session = new_session(app)
        try:
            rp, _ = create(session, spec, *outbound)
        except ClientError as exc:
            return Outcome(exc.error)
        finally:
            session.commit()
            session.close()
        return Outcome(None, rp.client_id)


def _by_cli(app: Any, meta: dict[str, Any], tmp_path: Any) -> Outcome:
    from idp.cli import main

    s = app.config["AVAIN"]
    env: dict[str, str | None] = {f"IDP_{o.name.upper()}": None for o in OPTIONS}
    env.update(
        IDP_DATABASE_URL=s.database_url,
        IDP_INSTANCE_PATH=s.instance_path,
        IDP_SECRET_KEY=s.secret_key,
        IDP_ISSUER=s.issuer,
        IDP_CONFIG_DIR=str(tmp_path),
        IDP_OUTBOUND_ALLOW_HOSTS=",".join(s.values.get("outbound_allow_hosts", [])) or None,
        IDP_OUTBOUND_ALLOW_HTTP="true" if s.values.get("outbound_allow_http") else None,
    )
    args = ["clients", "create", "--name", meta.get("client_name", "RP"), "--json"]
    for option, key in (
        ("--redirect-uri", "redirect_uris"),
        ("--grant-type", "grant_types"),
        ("--post-logout-redirect-uri", "post_logout_redirect_uris"),
    ):
        for value in meta.get(key, []):
            args += [option, value]
    if meta.get("backchannel_logout_uri") is not None:
        args += ["--backchannel-logout-uri", meta["backchannel_logout_uri"]]
    if meta.get("token_endpoint_auth_method"):
        args += ["--auth-method", meta["token_endpoint_auth_method"]]
    if "jwks" in meta:
        path = tmp_path / "jwks.json"
        path.write_text(json.dumps(meta["jwks"]))
        args += ["--jwks-file", str(path)]
    result = CliRunner().invoke(main, args, env=env)
    assert "Traceback" not in result.output
    if result.exit_code == 0:
        return Outcome(None, json.loads(result.output)["client_id"])
    found = re.search(r"(invalid_[a-z_]+):", result.output)
    return Outcome(found.group(1) if found else f"exit {result.exit_code}: {result.output}")


@pytest.fixture(params=WAYS)
def register(request, app, client, tmp_path):  # type: ignore[no-untyped-def]
    """Create a client the way the parameter names, from RFC 7591 metadata."""

    def run(meta: dict[str, Any]) -> Outcome:
        if request.param == "registration":
            return _by_registration(client, meta)
        if request.param == "service":
            return _by_service(app, meta)
        return _by_cli(app, meta, tmp_path)

    return run


def _stored(app: Any, client_id: str) -> Client:
    with app.app_context():
        session = new_session(app)
        rp = session.get(Client, client_id)
        session.expunge(rp)
        session.close()
        return rp


# -- redirect URIs: every client, whatever its grant types -----------------------------------

BAD_REDIRECT_URIS = [
    "javascript:alert(document.domain)",
    "JavaScript://evil.example/%0aalert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "file:///etc/passwd",
    "http://evil.example/cb",
    "https://rp.example.com/cb#fragment",
    "/relative/cb",
    "//evil.example/cb",
    "https:///no-host",
    "https://rp.example.com@evil.example/cb",
    "https://rp.example.com/c b",
    "https://rp.example.com/cb\n",
    "https://rp.example.com:port/cb",
]
GRANTS = (["authorization_code", "refresh_token"], ["client_credentials"])


@pytest.mark.parametrize("grant_types", GRANTS, ids=["code", "client_credentials"])
@pytest.mark.parametrize("uri", BAD_REDIRECT_URIS)
def test_bad_redirect_uris_are_refused_for_every_client(register, grant_types, uri):
    outcome = register({"redirect_uris": [uri], "grant_types": grant_types})
    assert outcome.error == "invalid_redirect_uri"


@pytest.mark.parametrize("uri", BAD_REDIRECT_URIS[:6] + ["http://evil.example/"])
def test_bad_post_logout_redirect_uris_are_refused(register, uri):
    outcome = register(
        {
            "redirect_uris": ["https://rp.example.com/cb"],
            "grant_types": ["authorization_code"],
            "post_logout_redirect_uris": [uri],
        }
    )
    assert outcome.error == "invalid_client_metadata"


@pytest.mark.parametrize(
    ("uri", "public"),
    [
        ("https://rp.example.com/cb?x=1", False),
        ("http://localhost:8080/callback", False),
        ("http://127.0.0.1:7000/cb", True),
        ("http://[::1]:7000/cb", True),
        ("com.example.app:/oauth2redirect", True),
    ],
)
def test_good_redirect_uris_are_kept(register, app, uri, public):
    meta = {"redirect_uris": [uri], "grant_types": ["authorization_code"]}
    if public:
        meta["token_endpoint_auth_method"] = "none"
    outcome = register(meta)
    assert outcome.error is None
    assert _stored(app, outcome.client_id).redirect_uris == [uri]


def test_a_private_use_scheme_is_only_for_public_clients(register):
    meta = {"redirect_uris": ["com.example.app:/cb"], "grant_types": ["authorization_code"]}
    assert register(meta).error == "invalid_redirect_uri"


# -- URIs that Avain calls itself: back-channel logout --------------------------------------

BAD_CALLED_URIS = [
    "http://127.0.0.1:8080/backchannel",
    "http://rp.example.com/backchannel",
    "https://169.254.169.254/latest/meta-data/",
    "https://10.0.0.1/backchannel",
    "https://192.168.1.1:8443/backchannel",
    "https://127.0.0.1/backchannel",
    "https://127.1/backchannel",
    "https://2130706433/backchannel",
    "https://0x7f000001/backchannel",
    "https://[::1]/backchannel",
    "https://[::ffff:127.0.0.1]/backchannel",
    "https://[fe80::1%25eth0]/backchannel",
    "https://localhost/backchannel",
    "https://admin.localhost/backchannel",
    "https://intranet/backchannel",
    "https://rp.example.com/backchannel#fragment",
    "https://user:pass@rp.example.com/backchannel",
    "ftp://rp.example.com/backchannel",
    "javascript:alert(1)",
    "https://rp.example.com:99999/backchannel",
    "",
]


@pytest.mark.parametrize("uri", BAD_CALLED_URIS)
def test_backchannel_logout_uri_that_would_reach_inside_is_refused(register, app, uri):
    outcome = register(
        {
            "redirect_uris": ["https://rp.example.com/cb"],
            "grant_types": ["authorization_code"],
            "backchannel_logout_uri": uri,
        }
    )
    assert outcome.error == "invalid_client_metadata"


def test_a_public_https_backchannel_logout_uri_is_kept(register, app):
    uri = "https://rp.example.com:8443/backchannel?tenant=1"
    outcome = register(
        {
            "redirect_uris": ["https://rp.example.com/cb"],
            "grant_types": ["authorization_code"],
            "backchannel_logout_uri": uri,
        }
    )
    assert outcome.error is None
    assert _stored(app, outcome.client_id).backchannel_logout_uri == uri


class TestOperatorAllowList:
    @pytest.fixture
    def app_config(self, app_config: dict[str, Any]) -> dict[str, Any]:
        return {
            **app_config,
            "outbound_allow_hosts": ["localhost:5001", "10.0.0.7"],
            "outbound_allow_http": True,
        }

    @pytest.mark.parametrize(
        ("uri", "public", "error"),
        [
            ("http://localhost:5001/backchannel-logout", False, None),
            ("https://10.0.0.7:9443/backchannel-logout", False, None),
            ("http://rp.example.com/backchannel-logout", False, None),
            ("http://localhost:5002/backchannel-logout", False, "invalid_client_metadata"),
            ("https://10.0.0.8/backchannel-logout", False, "invalid_client_metadata"),
            ("http://localhost:5001/backchannel-logout", True, "invalid_client_metadata"),
        ],
    )
    def test_only_listed_hosts_and_ports(self, register, uri, public, error):
        meta = {
            "redirect_uris": ["https://rp.example.com/cb"],
            "grant_types": ["authorization_code"],
            "backchannel_logout_uri": uri,
        }
        if public:
            meta["token_endpoint_auth_method"] = "none"
        assert register(meta).error == error


# -- jwks: a JWK Set of usable public signing keys ------------------------------------------

BAD_JWKS = {
    "keys_not_a_list": {"keys": "garbage"},
    "keys_of_strings": {"keys": ["garbage"]},
    "no_keys": {"keys": []},
    "no_keys_member": {},
    "key_without_kty": {"keys": [{"n": "x"}]},
    "unreadable_rsa": {"keys": [{"kty": "RSA", "n": "!!!", "e": "AQAB"}]},
    "rsa_n_not_a_string": {"keys": [{"kty": "RSA", "n": {"a": 1}, "e": "AQAB"}]},
    "symmetric_key": {"keys": [OctKey.generate_key(256).as_dict()]},
    "rsa_private_key": {"keys": [RSA.as_dict(private=True)]},
    "ec_private_key": {"keys": [EC.as_dict(private=True)]},
    "rsa_1024": {"keys": [{"kty": "RSA", "n": "w" * 171, "e": "AQAB"}]},
    "ec_p384": {"keys": [ECKey.generate_key("P-384").as_dict(private=False)]},
    "okp_ed25519": {"keys": [OKPKey.generate_key("Ed25519").as_dict(private=False)]},
    "encryption_key": {"keys": [{**RSA.as_dict(private=False), "use": "enc"}]},
    "other_alg": {"keys": [{**RSA.as_dict(private=False), "alg": "RSA-OAEP"}]},
    "unknown_kty": {"keys": [{"kty": "XYZ"}]},
    "too_many": {"keys": [EC.as_dict(private=False)] * 50},
}


@pytest.mark.parametrize("jwks", BAD_JWKS.values(), ids=BAD_JWKS.keys())
def test_unusable_jwks_is_refused(register, jwks):
    outcome = register(
        {
            "grant_types": ["client_credentials"],
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": jwks,
        }
    )
    assert outcome.error == "invalid_client_metadata"


@pytest.mark.parametrize("key", [RSA, EC], ids=["RS256", "ES256"])
def test_a_public_signing_key_is_kept(register, app, key):
    jwks = {"keys": [key.as_dict(private=False)]}
    outcome = register(
        {
            "grant_types": ["client_credentials"],
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": jwks,
        }
    )
    assert outcome.error is None
    assert _stored(app, outcome.client_id).jwks == jwks


# -- the JSON type of every metadata field (registration) -----------------------------------

WRONG_TYPES = [
    ("client_name", 5),
    ("client_name", {"fi": "x"}),
    ("redirect_uris", "https://rp.example.com/cb"),
    ("redirect_uris", [{"uri": "https://rp.example.com/cb"}]),
    ("grant_types", "authorization_code"),
    ("response_types", {"code": True}),
    ("token_endpoint_auth_method", ["client_secret_basic"]),
    ("post_logout_redirect_uris", [1]),
    ("backchannel_logout_uri", {}),
    ("backchannel_logout_uri", []),
    ("backchannel_logout_uri", 1),
    ("backchannel_logout_uri", True),
    ("backchannel_logout_session_required", "yes"),
    ("subject_type", {}),
    ("scope", ["openid"]),
    ("id_token_signed_response_alg", 256),
    ("jwks", "garbage"),
    ("jwks", []),
    ("jwks_uri", 1),
    ("sector_identifier_uri", {}),
    ("contacts", "admin@rp.example.com"),
    ("logo_uri", ["https://rp.example.com/logo.png"]),
    ("default_max_age", "3600"),
    ("require_auth_time", "no"),
    ("application_type", 1),
]


@pytest.mark.parametrize(("field", "value"), WRONG_TYPES, ids=[f for f, _ in WRONG_TYPES])
def test_a_field_of_the_wrong_json_type_is_invalid_client_metadata(client, field, value):
    meta = {"redirect_uris": ["https://rp.example.com/cb"], field: value}
    resp = client.post("/connect/register", json=meta, headers=IAT)
    assert resp.status_code == 400, resp.data[:300]
    assert resp.json["error"] == "invalid_client_metadata"


@pytest.mark.parametrize(
    "extra",
    [
        {"jwks_uri": "https://rp.example.com/jwks.json"},
        {"jwks_uri": "https://rp.example.com/jwks.json", "jwks": {"keys": [EC.as_dict()]}},
        {"sector_identifier_uri": "https://rp.example.com/sector.json"},
    ],
    ids=["jwks_uri", "jwks_uri_and_jwks", "sector_identifier_uri"],
)
def test_uris_avain_would_have_to_fetch_are_refused(client, extra):
    """RFC 7591 §2: jwks_uri and jwks never both; Avain fetches neither this nor a sector file."""
    meta = {"redirect_uris": ["https://rp.example.com/cb"], **extra}
    resp = client.post("/connect/register", json=meta, headers=IAT)
    assert resp.status_code == 400 and resp.json["error"] == "invalid_client_metadata"


def test_null_fields_count_as_absent(client):
    meta = {
        "redirect_uris": ["https://rp.example.com/cb"],
        "client_name": None,
        "backchannel_logout_uri": None,
        "jwks": None,
    }
    resp = client.post("/connect/register", json=meta, headers=IAT)
    assert resp.status_code == 201, resp.json


def test_the_cli_names_the_rfc7591_error(app, tmp_path):
    outcome = _by_cli(
        app,
        {"redirect_uris": ["javascript:alert(1)"], "grant_types": ["client_credentials"]},
        tmp_path,
    )
    assert outcome.error == "invalid_redirect_uri"


def test_generated_client_ids_are_letters_and_digits():
    """A base64url id starting with "-" made ``idp clients show <id>`` fail as an unknown
    option, about once in 64 clients."""
    from idp.oauth.clients import new_client_id

    ids = {new_client_id() for _ in range(2000)}
    assert len(ids) == 2000
    assert all(len(i) == 24 and i.isascii() and i.isalnum() for i in ids)
