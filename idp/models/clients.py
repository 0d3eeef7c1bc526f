"""OAuth 2.0 / OpenID Connect clients (relying parties)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from authlib.oauth2.rfc6749 import scope_to_list
from sqlalchemy import JSON, Boolean, DateTime, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from idp.db import Base, utcnow


def hash_secret(secret: str) -> str:
    """Client secrets are random and long; a SHA-256 digest is enough to store them."""
    return hashlib.sha256(secret.encode()).hexdigest()


class Client(Base):
    __tablename__ = "clients"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_secret_hash: Mapped[str | None] = mapped_column(String(64))
    client_name: Mapped[str] = mapped_column(String(200))
    redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    post_logout_redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    grant_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    response_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    scope: Mapped[str] = mapped_column(Text, default="")
    token_endpoint_auth_method: Mapped[str] = mapped_column(String(40))
    subject_type: Mapped[str] = mapped_column(String(20), default="public")
    sector_identifier: Mapped[str | None] = mapped_column(String(255))
    id_token_signed_response_alg: Mapped[str] = mapped_column(String(10), default="RS256")
    #: RS256 or ES256 for this client's JWT access tokens; None: the server's setting
    access_token_signed_response_alg: Mapped[str | None] = mapped_column(String(10))
    jwks: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    jwks_uri: Mapped[str | None] = mapped_column(Text)
    backchannel_logout_uri: Mapped[str | None] = mapped_column(Text)
    backchannel_logout_session_required: Mapped[bool] = mapped_column(Boolean, default=True)
    frontchannel_logout_uri: Mapped[str | None] = mapped_column(Text)
    first_party: Mapped[bool] = mapped_column(Boolean, default=False)
    registration_token_hash: Mapped[str | None] = mapped_column(String(64))
    metadata_json: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    # -- Authlib ClientMixin -------------------------------------------------
    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        """OIDC Core §3.1.2.1: redirect_uri is required; never guess one."""
        return None

    def get_allowed_scope(self, scope: str | None) -> str:
        if not scope:
            return ""
        allowed = set(scope_to_list(self.scope))
        return " ".join(s for s in scope_to_list(scope) if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        """RFC 9700 §4.1.3: exact string match against a registered URI.

        Only a client with the authorization code grant has a redirection endpoint
        (RFC 6749 §3.1.2, §4.1); any other client is never redirected to, not even with an
        error, so ``/authorize`` shows the person an error page instead (RFC 6749 §4.1.2.1).
        """
        return "authorization_code" in self.grant_types and redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        if not self.client_secret_hash:
            return False
        return hmac.compare_digest(self.client_secret_hash, hash_secret(client_secret))

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if endpoint == "token":
            return method == self.token_endpoint_auth_method
        # revocation and introspection accept the client's own method
        return method == self.token_endpoint_auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type in self.response_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types

    @property
    def client_metadata(self) -> dict[str, Any]:
        return {"post_logout_redirect_uris": self.post_logout_redirect_uris}

    @property
    def is_public(self) -> bool:
        return self.token_endpoint_auth_method == "none"  # noqa: S105

    @property
    def sector(self) -> str:
        """OIDC Core §8.1: the host of the redirect URIs, unless a sector is registered."""
        if self.sector_identifier:
            return self.sector_identifier
        hosts = {urlsplit(uri).hostname or "" for uri in self.redirect_uris}
        return sorted(hosts)[0] if hosts else self.client_id
