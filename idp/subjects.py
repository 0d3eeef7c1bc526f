"""Subject identifiers (OpenID Connect Core 1.0 §8): the ``sub`` a client knows a customer by.

Shared by everything that names a customer to a client: access and ID tokens, userinfo and
introspection (:mod:`idp.oauth`) and logout tokens (:mod:`idp.sso`).
"""

from __future__ import annotations

import base64
import hashlib

from sqlalchemy.orm import Session

from idp import context
from idp.models import Client, User


def subject_for(user: User, client: Client, salt: bytes) -> str:
    """§8.1: a pairwise identifier per sector, or the public one."""
    if client.subject_type != "pairwise":
        return user.id
    digest = hashlib.sha256(client.sector.encode() + b"|" + user.id.encode() + b"|" + salt).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def subject(session: Session, user: User, client: Client) -> str:
    """The customer's ``sub`` at ``client``, with this installation's pairwise salt."""
    return subject_for(user, client, context.instance_secret(session, "pairwise_salt"))
