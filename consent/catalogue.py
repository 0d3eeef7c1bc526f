"""The consent catalogue: claims, recipients, purposes and privacy notices, read from TOML.

The catalogue says *what* may be shared, *with whom* and *why*; the ledger records what
each customer chose and ``decide()`` combines the two per (customer, recipient, purpose,
claim). A purpose names the recipients (OAuth client or partner ids) it shares with and,
for each claim it uses, whether the claim is necessary or optional.

File format (``config/purposes.toml`` is the demo)::

    [claims]
    email = { category = "contact" }          # every claim a purpose may use

    [[recipients]]
    id = "garage"                             # the OAuth client id / partner id
    name = "Korjaamo Virtanen"
    controller = "Korjaamo Virtanen Oy"       # optional: an independent controller (default:
                                              #   the deployment's own controller_name)
    logo = "/static/garage.svg"               # optional: a path on this site (CSP)
    [recipients.texts.fi]                     # fi, sv and en, each with title + description
    title = "..."
    description = "..."

    [[purposes]]
    id = "garage_booking"
    basis = "consent"                         # consent, contract, legal_obligation,
    recipients = ["garage"]                   #   legitimate_interest
    validity_days = 90                        # optional; a positive number of days
    ask = "signin"                            # optional, consent only: "signin" (asked on
                                              #   the sign-in screen, the default) or
                                              #   "account" (offered on the account page)
    marketing = true                          # optional, default false: direct marketing,
                                              #   paused while a complaint of the
                                              #   customer's is open
    [purposes.claims]
    phone_number = "necessary"                # or "optional"
    [purposes.texts.fi]
    title = "..."
    description = "..."

    [[agreements]]                            # optional: partner handoffs (RFC 8693)
    id = "tire_fitting"
    from = "tire-shop"                        # the client that hands a customer over
    to = "garage"                             # the recipient client
    purpose = "garage_booking"                # a purpose whose recipients include `to`
    details_types = ["tire_fitting"]          # RFC 9396 authorization_details types

    [[notices]]                               # privacy notice versions, latest last
    version = "2026-11"
    url = "/privacy/2026-11"
    [notices.files]                           # relative to the TOML file's folder
    fi = "notices/privacy-2026-11.fi.md"

``load_catalogue()`` checks all of it and raises :class:`CatalogueError` with a message
that names the file, the table and what to fix. Unknown keys are errors (typos would
otherwise be silently ignored). Texts are NFC-normalised and their whitespace collapsed
(descriptions are shown as one paragraph), so re-wrapping a long string in the TOML
changes neither the text nor its hash.

Versions and hashes: a purpose's ``content_hash`` (:func:`purpose_hash`) is the SHA-256 of
a canonical JSON of everything that defines it: id, basis, texts in every language,
claims with their needs, recipients and validity. It does not depend on the layout or
order of the TOML. A purpose's ``ask`` (sign-in or account page) is not in the hash: where
the choice is offered changes nothing the customer agrees to, so moving it asks no one again.
Nor is ``marketing``: it says what Avain does while a complaint is open, not what is shared.
Nor are a recipient's ``controller`` and ``logo`` (no recipient field is): the ledger event
records the controller the screen named, and the privacy notice's hash the notice it pointed
to. Agreements are not part of any purpose's hash: adding or changing one
does not ask anyone's consent again (what the recipient may receive is still the purpose's
and the customer's choice). Loaded purposes carry ``version=0``: the catalogue does not number
versions, the storage layer does. When it syncs the catalogue it compares each purpose's
hash with the hash of the last version it stored and, when they differ (or the purpose is
new), stores a new version numbered one higher. A consent given for an older version is
then reported as outdated by ``decide()``. A notice's ``content_hash``
(:func:`notice_hash`) is the SHA-256 of the canonical JSON ``{language: sha256(file)}``
of its files, so a ledger event can prove which text the customer was shown.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import os
import tomllib
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

from consent.model import (
    Agreement,
    AskAt,
    ClaimInfo,
    LegalBasis,
    Need,
    Notice,
    Purpose,
    Recipient,
    Text,
)

LANGUAGES: tuple[str, ...] = ("fi", "sv", "en")
"""Every purpose, recipient and notice must have a text in each of these languages."""

RESERVED_CLAIMS: frozenset[str] = frozenset({"sub"})
"""Claims that are not the catalogue's to share: ``sub`` is the account id itself."""

