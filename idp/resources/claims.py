"""``POST /claims/tire_purchase``: a partner records a purchase for the customer whose access
token it holds (RFC 6750 bearer token with the ``tire_purchase:write`` scope).

The token names the customer and the partner (the source of the value). Token faults are
RFC 6750 §3.1 errors with the ``WWW-Authenticate`` challenge; body faults are 400 JSON
``invalid_request`` with a description; one order is recorded once (201, then 200 for a
retry with the same body, 409 for the same order with another body).
"""

from __future__ import annotations

import json
from typing import Any

from authlib.oauth2.rfc6749 import OAuth2Error
from authlib.oauth2.rfc6749.errors import InsecureTransportError
from flask import Blueprint, Response, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import RequestEntityTooLarge

from idp.contributions import ConflictingWrite, InvalidPurchase, record, tire_purchase
from idp.db import commit, get_session, utcnow
from idp.extensions import csrf
from idp.oauth.userinfo import bearer_token, customer_token

bp = Blueprint("claims", __name__)
csrf.exempt(bp)


def _json(
    body: dict[str, Any], status: int, headers: list[tuple[str, str]] | None = None
) -> Response:
    resp = jsonify(body)
    resp.status_code = status
    for name, value in headers or []:
        resp.headers[name] = value
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _invalid(description: str, status: int = 400) -> Response:
    return _json({"error": "invalid_request", "error_description": description}, status)


@bp.route("/claims/tire_purchase", methods=["POST"])
def tire_purchase_write() -> ResponseReturnValue:
    try:  # a live customer token with the write scope
        token, _, _ = customer_token(
            get_session(), bearer_token(request), tire_purchase.WRITE_SCOPE
        )
    except InsecureTransportError:
        raise  # the app's answer to it (idp.errors), as at the token endpoint
    except OAuth2Error as exc:
        return _json(dict(exc.get_body()), exc.status_code or 401, exc.get_headers())
    if request.mimetype != "application/json":
        return _invalid("The body must be JSON (Content-Type: application/json).", 415)
    if (request.content_length or 0) > tire_purchase.MAX_BODY_BYTES:
        return _invalid(f"The body is larger than {tire_purchase.MAX_BODY_BYTES} bytes.", 413)
    try:
        raw = request.get_data()  # bounded: by Content-Length above, or MAX_CONTENT_LENGTH
    except RequestEntityTooLarge:
        raw = b"x" * (tire_purchase.MAX_BODY_BYTES + 1)
    if len(raw) > tire_purchase.MAX_BODY_BYTES:
        return _invalid(f"The body is larger than {tire_purchase.MAX_BODY_BYTES} bytes.", 413)
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return _invalid("The body is not valid JSON.")
    try:
        purchase = tire_purchase.parse(data, utcnow())
    except InvalidPurchase as exc:
        return _invalid(exc.description)
    user_id = token.user_id or ""  # customer_token refuses a token without a customer
    try:
        _, created = record(
            get_session(),
            user_id,
            token.client_id,
            tire_purchase.CLAIM,
            purchase.order_number,
            purchase.value(),
        )
    except ConflictingWrite:
        return _json(
            {
                "error": "conflict",
                "error_description": f"Order {purchase.order_number} was recorded before with "
                "other contents; send the same body to retry, or a new order number.",
            },
            409,
        )
    commit()
    body = {"claim": tire_purchase.CLAIM, **purchase.value(), "created": created}
    return _json(body, 201 if created else 200)
