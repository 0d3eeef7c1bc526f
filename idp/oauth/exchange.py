"""OAuth 2.0 Token Exchange (RFC 8693) for partner handoffs, on Authlib's grant hooks.

Two exchanges, told apart by ``subject_token_type`` (RFC 8693 §2.1):

1. The handing-over client (the shop) exchanges its access token for a **handoff token**:
   a JWT for the partner named in ``audience``, allowed by a catalogue agreement, carrying
   the RFC 9396 ``authorization_details`` granted with the access token (the order) and
   nothing about the customer: no claim and no subject. The shop holds the token and the
   browser carries it, so what the customer shares with the partner only, and the partner's
   pairwise subject, must not be in it; ``decide()`` must allow the partner's purpose now.
2. The partner (the garage) exchanges the handoff token, once, for an ordinary access token
   of a new grant of (customer, partner), which withdrawal of the consent revokes. With it
   the partner reads its subject and the consented claims at ``/userinfo``, where
   ``decide()`` runs again and the release is recorded in the disclosure log.

Every refusal is an RFC 6749 §5.2 error whose description says what to do about it.
"""

from __future__ import annotations

import secrets
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

from authlib.oauth2.rfc6749 import OAuth2Error, grants
from authlib.oauth2.rfc6749.errors import (
    InvalidGrantError,
    InvalidRequestError,
    UnauthorizedClientError,
)
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import update
from sqlalchemy.orm import Session

from consent.model import Agreement, Purpose, Reason
from idp import context, signing
from idp.db import aware, get_session, utcnow
from idp.ledger.consents import Context, purposes_for, release
from idp.ledger.context import consent_context
from idp.models import Client, Grant, Handoff, Token, User
from idp.oauth import rar, tokens

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"  # noqa: S105
JWT_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:jwt"  # noqa: S105
HANDOFF_TYP = "handoff+jwt"
HANDOFF_LIFETIME = 120  # seconds: long enough for a browser's POST to the partner, no more
MAX_TOKEN_LENGTH = 8192


class InvalidTargetError(OAuth2Error):
    """RFC 8693 §2.2.2: the audience is not a partner this client may hand over to."""

    error = "invalid_target"


# decide()'s reason for a necessary claim of the agreement's purpose -> what to tell the client
CONSENT_PROBLEMS = {
    Reason.NO_CONSENT: "The customer has not given consent to purpose {p} for {r}; send them "
    "through an authorization request with authorization_details first",
    Reason.REFUSED: "The customer refused consent to purpose {p} for {r}",
    Reason.WITHDRAWN: "The customer withdrew consent to purpose {p} for {r}",
    Reason.EXPIRED: "The customer's consent to purpose {p} for {r} has expired; ask it again "
    "with an authorization request",
    Reason.OUTDATED: "Purpose {p} has changed since the customer's consent; ask it again "
    "with an authorization request",
    Reason.RESTRICTED: "The customer has restricted processing under purpose {p} for {r}",
    Reason.PAUSED: "Purpose {p} is paused for {r} while a complaint of the customer's is open",
    Reason.OBJECTED: "The customer has objected to purpose {p} for {r}",
    Reason.NO_PURPOSE: "Purpose {p} shares nothing with {r}",
}


def consented_claims(
    session: Session, ctx: Context, user: User, recipient: Client, purpose: Purpose, now: datetime
) -> frozenset[str]:
    """``decide()`` for the agreement's purpose: the claims it releases to the recipient, or
    ``invalid_grant`` naming why a necessary claim may not leave."""
    decision = release(session, ctx, user, recipient, set(purpose.claims), now)
    allowed = frozenset(c for c, p in decision.released.items() if p == purpose.id)
    missing = sorted(purpose.necessary() - allowed)
    if missing:
        reason = decision.withheld.get(missing[0], Reason.NO_CONSENT)
        template = CONSENT_PROBLEMS.get(Reason(reason), CONSENT_PROBLEMS[Reason.NO_CONSENT])
        raise InvalidGrantError(template.format(p=purpose.id, r=recipient.client_id) + ".")
    return allowed