_TOP_KEYS = ("claims", "recipients", "purposes", "agreements", "notices")
_CLAIM_KEYS = ("category",)
_RECIPIENT_KEYS = ("id", "name", "texts", "controller", "logo")
_PURPOSE_KEYS = (
    "id",
    "basis",
    "texts",
    "claims",
    "recipients",
    "validity_days",
    "ask",
    "marketing",
)
_NOTICE_KEYS = ("version", "url", "files")
_AGREEMENT_KEYS = ("id", "from", "to", "purpose", "details_types")
_TEXT_KEYS = ("title", "description")


class CatalogueError(ValueError):
    """The catalogue cannot be used; the message names the file, the table and the fix."""


@dataclass(frozen=True)
class Catalogue:
    """Claims, recipients and purposes by id (in file order) and notices (latest last)."""

    claims: dict[str, ClaimInfo]
    recipients: dict[str, Recipient]
    purposes: dict[str, Purpose]
    notices: list[Notice]
    # notice version -> language -> absolute path of the file the hash was taken over
    notice_files: dict[str, dict[str, Path]] = field(default_factory=dict)
    agreements: dict[str, Agreement] = field(default_factory=dict)

    def purposes_for(self, recipient_id: str) -> list[Purpose]:
        """The purposes that share data with ``recipient_id``, in catalogue order."""
        return [p for p in self.purposes.values() if recipient_id in p.recipients]

    def purposes_sharing(self, recipient_id: str, claim: str) -> list[Purpose]:
        """The purposes that share ``claim`` (necessary or optional) with ``recipient_id``."""
        return [p for p in self.purposes_for(recipient_id) if claim in p.claims]

    def agreement_for(self, from_id: str, types: frozenset[str]) -> Agreement | None:
        """The agreement letting ``from_id`` hand over details of every one of ``types``."""
        return next(
            (a for a in self.agreements.values() if a.from_id == from_id and a.allows(types)),
            None,
        )

    def agreement_between(self, from_id: str, to_id: str) -> Agreement | None:
        """The agreement letting ``from_id`` hand a customer over to ``to_id``, or None."""
        return next(
            (a for a in self.agreements.values() if a.from_id == from_id and a.to_id == to_id),
            None,
        )

    def details_types(self) -> list[str]:
        """Every authorization_details type some agreement carries, sorted (for discovery)."""
        return sorted({t for a in self.agreements.values() for t in a.details_types})

    def current_notice(self) -> Notice:
        """The latest privacy notice: the one to show and record with new consent events."""
        if not self.notices:
            raise CatalogueError("the catalogue has no privacy notice; add a [[notices]] entry")
        return self.notices[-1]

    def notice(self, version: str) -> Notice | None:
        """The notice with this version, or None."""
        return next((n for n in self.notices if n.version == version), None)


