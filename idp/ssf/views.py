"""The transmitter's HTTP side (SSF 1.0 §7 and §8): ``/.well-known/ssf-configuration``,
stream management, status, subjects, verification, the RFC 8936 poll endpoint, and a short
description at each of Avain's own event type URIs.

Errors are JSON ``{"error": ..., "error_description": ...}`` with the status §8.1 names:
400 a malformed request, 401 no or a bad token (with a Bearer challenge, RFC 6750 §3),
403 a token that may not manage streams, 404 no such stream of this client, 409 a second
stream.
"""

from __future__ import annotations

import json
import time
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from idp import context
from idp.db import commit, get_session, utcnow
from idp.events import outbox, sets, signals
from idp.extensions import csrf
from idp.models import Client, SsfStream
from idp.models.ssf import POLL
from idp.oauth import tokens
from idp.outbound import policy_from
from idp.ssf import streams
from idp.ssf.streams import StreamError

bp = Blueprint("ssf", __name__)
csrf.exempt(bp)

REALM = "avain"
POLL_WAIT = 10.0  # seconds a poll without returnImmediately waits for a SET at most
POLL_STEP = 0.2

EVENT_TYPE_TEXT = {
    "consent-withdrawn": "The customer withdrew their consent to the purpose (GDPR Art. 7(3)).",
    "consent-objected": "The customer objected to processing for the purpose (GDPR Art. 21).",
    "consent-restricted": "The customer restricted processing for the purpose (GDPR Art. 18).",
}


def _error(status: int, error: str, description: str) -> Response:
    resp = jsonify({"error": error, "error_description": description})
    resp.status_code = status
    resp.headers["Cache-Control"] = "no-store"
    if status == 401:
        resp.headers["WWW-Authenticate"] = f'Bearer realm="{REALM}", error="invalid_token"'
    return resp


@bp.errorhandler(StreamError)
def _stream_error(exc: StreamError) -> Response:
    return _error(exc.status, exc.error, exc.description)


def _issuer() -> str:
    return context.settings().issuer


def _client(session: Session) -> Client:
    """The client of a client-credentials access token in ``Authorization: Bearer``."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value or len(value) > 4096:
        raise StreamError(401, "invalid_token", "A Bearer access token is required.")
    token = tokens.find_by_access_token(session, value)
    if token is None or not tokens.access_active(token):
        raise StreamError(401, "invalid_token", "The access token is invalid or expired.")
    if token.user_id:
        raise StreamError(
            403,
            "forbidden",
            "Streams are managed with a token of the client credentials grant, "
            "not with a customer's token.",
        )
    client = session.get(Client, token.client_id)
    if client is None:
        raise StreamError(401, "invalid_token", "The access token is invalid or expired.")
    return client


def _json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise streams.bad("The request body must be a JSON object (Content-Type application/json).")
    return body


def _json(data: Any, status: int = 200) -> Response:
    resp = jsonify(data)
    resp.status_code = status
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.route("/.well-known/ssf-configuration")
def configuration() -> ResponseReturnValue:
    """SSF 1.0 §7.1: the transmitter configuration metadata."""
    iss = _issuer()
    return jsonify(
        {
            "spec_version": "1_0",
            "issuer": iss,
            "jwks_uri": f"{iss}/jwks.json",
            "delivery_methods_supported": [
                "urn:ietf:rfc:8935",
                "urn:ietf:rfc:8936",
            ],
            "configuration_endpoint": f"{iss}/ssf/stream",
            "status_endpoint": f"{iss}/ssf/status",
            "add_subject_endpoint": f"{iss}/ssf/subjects:add",
            "remove_subject_endpoint": f"{iss}/ssf/subjects:remove",
            "verification_endpoint": f"{iss}/ssf/verify",
            "authorization_schemes": [{"spec_urn": "urn:ietf:rfc:6749"}],
            "default_subjects": "ALL",
        }
    )


@bp.route("/ssf/stream", methods=["GET", "POST", "PATCH", "PUT", "DELETE"])
def stream_config() -> ResponseReturnValue:
    """§8.1.1: create (POST), read (GET), update (PATCH), replace (PUT), delete (DELETE)."""
    session = get_session()
    client = _client(session)
    iss = _issuer()
    outbound = policy_from(context.settings())
    if request.method == "GET":
        stream_id = request.args.get("stream_id")
        if stream_id is None:  # §8.1.1.2: every stream of the receiver
            return _json(
                [streams.describe(iss, s) for s in streams.of_client(session, client.client_id)]
            )
        return _json(streams.describe(iss, streams.find(session, client.client_id, stream_id)))
    if request.method == "DELETE":
        streams.remove(session, client.client_id, request.args.get("stream_id"))
        commit()
        return Response(status=204)
    body = _json_body()
    if request.method == "POST":
        stream = streams.create(session, client.client_id, body, iss, outbound)
        status = 201
    else:
        replace = request.method == "PUT"
        stream = streams.update(session, client.client_id, body, iss, outbound, replace)
        status = 200
    commit()
    return _json(streams.describe(iss, stream), status)


def _status_of(stream: SsfStream) -> dict[str, Any]:
    out: dict[str, Any] = {"stream_id": stream.id, "status": stream.status}
    if stream.reason:
        out["reason"] = stream.reason
    return out


@bp.route("/ssf/status", methods=["GET", "POST"])
def status() -> ResponseReturnValue:
    """§8.1.2: read or change the stream's status."""
    session = get_session()
    client = _client(session)
    if request.method == "GET":
        stream = streams.find(session, client.client_id, request.args.get("stream_id"))
        return _json(_status_of(stream))
    body = _json_body()
    stream = streams.find(session, client.client_id, body.get("stream_id"))
    was = stream.status
    streams.set_status(session, stream, body.get("status"), body.get("reason"))
    commit()
    if was != "enabled" and stream.status == "enabled":
        outbox.kick_signals(current_app._get_current_object())  # type: ignore[attr-defined]
    return _json(_status_of(stream))


