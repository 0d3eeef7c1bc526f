"""PKCE with S256 for every client (RFC 7636, RFC 9700 §2.1.1).

Authlib's ``CodeChallenge(required=True)`` lets an authorization request without a
challenge through and accepts ``plain``; this extension refuses both, and wants the
verifier from confidential clients too.
"""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7636.challenge import CODE_CHALLENGE_PATTERN


class RequireS256(CodeChallenge):
    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        """RFC 9700 §2.1.1: a code_challenge with method S256 is required."""
        data = grant.request.payload.data
        datalist = grant.request.payload.datalist
        challenge = data.get("code_challenge")
        method = data.get("code_challenge_method")
        if not challenge:
            raise InvalidRequestError(
                "PKCE is required: send code_challenge with code_challenge_method=S256.",
                redirect_uri=redirect_uri,
            )
        if (
            len(datalist.get("code_challenge", [])) > 1
            or len(datalist.get("code_challenge_method", [])) > 1
        ):
            raise InvalidRequestError("Repeated PKCE parameter.", redirect_uri=redirect_uri)
        if method != "S256":
            raise InvalidRequestError(
                "code_challenge_method must be S256.", redirect_uri=redirect_uri
            )
        if not CODE_CHALLENGE_PATTERN.match(challenge):
            raise InvalidRequestError("Invalid 'code_challenge'.", redirect_uri=redirect_uri)

    def validate_code_verifier(self, grant: Any, result: Any) -> None:
        """RFC 7636 §4.5: the token request must carry the verifier, whatever the client."""
        if not grant.request.form.get("code_verifier"):
            raise InvalidRequestError("Missing 'code_verifier'.")
        super().validate_code_verifier(grant, result)
