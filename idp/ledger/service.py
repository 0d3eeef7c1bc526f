"""The identity provider's side of the consent ledger: keys, the catalogue, purpose versions.

The catalogue is read and checked at start-up; each purpose's content hash is compared
with the newest stored version, and a change makes a new version (so customers are asked
again). That is done once, at start-up (:func:`sync_purposes`); requests use the numbered
catalogue the app keeps. Ledger keys are derived from ``IDP_SECRET_KEY``, apart from the
token keys.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import select
from sqlalchemy.orm import Session

from consent.catalogue import Catalogue, CatalogueError, load_catalogue
from consent.ledger import LedgerKeys
from consent.model import Purpose
from consent.store import PurposeVersionRow
from idp.config import ConfigError, Settings
from idp.db import upsert, utcnow


def ledger_keys(settings: Settings) -> LedgerKeys:
    hkdf = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"avain consent ledger master key v1"
    )
    parts = urlsplit(settings.issuer)
    return LedgerKeys(
        master=hkdf.derive(settings.secret_key.encode()),
        origin=f"{parts.netloc}{parts.path}/consent-log",
    )


def load(settings: Settings) -> Catalogue:
    path = Path(settings.purposes_file)
    if not path.is_absolute() and not path.is_file():
        path = Path(__file__).resolve().parents[2] / path  # the project's own config/
    if not path.is_file():
        raise ConfigError(
            f"purposes_file: {path} does not exist; point IDP_PURPOSES_FILE "
            "at the consent catalogue (see config/purposes.toml)"
        )
    try:
        return load_catalogue(path)
    except CatalogueError as exc:
        raise ConfigError(str(exc)) from None


def _definition(p: Purpose) -> dict[str, object]:
    data = dataclasses.asdict(p)
    data["recipients"] = sorted(p.recipients)
    data["basis"] = str(p.basis)
    data["claims"] = {k: str(v) for k, v in p.claims.items()}
    return data


def sync_purposes(session: Session, catalogue: Catalogue) -> Catalogue:
    """The catalogue with each purpose numbered as stored; new and changed ones stored first.

    Run at start-up (:mod:`idp.startup`), never on a request: the numbered catalogue is
    kept on the app, so releasing claims asks the database nothing about purposes. A
    changed catalogue is therefore seen after a restart, as any configuration is. Several
    instances may start at once: each inserts with ``ON CONFLICT DO NOTHING`` and then
    reads back the number stored for its purpose's content.
    """
    stored = _stored(session, catalogue)
    changed = [p for p in catalogue.purposes.values() if _newest(stored, p.id)[1] != p.content_hash]
    if changed:
        rows = [_row(p, _newest(stored, p.id)[0] + 1) for p in changed]
        session.execute(upsert(session)(PurposeVersionRow).values(rows).on_conflict_do_nothing())
        stored = _stored(session, catalogue)
    numbered = {}
    for p in catalogue.purposes.values():
        versions = [v for v, content_hash in stored.get(p.id, []) if content_hash == p.content_hash]
        if not versions:
            raise RuntimeError(f"purpose {p.id}: its version was neither stored nor found")
        numbered[p.id] = dataclasses.replace(p, version=max(versions))
    return dataclasses.replace(catalogue, purposes=numbered)


def _stored(session: Session, catalogue: Catalogue) -> dict[str, list[tuple[int, str]]]:
    """Each purpose's stored (version, content hash), oldest first."""
    out: dict[str, list[tuple[int, str]]] = {}
    for purpose_id, version, content_hash in session.execute(
        select(
            PurposeVersionRow.purpose_id, PurposeVersionRow.version, PurposeVersionRow.content_hash
        )
        .where(PurposeVersionRow.purpose_id.in_(list(catalogue.purposes)))
        .order_by(PurposeVersionRow.version)
    ):
        out.setdefault(purpose_id, []).append((version, content_hash))
    return out


def _newest(stored: dict[str, list[tuple[int, str]]], purpose_id: str) -> tuple[int, str]:
    versions = stored.get(purpose_id)
    return versions[-1] if versions else (0, "")


def _row(p: Purpose, version: int) -> dict[str, object]:
    return {
        "purpose_id": p.id,
        "version": version,
        "content_hash": p.content_hash,
        "definition": _definition(dataclasses.replace(p, version=version)),
        "created_at": utcnow(),
    }