@bp.route("/ssf/subjects:add", methods=["POST"])
def add_subject() -> ResponseReturnValue:
    """§8.1.3.2."""
    return _mark_subject(True, 200)


@bp.route("/ssf/subjects:remove", methods=["POST"])
def remove_subject() -> ResponseReturnValue:
    """§8.1.3.3: no more SETs about the subject."""
    return _mark_subject(False, 204)


def _mark_subject(wanted: bool, status: int) -> ResponseReturnValue:
    session = get_session()
    client = _client(session)
    body = _json_body()
    stream = streams.find(session, client.client_id, body.get("stream_id"))
    subject = streams.checked_subject(_issuer(), body.get("subject"))
    streams.mark_subject(session, stream, subject, wanted)
    commit()
    return Response(status=status)


@bp.route("/ssf/verify", methods=["POST"])
def verify() -> ResponseReturnValue:
    """§8.1.4.2: queue a verification SET carrying the receiver's ``state``."""
    session = get_session()
    client = _client(session)
    body = _json_body()
    stream = streams.find(session, client.client_id, body.get("stream_id"))
    state = body.get("state")
    if state is not None and (not isinstance(state, str) or len(state) > streams.MAX_TEXT):
        raise streams.bad(f"state must be a string of at most {streams.MAX_TEXT} characters.")
    if stream.status == "disabled":
        raise streams.bad("The stream is disabled.")
    signals.queue_verification(session, _issuer(), stream, state)
    commit()
    return Response(status=204)


def _poll_request() -> tuple[list[str], dict[str, dict[str, Any]], int | None, bool]:
    body = request.get_json(silent=True)
    if body is None and not request.get_data():
        body = {}
    if not isinstance(body, dict):
        raise streams.bad("The poll request must be a JSON object (RFC 8936 §2.4).")
    acks = body.get("ack", [])
    if not isinstance(acks, list) or not all(isinstance(a, str) for a in acks):
        raise streams.bad("ack must be a list of jti strings.")
    errs = body.get("setErrs", {})
    if not isinstance(errs, dict) or not all(isinstance(v, dict) for v in errs.values()):
        raise streams.bad("setErrs must map jti strings to error objects.")
    max_events = body.get("maxEvents")
    if max_events is not None and (
        not isinstance(max_events, int) or isinstance(max_events, bool) or max_events < 0
    ):
        raise streams.bad("maxEvents must be a non-negative integer.")
    immediately = body.get("returnImmediately", False)
    if not isinstance(immediately, bool):
        raise streams.bad("returnImmediately must be true or false.")
    if max_events is not None:  # §2.4: fewer may come back; a huge one overflowed LIMIT (500)
        max_events = min(max_events, sets.BATCH)
    return acks[:1000], dict(list(errs.items())[:1000]), max_events, immediately


@bp.route("/ssf/poll/<stream_id>", methods=["POST"])
def poll(stream_id: str) -> ResponseReturnValue:
    """RFC 8936 §2: acknowledge, then return SETs; without ``returnImmediately`` wait up to
    :data:`POLL_WAIT` seconds for one (long polling)."""
    session = get_session()
    client = _client(session)
    stream = streams.find(session, client.client_id, stream_id)
    if stream.delivery_method != POLL:
        raise streams.bad("This stream is delivered by push, not poll.")
    acks, errs, max_events, immediately = _poll_request()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    found, more = sets.poll(session, app, stream, acks, errs, max_events, utcnow())
    commit()
    deadline = time.monotonic() + POLL_WAIT
    while not found and not immediately and max_events != 0 and time.monotonic() < deadline:
        time.sleep(POLL_STEP)
        session.expire_all()
        found, more = sets.poll(session, app, stream, [], {}, max_events, utcnow())
        commit()
    # the SETs in the order they were queued (jsonify would sort the jti keys)
    resp = Response(json.dumps({"sets": found, "moreAvailable": more}), mimetype="application/json")
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.route("/ssf/event-type/<name>")
def event_type(name: str) -> ResponseReturnValue:
    """What each of Avain's own event types means (the URI is the type's name)."""
    text = EVENT_TYPE_TEXT.get(name)
    if text is None:
        return _error(404, "not_found", "No such event type.")
    return _json(
        {
            "event_type": signals.avain_event_type(_issuer(), name),
            "description": text,
            "members": {
                "purpose": "the purpose id in Avain's catalogue",
                "recipient": "the client id of the recipient (the stream's receiver)",
                "event_timestamp": "when it was recorded, seconds since the epoch",
                "initiating_entity": "user or admin",
                "ledger_seq": "the event's position in Avain's consent ledger (or null)",
            },
            "subject": "sub_id in the iss_sub format, with the receiver's own sub",
        }
    )
