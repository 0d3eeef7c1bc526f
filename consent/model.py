"""The consent ledger's vocabulary: catalogue entries, events, current state, decisions.

Plain frozen dataclasses with no storage, Flask or Authlib in them: ``decide()`` and
the catalogue work on these, the storage layer maps them to rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class LegalBasis(StrEnum):
    """GDPR Art. 6(1): the lawful bases a purpose can rest on."""

    CONSENT = "consent"
    CONTRACT = "contract"
    LEGAL_OBLIGATION = "legal_obligation"
    LEGITIMATE_INTEREST = "legitimate_interest"


class EventType(StrEnum):
    GIVEN = "given"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"
    RENEWED = "renewed"
    MODIFIED = "modified"
    OBJECTION = "objection"  # Art. 21
    RESTRICTION = "restriction"  # Art. 18
    RESTRICTION_LIFTED = "restriction_lifted"
    # a privacy admin opened a complaint of the customer's: marketing purposes pause until
    # it is closed (the admin and the reason are in the event's sealed details)
    COMPLAINT_OPENED = "complaint_opened"
    COMPLAINT_CLOSED = "complaint_closed"


class ConsentStatus(StrEnum):
    """Where a (customer, recipient, purpose) stands: the projection of its events."""

    NONE = "none"  # no event that gives or ends consent yet
    ACTIVE = "active"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"


class Actor(StrEnum):
    CUSTOMER = "customer"
    ADMIN = "admin"
    SYSTEM = "system"


class Channel(StrEnum):
    CONSENT_SCREEN = "consent_screen"
    ACCOUNT_PAGE = "account_page"
    ADMIN_CONSOLE = "admin_console"
    ADMIN_CLI = "admin_cli"  # the operator command, e.g. a request received by letter
    LETTER = "letter"  # a request the customer sent by letter, recorded by an admin
    PHONE = "phone"  # a request the customer made by phone, recorded by an admin
    API = "api"
    SYSTEM = "system"


class AskAt(StrEnum):
    """Where a consent-based purpose is put before the customer: on the sign-in screen,
    or only offered on the account page (marketing is not bundled into signing in)."""

    SIGNIN = "signin"
    ACCOUNT = "account"


class Need(StrEnum):
    """Whether a purpose cannot work without a claim, or the customer may leave it out."""

    NECESSARY = "necessary"
    OPTIONAL = "optional"


@dataclass(frozen=True)
class Text:
    """A purpose's or recipient's wording in one language."""

    title: str
    description: str


@dataclass(frozen=True)
class ClaimInfo:
    name: str
    category: str  # e.g. "identity", "contact", "vehicle", "purchase"


@dataclass(frozen=True)
class Recipient:
    id: str  # the OAuth client id (or partner id) that receives the data
    name: str
    texts: dict[str, Text] = field(default_factory=dict)
    #: the controller of what it receives, when not the deployment's own company (a partner
    #: that is an independent controller); None: the deployment's controller
    controller: str | None = None
    logo: str | None = None  # a path on this site (/static/...) of its logo, shown when given


@dataclass(frozen=True)
class Purpose:
    id: str
    version: int
    basis: LegalBasis
    texts: dict[str, Text]  # keyed by language: fi, sv, en
    claims: dict[str, Need]  # claim name -> necessary/optional for this purpose
    recipients: frozenset[str]  # recipient ids this purpose shares with
    validity_days: int | None = None  # consent expires after this many days; None: no expiry
    content_hash: str = ""  # hash of everything above; a change makes a new version
    #: asked at sign-in or only offered on the account page; not in the hash (when a purpose
    #: is offered does not change what the customer agrees to)
    ask: AskAt = AskAt.SIGNIN
    #: direct marketing: paused for a customer while a complaint of theirs is open. Not in
    #: the hash either: it changes what Avain does on a complaint, not what is agreed to
    marketing: bool = False

    def necessary(self) -> frozenset[str]:
        return frozenset(c for c, need in self.claims.items() if need is Need.NECESSARY)

    def optional(self) -> frozenset[str]:
        return frozenset(c for c, need in self.claims.items() if need is Need.OPTIONAL)


@dataclass(frozen=True)
class Agreement:
    """A partner agreement: ``from_id`` may hand a customer over to ``to_id`` under ``purpose_id``.

    The handoff carries RFC 9396 authorization details of the ``details_types`` only; what
    the recipient receives is still decided by ``decide()`` for ``purpose_id``.
    """

    id: str
    from_id: str  # the client that hands over (a catalogue recipient)
    to_id: str  # the recipient client (a recipient of the purpose)
    purpose_id: str
    details_types: frozenset[str]

    def allows(self, types: frozenset[str]) -> bool:
        """True when every authorization_details type is one this agreement carries."""
        return bool(types) and types <= self.details_types


@dataclass(frozen=True)
class Notice:
    """A version of the privacy notice the customer was shown."""

    version: str
    url: str
    content_hash: str


@dataclass(frozen=True)
class ConsentEvent:
    """One append-only ledger event about (customer, recipient, purpose)."""

    customer_id: str
    recipient_id: str
    purpose_id: str
    purpose_version: int
    type: EventType
    at: datetime
    actor: Actor
    channel: Channel
    claims: frozenset[str] = frozenset()  # the claims chosen (for given/renewed/modified)
    notice_version: str | None = None
    notice_hash: str | None = None
    language: str | None = None
    offered: tuple[tuple[str, bool], ...] = ()  # (claim, default state) shown; default False
    session_id: str | None = None
    expires_at: datetime | None = None
    # its place in the log when read from there; None while it waits in the intake (or
    # before it is written). Not a column the event is stored with: the log gives it.
    seq: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class ConsentState:
    """The projection of one (customer, recipient, purpose)'s events at a moment."""

    customer_id: str
    recipient_id: str
    purpose_id: str
    purpose_version: int
    status: ConsentStatus
    claims: frozenset[str]
    since: datetime
    expires_at: datetime | None = None
    objected: bool = False
    restricted: bool = False
    #: a complaint of the customer's is open and the purpose is marketing: nothing leaves
    #: under it until the complaint is closed; the consent itself stays as chosen
    paused: bool = False
    # the log position of the event that made the consent stand (given, renewed, modified);
    # None while that event waits in the intake, or when no consent stands
    seq: int | None = None


