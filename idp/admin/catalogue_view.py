"""The catalogue as the console shows it: purposes, every stored version of each, what
changed between consecutive versions, and what a new version means for customers.

The catalogue stays configuration (``config/purposes.toml``, reviewed and deployed like
code); nothing here writes. Versions are the rows :func:`idp.ledger.service.sync_purposes`
stored at start-up, each with the purpose's whole definition, so an old version can be
compared with the next even after the file has moved on. What a version changes for a
customer follows :func:`consent.decide`: a consent is to one version, and one given to an
older version releases nothing that needs consent (``purpose_changed``) until the
customer chooses again; what rests on another legal basis does not wait for anyone.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from consent.catalogue import LANGUAGES, Catalogue
from consent.model import AskAt, LegalBasis, Purpose
from consent.store import PurposeVersionRow
from idp.admin.consent_counts import active_by_version
from idp.db import aware

Segment = tuple[str, str]  # ("same" | "del" | "ins", words)


@dataclass(frozen=True)
class TextChange:
    language: str
    part: str  # title or description
    segments: list[Segment]


@dataclass(frozen=True)
class Change:
    """What differs from the previous version; ``effects`` are codes the page words."""

    basis: tuple[str, str] | None = None
    claims_added: list[tuple[str, str]] = field(default_factory=list)  # (claim, need)
    claims_removed: list[str] = field(default_factory=list)
    needs_changed: list[tuple[str, str, str]] = field(default_factory=list)  # claim, was, is
    recipients_added: list[str] = field(default_factory=list)
    recipients_removed: list[str] = field(default_factory=list)
    validity: tuple[int | None, int | None] | None = None
    texts: list[TextChange] = field(default_factory=list)
    effects: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Version:
    number: int
    content_hash: str
    created_at: datetime
    definition: dict[str, Any]
    change: Change | None  # None for the first version


@dataclass(frozen=True)
class History:
    purpose: Purpose
    versions: list[Version]  # newest first
    current_consents: int  # customers whose consent is to the present version
    outdated_consents: int  # ... to an older one: asked again before anything is released


def word_diff(old: str, new: str) -> list[Segment]:
    """The two texts as runs of unchanged, removed and added words."""
    a, b = old.split(), new.split()
    out: list[Segment] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(("same", " ".join(a[i1:i2])))
            continue
        if i2 > i1:
            out.append(("del", " ".join(a[i1:i2])))
        if j2 > j1:
            out.append(("ins", " ".join(b[j1:j2])))
    return out


def _texts(old: dict[str, Any], new: dict[str, Any]) -> list[TextChange]:
    changes = []
    for lang in LANGUAGES:
        for part in ("title", "description"):
            was = str(old.get("texts", {}).get(lang, {}).get(part, ""))
            now = str(new.get("texts", {}).get(lang, {}).get(part, ""))
            if was != now:
                changes.append(TextChange(lang, part, word_diff(was, now)))
    return changes


def _effects(old: dict[str, Any], new: dict[str, Any], change: Change) -> list[str]:
    """What customers and recipients see of the change, as codes (see the page)."""
    basis = str(new.get("basis"))
    on_consent = basis == LegalBasis.CONSENT
    necessary_now = {c for c, n in new.get("claims", {}).items() if n == "necessary"}
    effects = []
    if on_consent:
        asked_where = "asked_on_account" if new.get("ask") == AskAt.ACCOUNT else "asked_at_sign_in"
        effects += ["consent_outdated", asked_where]
    else:
        effects += ["optional_outdated", "necessary_continue"]
    if change.basis and change.basis[0] == LegalBasis.CONSENT and not on_consent:
        effects.append("no_longer_consent")
    if change.basis and change.basis[1] == LegalBasis.CONSENT:
        effects.append("now_consent")
    if not on_consent and any(c in necessary_now for c, _ in change.claims_added):
        effects.append("new_necessary_shared")
    if change.recipients_added:
        effects.append("new_recipient_on_basis" if not on_consent else "new_recipient_asked")
    if change.claims_removed or change.recipients_removed:
        effects.append("no_longer_shared")
    if change.validity:
        effects.append("validity_from_now")
    return effects


def compare(old: dict[str, Any], new: dict[str, Any]) -> Change:
    """Version ``old`` against the next, ``new`` (stored definitions)."""
    was_claims: dict[str, str] = dict(old.get("claims", {}))
    now_claims: dict[str, str] = dict(new.get("claims", {}))
    was_to, now_to = set(old.get("recipients", [])), set(new.get("recipients", []))
    change = Change(
        basis=(str(old.get("basis")), str(new.get("basis")))
        if old.get("basis") != new.get("basis")
        else None,
        claims_added=sorted((c, n) for c, n in now_claims.items() if c not in was_claims),
        claims_removed=sorted(c for c in was_claims if c not in now_claims),
        needs_changed=sorted(
            (c, was_claims[c], n)
            for c, n in now_claims.items()
            if c in was_claims and was_claims[c] != n
        ),
        recipients_added=sorted(now_to - was_to),
        recipients_removed=sorted(was_to - now_to),
        validity=(old.get("validity_days"), new.get("validity_days"))
        if old.get("validity_days") != new.get("validity_days")
        else None,
        texts=_texts(old, new),
    )
    return replace(change, effects=_effects(old, new, change))


def versions(session: Session, purpose_id: str) -> list[Version]:
    """Every stored version of the purpose, newest first, each compared with the one before."""
    rows = list(
        session.scalars(
            select(PurposeVersionRow)
            .where(PurposeVersionRow.purpose_id == purpose_id)
            .order_by(PurposeVersionRow.version)
        )
    )
    out = []
    previous: dict[str, Any] | None = None
    for row in rows:
        definition = dict(row.definition)
        out.append(
            Version(
                number=row.version,
                content_hash=row.content_hash,
                created_at=aware(row.created_at),
                definition=definition,
                change=compare(previous, definition) if previous is not None else None,
            )
        )
        previous = definition
    return list(reversed(out))


def history(
    session: Session, catalogue: Catalogue, purpose_id: str, now: datetime
) -> History | None:
    """The purpose's versions and whose consents a change left behind; None if unknown."""
    purpose = catalogue.purposes.get(purpose_id)
    if purpose is None:
        return None
    current = outdated = 0
    for recipient_id in sorted(purpose.recipients):
        for (pid, version), n in active_by_version(session, recipient_id, now).items():
            if pid != purpose_id:
                continue
            if version == purpose.version:
                current += n
            else:
                outdated += n
    return History(purpose, versions(session, purpose_id), current, outdated)