def canonical_json(value: object) -> bytes:
    """Sorted keys, no whitespace, UTF-8 (not ASCII-escaped): the bytes hashes are taken of."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def purpose_hash(p: Purpose) -> str:
    """Hex SHA-256 of everything that defines the purpose, not of its version number."""
    document = {
        "id": p.id,
        "basis": str(p.basis),
        "texts": {
            lang: {"title": t.title, "description": t.description} for lang, t in p.texts.items()
        },
        "claims": {claim: str(need) for claim, need in p.claims.items()},
        "recipients": sorted(p.recipients),
        "validity_days": p.validity_days,
    }
    return hashlib.sha256(canonical_json(document)).hexdigest()


def notice_hash(contents: Mapping[str, bytes]) -> str:
    """Hex SHA-256 of the canonical JSON ``{language: hex sha256(file bytes)}``."""
    digests = {lang: hashlib.sha256(data).hexdigest() for lang, data in contents.items()}
    return hashlib.sha256(canonical_json(digests)).hexdigest()


def load_catalogue(path: Path | str | os.PathLike[str]) -> Catalogue:
    """Read and check a catalogue TOML file; raise :class:`CatalogueError` on any problem."""
    return _Loader(Path(path)).load()


def _normalise(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


class _Loader:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.base = path.parent

    # -- errors and checked access -------------------------------------------------------

    def fail(self, where: str, problem: str, fix: str) -> NoReturn:
        raise CatalogueError(f"{self.path}: {where}: {problem}; {fix}")

    def check_keys(
        self,
        where: str,
        table: Mapping[str, object],
        allowed: Sequence[str],
        required: Sequence[str] = (),
    ) -> None:
        for key in table:
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                fix = f"did you mean '{close[0]}'?" if close else "remove it"
                self.fail(
                    where,
                    f"unknown key '{key}' (allowed: {', '.join(allowed)})",
                    fix,
                )
        for key in required:
            if key not in table:
                self.fail(where, f"'{key}' is missing", f"add {key} = ...")

    def table(self, where: str, value: object, what: str) -> dict[str, object]:
        if not isinstance(value, dict):
            self.fail(where, f"{what} must be a table, not {_kind(value)}", f"write it as {what}")
        return {str(k): v for k, v in value.items()}

    def tables(self, name: str, value: object) -> list[dict[str, object]]:
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self.fail(
                f"[[{name}]]",
                f"'{name}' must be an array of tables, not {_kind(value)}",
                f"start each entry with a [[{name}]] header",
            )
        return [{str(k): v for k, v in item.items()} for item in value]

    def string(self, where: str, table: Mapping[str, object], key: str) -> str:
        value = table.get(key)
        if not isinstance(value, str) or not value.strip():
            self.fail(
                where,
                f"'{key}' must be a non-empty string, not {_kind(value)}",
                f'write {key} = "..."',
            )
        return value.strip()

    # -- the file ------------------------------------------------------------------------

    def load(self) -> Catalogue:
        try:
            with self.path.open("rb") as f:
                data = tomllib.load(f)
        except OSError as e:
            raise CatalogueError(
                f"{self.path}: cannot read the catalogue ({e.strerror or e}); "
                "check the path (catalogue file)"
            ) from e
        except UnicodeDecodeError as e:
            raise CatalogueError(f"{self.path}: not UTF-8 ({e}); save it as UTF-8") from e
        except tomllib.TOMLDecodeError as e:
            raise CatalogueError(
                f"{self.path}: not valid TOML: {e}; fix the syntax "
                "(a key or table declared twice is a duplicate id)"
            ) from e

        self.check_keys("top level", data, _TOP_KEYS, required=("notices",))
        claims = self.load_claims(data.get("claims", {}))
        recipients = self.load_recipients(data.get("recipients", []))
        purposes = self.load_purposes(data.get("purposes", []), claims, recipients)
        agreements = self.load_agreements(data.get("agreements", []), recipients, purposes)
        notices, files = self.load_notices(data["notices"])
        return Catalogue(
            claims=claims,
            recipients=recipients,
            purposes=purposes,
            notices=notices,
            notice_files=files,
            agreements=agreements,
        )

    def load_claims(self, value: object) -> dict[str, ClaimInfo]:
        claims: dict[str, ClaimInfo] = {}
        for name, entry in self.table("[claims]", value, "[claims]").items():
            where = f"[claims] '{name}'"
            if name in RESERVED_CLAIMS:
                self.fail(
                    where,
                    f"'{name}' is the account id, which is not a catalogue claim",
                    "remove it from [claims] and from every purpose",
                )
            spec = self.table(where, entry, f'{name} = {{ category = "..." }}')
            self.check_keys(where, spec, _CLAIM_KEYS, required=_CLAIM_KEYS)
            claims[name] = ClaimInfo(name=name, category=self.string(where, spec, "category"))
        return claims

    def load_texts(self, where: str, value: object, header: str) -> dict[str, Text]:
        texts_where = f"{where}, texts"
        if value is None:
            self.fail(
                where,
                "'texts' is missing",
                f"add [{header}.texts.LANG] tables with title and description for "
                + ", ".join(LANGUAGES),
            )
        table = self.table(texts_where, value, f"[{header}.texts.fi] and so on")
        self.check_keys(texts_where, table, LANGUAGES)
        texts: dict[str, Text] = {}
        for lang in LANGUAGES:
            lang_where = f"{where}, [{header}.texts.{lang}]"
            if lang not in table:
                self.fail(
                    where,
                    f"missing text for language '{lang}'",
                    f"add a [{header}.texts.{lang}] table with title and description",
                )
            entry = self.table(lang_where, table[lang], f"[{header}.texts.{lang}]")
            self.check_keys(lang_where, entry, _TEXT_KEYS, required=_TEXT_KEYS)
            texts[lang] = Text(
                title=_normalise(self.string(lang_where, entry, "title")),
                description=_normalise(self.string(lang_where, entry, "description")),
            )
        return texts

    def entry_id(self, name: str, index: int, entry: Mapping[str, object], key: str) -> str:
        where = f"[[{name}]] entry {index + 1}"
        if key not in entry:
            self.fail(where, f"'{key}' is missing", f'add {key} = "..."')
        return self.string(where, entry, key)

    def load_recipients(self, value: object) -> dict[str, Recipient]:
        recipients: dict[str, Recipient] = {}
        for index, entry in enumerate(self.tables("recipients", value)):
            rid = self.entry_id("recipients", index, entry, "id")
            where = f"[[recipients]] '{rid}'"
            if rid in recipients:
                self.fail(
                    where, f"duplicate recipient id '{rid}'", "give each recipient its own id"
                )
            self.check_keys(where, entry, _RECIPIENT_KEYS, required=("id", "name"))
            recipients[rid] = Recipient(
                id=rid,
                name=_normalise(self.string(where, entry, "name")),
                texts=self.load_texts(where, entry.get("texts"), "recipients"),
                controller=(
                    _normalise(self.string(where, entry, "controller"))
                    if "controller" in entry
                    else None
                ),
                logo=self.load_logo(where, entry) if "logo" in entry else None,
            )
        return recipients

    def load_purposes(
        self,
        value: object,
        claims: Mapping[str, ClaimInfo],
        recipients: Mapping[str, Recipient],
    ) -> dict[str, Purpose]:
        purposes: dict[str, Purpose] = {}
        for index, entry in enumerate(self.tables("purposes", value)):
            pid = self.entry_id("purposes", index, entry, "id")
            where = f"[[purposes]] '{pid}'"
            if pid in purposes:
                self.fail(where, f"duplicate purpose id '{pid}'", "give each purpose its own id")
            self.check_keys(where, entry, _PURPOSE_KEYS, required=("id", "basis", "recipients"))

            basis_name = self.string(where, entry, "basis")
            try:
                basis = LegalBasis(basis_name)
            except ValueError:
                self.fail(
                    where,
                    f"unknown legal basis '{basis_name}'",
                    "use one of " + ", ".join(b.value for b in LegalBasis),
                )

            purpose_claims = self.load_purpose_claims(where, entry.get("claims", {}), claims)
            if basis is LegalBasis.CONSENT and not purpose_claims:
                self.fail(
                    where,
                    "a consent-based purpose shares no claims (none necessary, none optional)",
                    "list the claims it shares under [purposes.claims]",
                )

            shared_with = self.load_purpose_recipients(where, entry["recipients"], recipients)
            validity = entry.get("validity_days")
            if validity is not None and (
                isinstance(validity, bool) or not isinstance(validity, int) or validity <= 0
            ):
                self.fail(
                    where,
                    f"validity_days must be a positive whole number of days, not {validity!r}",
                    "write e.g. validity_days = 365, or leave it out for no expiry",
                )

            purpose = Purpose(
                id=pid,
                version=0,
                basis=basis,
                texts=self.load_texts(where, entry.get("texts"), "purposes"),
                claims=purpose_claims,
                recipients=shared_with,
                validity_days=validity,
                ask=self.load_ask(where, entry, basis),
                marketing=self.load_marketing(where, entry),
            )
            purposes[pid] = dataclasses.replace(purpose, content_hash=purpose_hash(purpose))
        return purposes

    def load_ask(self, where: str, entry: Mapping[str, object], basis: LegalBasis) -> AskAt:
        if "ask" not in entry:
            return AskAt.SIGNIN
        value = self.string(where, entry, "ask")
        if value not in {a.value for a in AskAt}:
            self.fail(
                where, f'ask must be "signin" or "account", not {value!r}', 'write ask = "account"'
            )
        if basis is not LegalBasis.CONSENT and value == AskAt.ACCOUNT:
            self.fail(
                where,
                f"only a consent is offered on the account page; this purpose rests on {basis}",
                "remove ask (what rests on another basis is shown at sign-in as always shared)",
            )
        return AskAt(value)

    def load_marketing(self, where: str, entry: Mapping[str, object]) -> bool:
        value = entry.get("marketing", False)
        if not isinstance(value, bool):
            self.fail(
                where,
                f"marketing must be true or false, not {value!r}",
                "write marketing = true for direct marketing, or leave it out",
            )
        return value

    def load_logo(self, where: str, entry: Mapping[str, object]) -> str:
        logo = self.string(where, entry, "logo")
        if not logo.startswith("/") or logo.startswith("//"):
            self.fail(
                where,
                f"logo must be a path on this site (/...), not {logo!r} (the pages' CSP "
                "loads images from this site only)",
                'put the file under static/ and write logo = "/static/..."',
            )
        return logo

    def load_purpose_claims(
        self, where: str, value: object, claims: Mapping[str, ClaimInfo]
    ) -> dict[str, Need]:
        claims_where = f"{where}, [purposes.claims]"
        result: dict[str, Need] = {}
        table = self.table(claims_where, value, '[purposes.claims] with claim = "necessary"')
        for name, need in table.items():
            if name not in claims:
                self.fail(
                    claims_where,
                    f"claim '{name}' is not declared in [claims]",
                    f'declare it there (e.g. {name} = {{ category = "contact" }}) '
                    "or fix the spelling",
                )
            if not isinstance(need, str) or need not in {n.value for n in Need}:
                self.fail(
                    claims_where,
                    f"claim '{name}' has need {need!r}",
                    'write "necessary" or "optional"',
                )
            result[name] = Need(need)
        return result

    def load_purpose_recipients(
        self, where: str, value: object, recipients: Mapping[str, Recipient]
    ) -> frozenset[str]:
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(r, str) and r for r in value)
        ):
            self.fail(
                where,
                f"'recipients' must be a non-empty list of recipient ids, not {value!r}",
                'write recipients = ["recipient-id"]',
            )
        seen: set[str] = set()
        for rid in value:
            if rid in seen:
                self.fail(where, f"recipient '{rid}' is listed twice", "list it once")
            if rid not in recipients:
                self.fail(
                    where,
                    f"recipient '{rid}' is not declared",
                    f'add a [[recipients]] entry with id = "{rid}" or fix the spelling',
                )
            seen.add(rid)
        return frozenset(seen)

    def load_agreements(
        self,
        value: object,
        recipients: Mapping[str, Recipient],
        purposes: Mapping[str, Purpose],
    ) -> dict[str, Agreement]:
        agreements: dict[str, Agreement] = {}
        for index, entry in enumerate(self.tables("agreements", value)):
            aid = self.entry_id("agreements", index, entry, "id")
            where = f"[[agreements]] '{aid}'"
            if aid in agreements:
                self.fail(
                    where, f"duplicate agreement id '{aid}'", "give each agreement its own id"
                )
            self.check_keys(where, entry, _AGREEMENT_KEYS, required=_AGREEMENT_KEYS)
            ends = {key: self.string(where, entry, key) for key in ("from", "to")}
            for key, rid in ends.items():
                if rid not in recipients:
                    self.fail(
                        where,
                        f"'{key}' names '{rid}', which is not a declared recipient",
                        f'add a [[recipients]] entry with id = "{rid}" or fix the spelling',
                    )
            if ends["from"] == ends["to"]:
                self.fail(where, "'from' and 'to' are the same client", "hand over to a partner")
            pid = self.string(where, entry, "purpose")
            purpose = purposes.get(pid)
            if purpose is None:
                self.fail(
                    where,
                    f"purpose '{pid}' is not declared",
                    "name a [[purposes]] id or fix the spelling",
                )
            if ends["to"] not in purpose.recipients:
                self.fail(
                    where,
                    f"purpose '{pid}' does not share with '{ends['to']}'",
                    f'add "{ends["to"]}" to that purpose\'s recipients or name another purpose',
                )
            agreements[aid] = Agreement(
                id=aid,
                from_id=ends["from"],
                to_id=ends["to"],
                purpose_id=pid,
                details_types=self.load_details_types(where, entry["details_types"]),
            )
        return agreements

    def load_details_types(self, where: str, value: object) -> frozenset[str]:
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(t, str) and t.strip() for t in value)
        ):
            self.fail(
                where,
                f"'details_types' must be a non-empty list of non-empty strings, not {value!r}",
                'write details_types = ["type-name"]',
            )
        return frozenset(t.strip() for t in value)

    def load_notices(self, value: object) -> tuple[list[Notice], dict[str, dict[str, Path]]]:
        notices: list[Notice] = []
        files: dict[str, dict[str, Path]] = {}
        entries = self.tables("notices", value)
        if not entries:
            self.fail(
                "[[notices]]",
                "there is no privacy notice",
                "add a [[notices]] entry with version, url and files",
            )
        for index, entry in enumerate(entries):
            version = self.entry_id("notices", index, entry, "version")
            where = f"[[notices]] '{version}'"
            if version in files:
                self.fail(
                    where,
                    f"duplicate notice version '{version}'",
                    "give each notice its own version",
                )
            self.check_keys(where, entry, _NOTICE_KEYS, required=_NOTICE_KEYS)
            url = self.string(where, entry, "url")
            files_where = f"{where}, [notices.files]"
            table = self.table(files_where, entry["files"], "[notices.files]")
            self.check_keys(files_where, table, LANGUAGES, required=LANGUAGES)
            paths: dict[str, Path] = {}
            contents: dict[str, bytes] = {}
            for lang in LANGUAGES:
                relative = self.string(files_where, table, lang)
                path = (self.base / relative).resolve()
                try:
                    contents[lang] = path.read_bytes()
                except OSError as e:
                    self.fail(
                        files_where,
                        f"notice file missing for '{lang}': {path} ({e.strerror or e})",
                        f"create it or fix the path (relative to {self.base})",
                    )
                paths[lang] = path
            notices.append(Notice(version=version, url=url, content_hash=notice_hash(contents)))
            files[version] = paths
        return notices, files


def _kind(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return f"{type(value).__name__} {value!r}"
