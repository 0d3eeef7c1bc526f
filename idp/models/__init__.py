"""Typed SQLAlchemy models of the identity provider (the consent ledger has its own)."""

from idp.models.admins import (
    Admin,
    AdminApiClient,
    AdminAuditCheckpoint,
    AdminAuditEntry,
    AdminAuditHead,
    AdminEnrolment,
    AdminPasskey,
    AdminSession,
    AdminStatus,
    Role,
)
from idp.models.clients import Client, hash_secret
from idp.models.complaints import Complaint
from idp.models.contributions import ContributedClaim
from idp.models.disclosures import Disclosure, DisclosureChannel
from idp.models.events import AuditEvent, Delivery, ThrottleCounter
from idp.models.handoffs import Handoff
from idp.models.interactions import Interaction
from idp.models.keys import CacheGeneration, InstanceSecret, SigningKey
from idp.models.passkeys import Passkey
from idp.models.replay import ReplayEntry
from idp.models.ssf import SsfEvent, SsfStream, SsfSubject
from idp.models.tokens import AuthorizationCode, Grant, Token, digest
from idp.models.users import SsoSession, User, new_id
from idp.models.verify_runs import VerifyRun

__all__ = [
    "Admin",
    "AdminApiClient",
    "AdminAuditCheckpoint",
    "AdminAuditEntry",
    "AdminAuditHead",
    "AdminEnrolment",
    "AdminPasskey",
    "AdminSession",
    "AdminStatus",
    "Role",
    "AuditEvent",
    "AuthorizationCode",
    "Client",
    "Complaint",
    "ContributedClaim",
    "Delivery",
    "Disclosure",
    "DisclosureChannel",
    "Grant",
    "Handoff",
    "CacheGeneration",
    "InstanceSecret",
    "Passkey",
    "Interaction",
    "ReplayEntry",
    "SigningKey",
    "VerifyRun",
    "SsfEvent",
    "SsfStream",
    "SsfSubject",
    "SsoSession",
    "ThrottleCounter",
    "Token",
    "User",
    "digest",
    "hash_secret",
    "new_id",
]