def _change_json(c: Change) -> dict[str, Any]:
    return {
        "basis": {"was": c.basis[0], "is": c.basis[1]} if c.basis else None,
        "claims_added": [{"claim": claim, "need": need} for claim, need in c.claims_added],
        "claims_removed": list(c.claims_removed),
        "needs_changed": [
            {"claim": claim, "was": was, "is": now} for claim, was, now in c.needs_changed
        ],
        "recipients_added": list(c.recipients_added),
        "recipients_removed": list(c.recipients_removed),
        "validity_days": {"was": c.validity[0], "is": c.validity[1]} if c.validity else None,
        "texts": [
            {
                "language": t.language,
                "part": t.part,
                "segments": [{"op": op, "text": text} for op, text in t.segments],
            }
            for t in c.texts
        ],
        "effects": list(c.effects),
    }


def history_json(h: History) -> dict[str, Any]:
    """A purpose's versions as the admin API gives them, newest first."""
    return {
        "purpose_id": h.purpose.id,
        "version_in_use": h.purpose.version,
        "basis": str(h.purpose.basis),
        "consents_to_version_in_use": h.current_consents,
        "consents_to_older_versions": h.outdated_consents,
        "versions": [
            {
                "version": v.number,
                "content_hash": v.content_hash,
                "stored_at": v.created_at.isoformat(),
                "definition": v.definition,
                "changes": _change_json(v.change) if v.change else None,
            }
            for v in h.versions
        ],
    }


def catalogue_json(catalogue: Catalogue, agreements: bool) -> dict[str, Any]:
    """The catalogue in use, as the admin API gives it."""
    out: dict[str, Any] = {
        "purposes": [
            {
                "purpose_id": p.id,
                "version": p.version,
                "basis": str(p.basis),
                "recipients": sorted(p.recipients),
                "claims": {claim: str(need) for claim, need in p.claims.items()},
                "validity_days": p.validity_days,
                "ask": str(p.ask),
                "titles": {lang: t.title for lang, t in p.texts.items()},
            }
            for p in catalogue.purposes.values()
        ],
        "claims": {c.name: c.category for c in catalogue.claims.values()},
        "recipients": [
            {"recipient_id": r.id, "name": r.name, "controller": r.controller}
            for r in catalogue.recipients.values()
        ],
        "notices": [
            {"version": n.version, "url": n.url, "content_hash": n.content_hash}
            for n in catalogue.notices
        ],
    }
    if agreements:
        out["agreements"] = [
            {
                "agreement_id": a.id,
                "from": a.from_id,
                "to": a.to_id,
                "purpose_id": a.purpose_id,
                "details_types": sorted(a.details_types),
            }
            for a in catalogue.agreements.values()
        ]
    return out