class TokenExchangeGrant(grants.BaseGrant, grants.TokenEndpointMixin):
    """RFC 8693 §2.1: the token exchange request, for the handoffs of catalogue agreements."""

    GRANT_TYPE = GRANT_TYPE
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt"]

    def validate_token_request(self) -> None:
        """RFC 8693 §2.1: a confidential client allowed this grant type, a subject token of a
        type Avain exchanges."""
        client: Client = self.authenticate_token_endpoint_client()
        if not client.check_grant_type(GRANT_TYPE):
            raise UnauthorizedClientError(
                f"Client {client.client_id} may not use token exchange; register it with "
                f"the grant type {GRANT_TYPE}."
            )
        self.request.client = client
        data = self.request.payload.data
        token = data.get("subject_token")
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
            raise InvalidRequestError("Missing 'subject_token'.")
        kind = data.get("subject_token_type")
        if kind not in (ACCESS_TOKEN_TYPE, JWT_TOKEN_TYPE):
            raise InvalidRequestError(
                "Missing or unsupported 'subject_token_type': send "
                f"{ACCESS_TOKEN_TYPE} (your access token, to get a handoff token) or "
                f"{JWT_TOKEN_TYPE} (a handoff token, to redeem it)."
            )
        wanted = data.get("requested_token_type")
        expected = JWT_TOKEN_TYPE if kind == ACCESS_TOKEN_TYPE else ACCESS_TOKEN_TYPE
        if wanted and wanted != expected:
            raise InvalidRequestError(
                f"Unsupported 'requested_token_type' for this subject token; use {expected}."
            )
        if data.get("actor_token"):
            raise InvalidRequestError("Avain does not support 'actor_token' (delegation).")

    def create_token_response(self) -> tuple[int, dict[str, Any], Any]:
        data = self.request.payload.data
        if data["subject_token_type"] == ACCESS_TOKEN_TYPE:
            body = self.hand_over(data["subject_token"], data.get("audience"))
        else:
            body = self.redeem(data["subject_token"])
        return 200, body, self.TOKEN_RESPONSE_HEADER

    # -- 1. the shop: access token -> handoff token --------------------------------------

    def hand_over(self, subject_token: str, audience: str | None) -> dict[str, Any]:
        session = get_session()
        ctx = consent_context()
        client: Client = self.request.client
        agreement = self.agreement(ctx, client, audience)
        source = self.subject(session, client, subject_token)
        grant = session.get(Grant, source.grant_id)
        details = self.details(agreement, (grant.authorization_details if grant else None) or [])
        user = session.get(User, source.user_id) if source.user_id else None
        recipient = session.get(Client, agreement.to_id)
        if user is None or recipient is None:
            raise InvalidGrantError("The subject token's customer or partner no longer exists.")
        if not tokens.hold_grant(session, source.grant_id):
            raise InvalidGrantError(
                "The subject token's grant has been revoked (signed out or consent withdrawn)."
            )
        now = utcnow()
        purpose = self.purpose(session, ctx, recipient, agreement)
        claims = consented_claims(session, ctx, user, recipient, purpose, now)
        jti = secrets.token_urlsafe(24)
        iat = int(time.time())
        payload: dict[str, Any] = {
            "iss": context.settings().issuer,
            "aud": recipient.client_id,
            "iat": iat,
            "exp": iat + HANDOFF_LIFETIME,
            "jti": jti,
            "client_id": client.client_id,
            "purpose": purpose.id,
            "authorization_details": details,
        }
        handoff = signing.sign(session, "RS256", payload, typ=HANDOFF_TYP)
        session.add(
            Handoff(
                jti=jti,
                client_id=client.client_id,
                audience=recipient.client_id,
                user_id=user.id,
                agreement_id=agreement.id,
                purpose_id=purpose.id,
                source_grant_id=source.grant_id,
                authorization_details=details,
                claims=sorted(claims),
                issued_at=now,
                expires_at=now + timedelta(seconds=HANDOFF_LIFETIME),
            )
        )
        session.flush()
        return {
            "access_token": handoff,
            "issued_token_type": JWT_TOKEN_TYPE,
            "token_type": "N_A",
            "expires_in": HANDOFF_LIFETIME,
            "authorization_details": details,
        }

    def agreement(self, ctx: Context, client: Client, audience: str | None) -> Agreement:
        """RFC 8693 §2.1 ``audience``: a partner some catalogue agreement hands over to."""
        if not audience:
            raise InvalidTargetError("Missing 'audience': name the partner's client id.")
        agreement = ctx.catalogue.agreement_between(client.client_id, audience)
        if agreement is None:
            raise InvalidTargetError(
                f"No partner agreement lets {client.client_id} hand customers over to "
                f"{audience[:64]}."
            )
        return agreement

    def subject(self, session: Session, client: Client, value: str) -> Token:
        """RFC 8693 §2.1 ``subject_token``: a live access token Avain issued to this client
        for a customer."""
        token = tokens.find_by_access_token(session, value)
        if token is None:
            raise InvalidGrantError("The subject_token is not an access token issued by Avain.")
        if token.client_id != client.client_id:
            raise InvalidGrantError("The subject_token was issued to another client.")
        if token.revoked_at is not None or token.access_revoked_at is not None:
            raise InvalidGrantError("The subject_token has been revoked.")
        if aware(token.access_expires_at) <= utcnow():
            raise InvalidGrantError("The subject_token has expired; refresh it and try again.")
        if token.user_id is None:
            raise InvalidGrantError("The subject_token is not about a customer.")
        return token

    def details(self, agreement: Agreement, granted: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """RFC 9396 §6.2: the details asked for must each be one granted with the subject
        token, of a type the agreement carries; without the parameter, all granted ones."""
        raw = self.request.payload.data.get("authorization_details")
        granted = [d for d in granted if agreement.allows(rar.types_of([d]))]
        if not raw:
            if not granted:
                raise rar.InvalidAuthorizationDetailsError(
                    "The subject token carries no authorization_details of type "
                    f"{', '.join(sorted(agreement.details_types))}; get it through an "
                    "authorization request with authorization_details."
                )
            return granted
        asked = rar.parse(raw)
        if not agreement.allows(rar.types_of(asked)):
            raise rar.InvalidAuthorizationDetailsError(
                f"authorization_details type {', '.join(sorted(rar.types_of(asked)))} is not "
                f"allowed by the agreement {agreement.id}."
            )
        for entry in asked:
            if entry not in granted:
                raise rar.InvalidAuthorizationDetailsError(
                    "authorization_details asks for an entry that was not granted with the "
                    "subject token; send only entries of the token response."
                )
        return asked

    def purpose(
        self, session: Session, ctx: Context, recipient: Client, agreement: Agreement
    ) -> Purpose:
        found = next(
            (p for p in purposes_for(session, ctx, recipient) if p.id == agreement.purpose_id),
            None,
        )
        if found is None:
            raise InvalidGrantError(f"Purpose {agreement.purpose_id} is not in the catalogue.")
        return found

    # -- 2. the partner: handoff token -> access token -----------------------------------

    def redeem(self, value: str) -> dict[str, Any]:
        session = get_session()
        ctx = consent_context()
        client: Client = self.request.client
        claims = self.handoff_claims(session, value)
        if claims.get("aud") != client.client_id:
            raise InvalidGrantError("The handoff token was issued for another audience.")
        if not isinstance(claims.get("exp"), int) or claims["exp"] <= time.time():
            raise InvalidGrantError(
                f"The handoff token has expired (it lives {HANDOFF_LIFETIME} seconds); "
                "ask the handing-over site for a new one."
            )
        row = session.get(Handoff, str(claims.get("jti")))
        user = session.get(User, row.user_id) if row is not None else None
        if row is None or user is None or row.audience != client.client_id:
            raise InvalidGrantError("The handoff token is unknown to Avain.")
        if row.used_at is not None:
            raise InvalidGrantError(
                "The handoff token has already been redeemed; it is single use."
            )
        agreement = ctx.catalogue.agreements.get(row.agreement_id)
        if agreement is None:
            raise InvalidGrantError(f"The partner agreement {row.agreement_id} has ended.")
        if not tokens.hold_grant(session, row.source_grant_id):
            # as a code is not redeemable after logout (OIDC Core §3.1.3), a handoff is not
            # after the handing-over site's grant ended: signed out there, or revoked
            raise InvalidGrantError(
                "The customer's session at the handing-over site ended before the handoff "
                "token was redeemed; ask the customer to start again there."
            )
        now = utcnow()
        consented_claims(
            session, ctx, user, client, self.purpose(session, ctx, client, agreement), now
        )
        grant_id = str(uuid.uuid4())
        if not self.claim(session, row, grant_id, now):
            session.refresh(row)
            if row.revoked_at is not None:
                raise InvalidGrantError(
                    "The customer withdrew the consent this handoff token rested on."
                )
            raise InvalidGrantError(
                "The handoff token has already been redeemed; it is single use."
            )
        tokens.open_grant(
            session,
            grant_id,
            client.client_id,
            user.id,
            None,
            "openid",
            used_at=now,
            authorization_details=row.authorization_details,
        )
        carried = tokens.GrantContext(
            grant_id=grant_id,
            claims_request={"userinfo": {name: None for name in row.claims}},
            grant_scope="openid",
        )
        body = tokens.issue(session, client, user, "openid", carried, include_refresh_token=False)
        body["issued_token_type"] = ACCESS_TOKEN_TYPE
        body["authorization_details"] = row.authorization_details
        return body

    def handoff_claims(self, session: Session, value: str) -> dict[str, Any]:
        """The claims of a handoff token Avain signed (header typ ``handoff+jwt``)."""
        keyset = KeySet.import_key_set(signing.public_jwks(session))  # type: ignore[arg-type]
        try:
            token = jwt.decode(value, keyset, algorithms=["RS256"])
        except (JoseError, ValueError):
            raise InvalidGrantError(
                "The subject_token is not a handoff token signed by Avain."
            ) from None
        if (
            token.header.get("typ") != HANDOFF_TYP
            or token.claims.get("iss") != context.settings().issuer
        ):
            raise InvalidGrantError("The subject_token is not a handoff token signed by Avain.")
        return dict(token.claims)

    @staticmethod
    def claim(session: Session, row: Handoff, grant_id: str, now: datetime) -> bool:
        """Single use: of two redemptions (or a redemption and a withdrawal) in flight, the
        UPDATE of whichever commits first wins; the other re-checks the row and changes
        nothing."""
        result = session.execute(
            update(Handoff)
            .where(Handoff.jti == row.jti, Handoff.used_at.is_(None), Handoff.revoked_at.is_(None))
            .values(used_at=now, redeemed_grant_id=grant_id)
        )
        return bool(getattr(result, "rowcount", 0) == 1)
