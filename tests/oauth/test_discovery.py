"""Discovery (OIDC Discovery 1.0, RFC 8414), JWKS and key rotation."""

from __future__ import annotations

from datetime import timedelta

from authlib.oidc.discovery import OpenIDProviderMetadata
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import update

from idp import context
from idp.db import utcnow
from idp.models import SigningKey
from idp.signing import keys
from tests.conftest import authorize_params, exchange, follow_to_code


def test_metadata_is_valid_and_truthful(client):
    meta = client.get("/.well-known/openid-configuration").json
    OpenIDProviderMetadata(meta).validate()
    assert meta["issuer"] == "http://localhost"
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["authorization_response_iss_parameter_supported"] is True
    assert set(meta["id_token_signing_alg_values_supported"]) == {"RS256", "ES256"}
    assert meta["registration_endpoint"] == "http://localhost/connect/register"
    for key in (
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "jwks_uri",
        "end_session_endpoint",
        "introspection_endpoint",
        "revocation_endpoint",
    ):
        path = meta[key].removeprefix("http://localhost")
        assert client.options(path).status_code != 404, key
    assert client.get("/.well-known/oauth-authorization-server").json == meta


def test_jwks_has_both_algorithms_and_no_private_parts(client):
    data = client.get("/jwks.json").json
    assert {k["alg"] for k in data["keys"]} == {"RS256", "ES256"}
    for key in data["keys"]:
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)


def _id_token(client, make_user, make_client):
    user = make_user()
    rp, secret = make_client(first_party=True)
    params, verifier = authorize_params(rp)
    code = follow_to_code(client, params, user.email)["code"]
    return exchange(client, rp, secret, code, verifier).json["id_token"]


def test_rotation_publishes_before_signing_and_keeps_old_keys(
    app, client, db, make_user, make_client
):
    old_token = _id_token(client, make_user, make_client)
    old_kid = jwt.decode(old_token, KeySet.import_key_set(client.get("/jwks.json").json)).header[
        "kid"
    ]
    with app.app_context():
        new = keys.rotate(
            db, context.settings().secret_key, publish_delay=3600, max_token_lifetime=600
        )
        db.commit()
    published = {k["kid"] for k in client.get("/jwks.json").json["keys"]}
    assert {k.kid for k in new} <= published and old_kid in published
    # still signed with the old key during the publish delay
    token = _id_token(client, make_user, make_client)
    assert (
        jwt.decode(token, KeySet.import_key_set(client.get("/jwks.json").json)).header["kid"]
        == old_kid
    )
    # after the delay the new key signs; the old one is still published
    db.execute(
        update(SigningKey)
        .where(SigningKey.kid.in_([k.kid for k in new]))
        .values(active_from=utcnow() - timedelta(seconds=1))
    )
    db.execute(
        update(SigningKey)
        .where(SigningKey.kid.not_in([k.kid for k in new]))
        .values(superseded_at=utcnow() - timedelta(seconds=1))
    )
    db.commit()
    token = _id_token(client, make_user, make_client)
    keyset = KeySet.import_key_set(client.get("/jwks.json").json)
    assert jwt.decode(token, keyset).header["kid"] in {k.kid for k in new}
    assert old_kid in {k["kid"] for k in client.get("/jwks.json").json["keys"]}
    # once its tokens have expired the old key leaves the JWKS
    db.execute(
        update(SigningKey)
        .where(SigningKey.kid == old_kid)
        .values(retire_after=utcnow() - timedelta(seconds=1))
    )
    db.commit()
    assert old_kid not in {k["kid"] for k in client.get("/jwks.json").json["keys"]}


def test_the_document_is_made_once_and_revalidated_by_its_etag(app, client):
    """Clients poll discovery; it never changes without a restart, so it is built once per
    process, sent with an ETag, and a revalidation costs a 304 with no body."""
    first = client.get("/.well-known/openid-configuration")
    again = client.get("/.well-known/openid-configuration")
    assert first.status_code == again.status_code == 200
    assert first.data == again.data and first.json["issuer"] == app.config["AVAIN"].issuer
    etag = first.headers["ETag"]
    assert etag and etag == again.headers["ETag"]
    assert first.headers["Cache-Control"] == "public, max-age=3600"
    same = client.get("/.well-known/openid-configuration", headers={"If-None-Match": etag})
    assert same.status_code == 304 and same.data == b""
    other = client.get("/.well-known/openid-configuration", headers={"If-None-Match": '"x"'})
    assert other.status_code == 200 and other.data == first.data
    rfc8414 = client.get("/.well-known/oauth-authorization-server")
    assert rfc8414.data == first.data and rfc8414.headers["ETag"] == etag
