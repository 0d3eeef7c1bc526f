"""The identity provider's side of the consent ledger: keys, the catalogue, purpose versions.

The catalogue is read and checked at start-up; each purpose's content hash is compared
with the newest stored version, and a change makes a new version (so customers are asked
again). Ledger keys are derived from ``IDP_SECRET_KEY``, apart from the token keys.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from consent.catalogue import Catalogue, CatalogueError, load_catalogue
from consent.ledger import LedgerKeys
from consent.model import Purpose
from consent.store import PurposeVersionRow
from idp.config import ConfigError, Settings


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


def current_purposes(session: Session, catalogue: Catalogue) -> dict[str, Purpose]:
    """The catalogue's purposes with their stored version numbers; new versions stored."""
    out: dict[str, Purpose] = {}
    for purpose in catalogue.purposes.values():
        newest = session.scalar(
            select(PurposeVersionRow)
            .where(PurposeVersionRow.purpose_id == purpose.id)
            .order_by(PurposeVersionRow.version.desc())
            .limit(1)
        )
        if newest is not None and newest.content_hash == purpose.content_hash:
            version = newest.version
        else:
            version = (newest.version if newest else 0) + 1
            versioned = dataclasses.replace(purpose, version=version)
            try:
                with session.begin_nested():
                    session.add(
                        PurposeVersionRow(
                            purpose_id=purpose.id,
                            version=version,
                            content_hash=purpose.content_hash,
                            definition=_definition(versioned),
                        )
                    )
            except IntegrityError:  # another instance stored it first
                pass
        out[purpose.id] = dataclasses.replace(purpose, version=version)
    return out
