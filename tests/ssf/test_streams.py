"""SSF 1.0 stream management: configuration, CRUD, status, subjects, authorisation."""

from __future__ import annotations

import base64

import pytest

from idp.models.ssf import POLL, PUSH
from tests.conftest import authorize_params
from tests.ledger.flows import consent_page, finish
from tests.ssf.receiver import SetReceiver


def cc_token(client, rp, secret):
    basic = base64.b64encode(f"{rp.client_id}:{secret}".encode()).decode()
    resp = client.post(
        "/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert resp.status_code == 200, resp.data
    return resp.get_json()["access_token"]


@pytest.fixture
def partner(client, make_client):
    def make():
        rp, secret = make_client(
            grant_types=["authorization_code", "refresh_token", "client_credentials"]
        )
        return rp, {"Authorization": f"Bearer {cc_token(client, rp, secret)}"}

    return make


def test_configuration_document(client):
    doc = client.get("/.well-known/ssf-configuration").get_json()
    assert doc["issuer"] == "http://localhost"
    assert doc["jwks_uri"] == "http://localhost/jwks.json"
    assert set(doc["delivery_methods_supported"]) == {PUSH, POLL}
    for key in (
        "configuration_endpoint",
        "status_endpoint",
        "add_subject_endpoint",
        "remove_subject_endpoint",
        "verification_endpoint",
    ):
        assert doc[key].startswith("http://localhost/ssf/")
    assert doc["authorization_schemes"] == [{"spec_urn": "urn:ietf:rfc:6749"}]


def test_stream_lifecycle(client, partner):
    rp, auth = partner()
    receiver = SetReceiver()
    wanted = [
        "https://schemas.openid.net/secevent/caep/event-type/session-revoked",
        "https://example.com/not-an-avain-event",
    ]
    resp = client.post(
        "/ssf/stream",
        json={
            "delivery": {"method": PUSH, "endpoint_url": receiver.url},
            "events_requested": wanted,
            "description": "garage",
        },
        headers=auth,
    )
    assert resp.status_code == 201, resp.data
    stream = resp.get_json()
    sid = stream["stream_id"]
    assert stream["aud"] == rp.client_id
    assert stream["events_delivered"] == [wanted[0]]
    assert stream["delivery"] == {"method": PUSH, "endpoint_url": receiver.url}
    # one stream per client
    assert client.post("/ssf/stream", json={}, headers=auth).status_code == 409
    assert client.get(f"/ssf/stream?stream_id={sid}", headers=auth).get_json() == stream
    assert client.get("/ssf/stream", headers=auth).get_json() == [stream]
    # PATCH changes what is given; PUT replaces the whole
    resp = client.patch("/ssf/stream", json={"stream_id": sid, "description": "x"}, headers=auth)
    assert resp.get_json()["description"] == "x"
    assert resp.get_json()["events_delivered"] == [wanted[0]]
    resp = client.put(
        "/ssf/stream", json={"stream_id": sid, "delivery": {"method": POLL}}, headers=auth
    )
    body = resp.get_json()
    assert resp.status_code == 200 and body["events_delivered"] == [] and "description" not in body
    assert body["delivery"] == {"method": POLL, "endpoint_url": f"http://localhost/ssf/poll/{sid}"}
    # status
    assert client.get(f"/ssf/status?stream_id={sid}", headers=auth).get_json() == {
        "stream_id": sid,
        "status": "enabled",
    }
    resp = client.post(
        "/ssf/status", json={"stream_id": sid, "status": "paused", "reason": "upkeep"}, headers=auth
    )
    assert resp.get_json() == {"stream_id": sid, "status": "paused", "reason": "upkeep"}
    bad = client.post("/ssf/status", json={"stream_id": sid, "status": "off"}, headers=auth)
    assert bad.status_code == 400 and bad.get_json()["error"] == "invalid_request"
    # subjects
    subject = {"format": "iss_sub", "iss": "http://localhost", "sub": "abc"}
    add = client.post(
        "/ssf/subjects:add", json={"stream_id": sid, "subject": subject}, headers=auth
    )
    assert add.status_code == 200
    remove = client.post(
        "/ssf/subjects:remove", json={"stream_id": sid, "subject": subject}, headers=auth
    )
    assert remove.status_code == 204
    foreign = {"format": "iss_sub", "iss": "https://other.example", "sub": "abc"}
    resp = client.post(
        "/ssf/subjects:add", json={"stream_id": sid, "subject": foreign}, headers=auth
    )
    assert resp.status_code == 400
    # delete
    assert client.delete(f"/ssf/stream?stream_id={sid}", headers=auth).status_code == 204
    assert client.get(f"/ssf/stream?stream_id={sid}", headers=auth).status_code == 404


def test_each_client_sees_only_its_own_stream(client, partner):
    _, mine = partner()
    _, theirs = partner()
    sid = client.post("/ssf/stream", json={"delivery": {"method": POLL}}, headers=mine).get_json()[
        "stream_id"
    ]
    assert client.get(f"/ssf/stream?stream_id={sid}", headers=theirs).status_code == 404
    assert client.get("/ssf/stream", headers=theirs).get_json() == []
    for call in (
        lambda h: client.patch("/ssf/stream", json={"stream_id": sid}, headers=h),
        lambda h: client.delete(f"/ssf/stream?stream_id={sid}", headers=h),
        lambda h: client.get(f"/ssf/status?stream_id={sid}", headers=h),
        lambda h: client.post("/ssf/verify", json={"stream_id": sid}, headers=h),
        lambda h: client.post(f"/ssf/poll/{sid}", json={"returnImmediately": True}, headers=h),
    ):
        resp = call(theirs)
        assert resp.status_code == 404, resp.data
        assert resp.get_json()["error"] == "not_found"
    assert client.get(f"/ssf/stream?stream_id={sid}", headers=mine).status_code == 200


def test_tokens_and_bad_requests(client, partner, make_user):
    rp, auth = partner()
    resp = client.get("/ssf/stream")
    assert resp.status_code == 401 and "Bearer" in resp.headers["WWW-Authenticate"]
    resp = client.get("/ssf/stream", headers={"Authorization": "Bearer nonsense"})
    assert resp.status_code == 401 and resp.get_json()["error"] == "invalid_token"
    for body in (
        [],
        {"delivery": "push"},
        {"delivery": {"method": "urn:example:carrier-pigeon"}},
        {"delivery": {"method": PUSH}},
        {"delivery": {"method": PUSH, "endpoint_url": "https://10.0.0.1/events"}},
        {"delivery": {"method": PUSH, "endpoint_url": "https://intranet/events"}},
        {"delivery": {"method": POLL}, "events_requested": "all"},
        {"delivery": {"method": POLL}, "description": 5},
    ):
        resp = client.post("/ssf/stream", json=body, headers=auth)
        assert resp.status_code == 400, body
        assert resp.get_json()["error"] == "invalid_request"
    resp = client.post(
        "/ssf/stream", data="{", headers={**auth, "Content-Type": "application/json"}
    )
    assert resp.status_code == 400
    assert client.get("/ssf/stream?stream_id=" + "x" * 300, headers=auth).status_code == 404
    assert client.get("/ssf/status", headers=auth).status_code == 400


def test_a_customer_token_may_not_manage_streams(client, make_user, make_client):
    user = make_user()
    rp, secret = make_client()
    params, verifier = authorize_params(rp, scope="openid")
    interaction, page = consent_page(client, params, user.email)
    query = finish(client, interaction, page)
    basic = base64.b64encode(f"{rp.client_id}:{secret}".encode()).decode()
    token = client.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": query["code"],
            "redirect_uri": rp.redirect_uris[0],
            "code_verifier": verifier,
        },
        headers={"Authorization": f"Basic {basic}"},
    ).get_json()["access_token"]
    resp = client.get("/ssf/stream", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 403 and resp.get_json()["error"] == "forbidden"


def test_two_creates_in_flight_make_one_stream(client, partner, monkeypatch):
    """The look-up for an existing stream cannot see a create not yet committed: the
    second of two concurrent creates must meet the unique index and be a 409, not a 500 or
    a second stream (each would get its own copy of every event)."""
    from idp.ssf import streams

    _, auth = partner()
    assert (
        client.post("/ssf/stream", json={"delivery": {"method": POLL}}, headers=auth).status_code
        == 201
    )
    monkeypatch.setattr(streams, "of_client", lambda session, client_id: [])  # as if in flight
    resp = client.post("/ssf/stream", json={"delivery": {"method": POLL}}, headers=auth)
    assert resp.status_code == 409, resp.data
    assert resp.get_json()["error"] == "conflict"
    monkeypatch.undo()
    assert len(client.get("/ssf/stream", headers=auth).get_json()) == 1
