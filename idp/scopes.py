"""The claims each standard scope asks for (OpenID Connect Core 1.0 §5.4).

Shared vocabulary: the protocol (:mod:`idp.oauth.claims`) answers scopes with these claims
and the ledger (:mod:`idp.ledger.consents`) asks consent for them.
"""

from __future__ import annotations

SCOPE_CLAIMS: dict[str, tuple[str, ...]] = {
    "profile": ("name", "given_name", "family_name", "locale", "updated_at"),
    "email": ("email", "email_verified"),
    "address": ("address",),
    "phone": ("phone_number", "phone_number_verified"),
}