@dataclass(frozen=True)
class ReleaseRequest:
    """A release of claims about one customer to one recipient (a token, userinfo, ...)."""

    customer_id: str
    recipient_id: str
    claims: frozenset[str]


@dataclass(frozen=True)
class Ground:
    """What the release of a claim under a purpose rested on (GDPR Art. 6(1), 7(1)).

    ``basis`` is CONSENT for a claim that needed the customer's consent (every claim of a
    consent-based purpose, and an optional claim of any purpose); then ``consent_at`` is
    when the consent that stood was given (the granting event's time) and ``consent_seq``
    its place in the log, None while it still waits in the intake. Otherwise ``basis`` is
    the purpose's own (contract, legal obligation, legitimate interest) and no consent.
    """

    purpose_id: str
    purpose_version: int
    basis: LegalBasis
    consent_at: datetime | None = None
    consent_seq: int | None = None


@dataclass(frozen=True)
class Decision:
    """Which claims may leave, under which purpose, and why the others may not."""

    released: dict[str, str]  # claim -> purpose id it is released for
    withheld: dict[str, str]  # claim -> reason code
    grounds: dict[str, Ground] = field(default_factory=dict)  # released claim -> its ground

    @property
    def claims(self) -> frozenset[str]:
        return frozenset(self.released)


class Reason(StrEnum):
    """Machine-readable reason codes for withheld claims (shown to people by the UI)."""

    NO_PURPOSE = "no_purpose"  # no purpose shares this claim with this recipient
    NO_CONSENT = "no_consent"  # never asked
    REFUSED = "consent_refused"
    WITHDRAWN = "consent_withdrawn"
    EXPIRED = "consent_expired"
    NOT_CHOSEN = "claim_not_chosen"  # consent given, but this optional claim left out
    OUTDATED = "purpose_changed"  # consent was for an older version of the purpose
    RESTRICTED = "processing_restricted"  # Art. 18
    PAUSED = "paused_for_complaint"  # a complaint of the customer's is open (marketing)
    OBJECTED = "objection"  # Art. 21 against legitimate interest
