"""Grants, authorization codes and issued tokens.

Codes and tokens are stored as SHA-256 digests only. Every code and every token of a
customer belongs to a :class:`Grant`: the chain that starts with one authorization code;
revoking the grant revokes every access and refresh token issued along it (RFC 9700 §4.14).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, object_session

from idp.db import Base, aware, utcnow
from idp.models.clients import Client
from idp.models.users import User


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class Grant(Base):
    """One authorization of a client by a customer, from its code to its last refresh.

    The row is what redemption, rotation and revocation serialise on: each of them first
    updates it with ``revoked_at IS NULL`` in the statement, so whichever commits first
    wins and the other sees its result (PostgreSQL waits on the row lock and re-checks the
    condition; SQLite holds one writer at a time). A token issued by a refresh that won is
    committed before the revocation's next statement reads the tokens, and a refresh that
    lost finds the grant revoked. Client-credentials tokens have no customer and no row.
    """

    __tablename__ = "grants"
    __table_args__ = (Index("ix_grants_user_id_client_id", "user_id", "client_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.client_id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    #: the SSO session that approved it; logout ends the grant unless ``offline``
    sid: Mapped[str | None] = mapped_column(String(64), index=True)
    #: ``offline_access`` was granted: the grant outlives the session (OIDC Core §11)
    offline: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    #: when tokens were last issued from it (None: its code is not redeemed yet)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: RFC 9396 authorization_details granted with it (the order a handoff carries)
    authorization_details: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)


class AuthorizationCode(Base):
    __tablename__ = "authorization_codes"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    grant_id: Mapped[str] = mapped_column(String(36), index=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.client_id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    sid: Mapped[str | None] = mapped_column(String(64))
    redirect_uri: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(Text, default="")
    nonce: Mapped[str | None] = mapped_column(Text)
    code_challenge: Mapped[str] = mapped_column(String(128))
    code_challenge_method: Mapped[str] = mapped_column(String(10))
    claims_request: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    auth_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    acr: Mapped[str | None] = mapped_column(String(100))
    amr: Mapped[list[str] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: RFC 9396 authorization_details the customer granted (also on the grant)
    authorization_details: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)

    # -- Authlib AuthorizationCodeMixin --------------------------------------
    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope


class Token(Base):
    """One issuance at the token endpoint: an access token and maybe a refresh token."""

    __tablename__ = "tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    grant_id: Mapped[str] = mapped_column(String(36), index=True)
    jti: Mapped[str] = mapped_column(String(64), unique=True)
    access_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    refresh_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(
        ForeignKey("clients.client_id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    sid: Mapped[str | None] = mapped_column(String(64), index=True)
    scope: Mapped[str] = mapped_column(Text, default="")
    grant_scope: Mapped[str] = mapped_column(Text, default="")
    claims_request: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    auth_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    acr: Mapped[str | None] = mapped_column(String(100))
    amr: Mapped[list[str] | None] = mapped_column(JSON)
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    access_expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    refresh_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    refresh_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    access_revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    # -- Authlib TokenMixin ----------------------------------------------------
    def check_client(self, client: Any) -> bool:
        return bool(self.client_id == client.get_client_id())

    def get_scope(self) -> str:
        return self.scope

    # The row holds an access token and maybe a refresh token; endpoints that found it by
    # one of them set ``matched_as`` so these answer for that one.
    matched_as = "access_token"

    def is_expired(self) -> bool:
        if self.matched_as == "refresh_token":
            return self.refresh_expires_at is None or aware(self.refresh_expires_at) <= utcnow()
        return aware(self.access_expires_at) <= utcnow()

    def is_revoked(self) -> bool:
        if self.matched_as == "refresh_token":
            return self.revoked_at is not None or self.refresh_used_at is not None
        return self.revoked_at is not None or self.access_revoked_at is not None

    def get_client_id(self) -> str:
        return self.client_id

    # The token's client and customer, once looked up, are held here for the request: the
    # session's identity map keeps an object only while something else refers to it.

    def keep_client(self, client: Client | None) -> None:
        self.__dict__["_avain_client"] = client

    def keep_user(self, user: User | None) -> None:
        self.__dict__["_avain_user"] = user

    def keep_details(self, details: list[dict[str, Any]] | None) -> None:
        self.__dict__["_avain_details"] = details

    def authorization_details(self) -> list[dict[str, Any]] | None:
        """The grant's RFC 9396 details, when read with the token; else from the grant."""
        if "_avain_details" in self.__dict__:
            kept: list[dict[str, Any]] | None = self.__dict__["_avain_details"]
            return kept
        session = object_session(self)
        grant = session.get(Grant, self.grant_id) if session else None
        return grant.authorization_details if grant is not None else None

    def get_client(self) -> Client | None:
        """The client the token was issued to (Authlib's ``UserInfoEndpoint``)."""
        if "_avain_client" in self.__dict__:
            kept: Client | None = self.__dict__["_avain_client"]
            return kept
        session = object_session(self)
        return session.get(Client, self.client_id) if session else None

    def get_user(self) -> User | None:
        """The customer, or None for a client-credentials token."""
        if "_avain_user" in self.__dict__:
            kept: User | None = self.__dict__["_avain_user"]
            return kept
        session = object_session(self)
        return session.get(User, self.user_id) if session and self.user_id else None
