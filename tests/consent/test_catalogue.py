"""The consent catalogue: the demo file, content hashes and every validation error."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import pytest

from consent.catalogue import (
    LANGUAGES,
    Catalogue,
    CatalogueError,
    load_catalogue,
    notice_hash,
    purpose_hash,
)
from consent.model import LegalBasis, Need, Purpose, Text

DEMO = Path(__file__).resolve().parents[2] / "config" / "purposes.toml"

# A small valid catalogue; tests break one thing at a time by text replacement.
MINIMAL = """\
[claims]
name = { category = "identity" }
email = { category = "contact" }
phone_number = { category = "contact" }

[[recipients]]
id = "garage"
name = "Korjaamo Virtanen"
[recipients.texts.fi]
title = "Korjaamo Virtanen"
description = "Yhteistyökorjaamo."
[recipients.texts.sv]
title = "Korjaamo Virtanen"
description = "Samarbetsverkstad."
[recipients.texts.en]
title = "Korjaamo Virtanen"
description = "Partner garage."

[[purposes]]
id = "booking"
basis = "consent"
recipients = ["garage"]
validity_days = 90
[purposes.claims]
name = "necessary"
phone_number = "necessary"
email = "optional"
[purposes.texts.fi]
title = "Ajanvaraus"
description = "Nimi ja puhelinnumero korjaamolle."
[purposes.texts.sv]
title = "Bokning"
description = "Namn och telefonnummer till verkstaden."
[purposes.texts.en]
title = "Booking"
description = "Name and phone number to the garage."

[[notices]]
version = "1"
url = "/privacy/1"
[notices.files]
fi = "n.fi.md"
sv = "n.sv.md"
en = "n.en.md"
"""

# The same catalogue laid out differently: key and table order, inline tables, comments,
# a re-wrapped description. Nothing that defines the purpose differs.
REFORMATTED = """\
# comments do not matter
[[notices]]
files = { en = "n.en.md", sv = "n.sv.md", fi = "n.fi.md" }
url = "/privacy/1"
version = "1"

[claims]
phone_number.category = "contact"
email = { category = "contact" }
name = { category = "identity" }

[[purposes]]
texts.en = { description = "Name and phone number   to the garage.", title = "Booking" }
texts.sv = { title = "Bokning", description = "Namn och telefonnummer till verkstaden." }
texts.fi.title = "Ajanvaraus"
texts.fi.description = '''
Nimi ja puhelinnumero
korjaamolle.
'''
claims = { email = "optional", phone_number = "necessary", name = "necessary" }
validity_days = 90
recipients = ["garage"]
basis = "consent"
id = "booking"

[[recipients]]
name = "Korjaamo Virtanen"
id = "garage"
texts = { en = { title = "Korjaamo Virtanen", description = "Partner garage." }, \
sv = { title = "Korjaamo Virtanen", description = "Samarbetsverkstad." }, \
fi = { description = "Yhteistyökorjaamo.", title = "Korjaamo Virtanen" } }
"""


def write(tmp_path: Path, text: str, name: str = "purposes.toml") -> Path:
    for lang in LANGUAGES:
        notice = tmp_path / f"n.{lang}.md"
        if not notice.exists():
            notice.write_text(f"# Notice ({lang})\n", encoding="utf-8")
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load(tmp_path: Path, text: str) -> Catalogue:
    return load_catalogue(write(tmp_path, text))


def replaced(old: str, new: str, text: str = MINIMAL) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def error(tmp_path: Path, text: str) -> str:
    with pytest.raises(CatalogueError) as info:
        load(tmp_path, text)
    message = str(info.value)
    assert str(tmp_path / "purposes.toml") in message  # always names the file
    return message


# -- the demo catalogue ------------------------------------------------------------------


def test_demo_catalogue_loads_with_the_three_purposes() -> None:
    cat = load_catalogue(DEMO)
    assert {"account", "marketing_email", "garage_booking"} <= set(cat.purposes)
    assert set(cat.recipients) == {"tire-shop", "garage"}
    assert cat.recipients["tire-shop"].name == "Rengasverkkokauppa"
    assert cat.recipients["garage"].name == "Korjaamo Virtanen"
    assert "sub" not in cat.claims
    assert cat.claims["car_registration"].category == "vehicle"
    assert cat.claims["tire_purchase"].category == "purchase"

    account = cat.purposes["account"]
    assert account.basis is LegalBasis.CONTRACT
    assert account.necessary() == {"name", "email", "email_verified"}
    assert account.optional() <= {"locale"}
    assert account.recipients == {"tire-shop"}

    marketing = cat.purposes["marketing_email"]
    assert marketing.basis is LegalBasis.CONSENT
    assert marketing.optional() == {"email", "given_name"}
    assert marketing.necessary() == frozenset()
    assert marketing.validity_days == 365
    assert marketing.recipients == {"tire-shop"}

    booking = cat.purposes["garage_booking"]
    assert booking.basis is LegalBasis.CONSENT
    assert booking.necessary() == {"name", "phone_number", "car_registration"}
    assert booking.optional() == {"tire_purchase", "email"}
    assert booking.validity_days == 90
    assert booking.recipients == {"garage"}


def test_demo_texts_exist_in_every_language() -> None:
    cat = load_catalogue(DEMO)
    for item in [*cat.purposes.values(), *cat.recipients.values()]:
        assert set(item.texts) == set(LANGUAGES), item.id
        for text in item.texts.values():
            assert text.title and text.description
    # the texts are really translated, not copies
    booking = cat.purposes["garage_booking"].texts
    assert len({booking[lang].description for lang in LANGUAGES}) == 3
    assert "Korjaamo Virtase" in booking["fi"].description


def test_demo_purposes_are_hashed_and_unversioned() -> None:
    cat = load_catalogue(DEMO)
    for p in cat.purposes.values():
        assert p.version == 0
        assert len(p.content_hash) == 64
        assert p.content_hash == purpose_hash(p)
    assert len({p.content_hash for p in cat.purposes.values()}) == len(cat.purposes)


def test_demo_notice() -> None:
    cat = load_catalogue(DEMO)
    notice = cat.current_notice()
    assert notice.version == "2026-11"
    assert notice.url == "/privacy/2026-11"
    files = cat.notice_files["2026-11"]
    assert set(files) == set(LANGUAGES)
    for lang, path in files.items():
        assert path.name == f"privacy-2026-11.{lang}.md"
        text = path.read_text(encoding="utf-8")
        assert "Avain Demo Oy" in text
        assert 15 <= len(text.splitlines()) <= 30
        assert "21" in text  # the right to object is brought to attention (Art. 21(4))
    assert "tietosuojavaltuutetu" in files["fi"].read_text(encoding="utf-8")
    expected = notice_hash({lang: path.read_bytes() for lang, path in files.items()})
    assert notice.content_hash == expected
    assert cat.notice("2026-11") == notice
    assert cat.notice("1999-01") is None


def test_demo_lookups_by_recipient_and_claim() -> None:
    cat = load_catalogue(DEMO)
    assert [p.id for p in cat.purposes_for("garage")] == ["garage_booking"]
    assert {p.id for p in cat.purposes_for("tire-shop")} == {
        "account",
        "marketing_email",
        "service_reminders",
    }
    assert cat.purposes_for("nobody") == []
    assert {p.id for p in cat.purposes_sharing("tire-shop", "email")} == {
        "account",
        "marketing_email",
        "service_reminders",
    }
    assert [p.id for p in cat.purposes_sharing("tire-shop", "given_name")] == [
        "marketing_email",
        "service_reminders",
    ]
    assert [p.id for p in cat.purposes_sharing("garage", "car_registration")] == ["garage_booking"]
    assert cat.purposes_sharing("garage", "locale") == []
    assert cat.purposes_sharing("tire-shop", "car_registration") == []


# -- hashes --------------------------------------------------------------------------------


def test_purpose_hash_is_the_canonical_json_sha256() -> None:
    p = Purpose(
        id="p",
        version=7,
        basis=LegalBasis.CONSENT,
        texts={"fi": Text("Ä", "ö")},
        claims={"email": Need.OPTIONAL, "name": Need.NECESSARY},
        recipients=frozenset({"b", "a"}),
        validity_days=30,
    )
    document = {
        "basis": "consent",
        "claims": {"email": "optional", "name": "necessary"},
        "id": "p",
        "recipients": ["a", "b"],
        "texts": {"fi": {"description": "ö", "title": "Ä"}},
        "validity_days": 30,
    }
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert purpose_hash(p) == hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    # the version and the stored hash are not part of it
    assert purpose_hash(dataclasses.replace(p, version=8, content_hash="x")) == purpose_hash(p)


def test_hashes_are_stable(tmp_path: Path) -> None:
    first = load(tmp_path, MINIMAL)
    second = load(tmp_path, MINIMAL)
    assert first.purposes["booking"].content_hash == second.purposes["booking"].content_hash
    assert first.current_notice().content_hash == second.current_notice().content_hash
    assert load_catalogue(DEMO).purposes == load_catalogue(DEMO).purposes


def test_reformatting_and_reordering_keep_the_hash(tmp_path: Path) -> None:
    original = load(tmp_path, MINIMAL)
    reformatted = load(tmp_path, REFORMATTED)
    assert reformatted.purposes == original.purposes
    assert reformatted.recipients == original.recipients
    assert reformatted.claims == original.claims
    assert reformatted.notices == original.notices


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ('title = "Booking"', 'title = "Garage booking"'),  # a title
        ('description = "Namn och', 'description = "Förnamn och'),  # a description
        ('email = "optional"', 'email = "necessary"'),  # a claim's need
        ('email = "optional"', ""),  # a claim dropped
        ("validity_days = 90", "validity_days = 30"),
        ('basis = "consent"', 'basis = "legitimate_interest"'),
    ],
)
def test_hash_changes_with_content(tmp_path: Path, old: str, new: str) -> None:
    before = load(tmp_path, MINIMAL).purposes["booking"].content_hash
    after = load(tmp_path, replaced(old, new)).purposes["booking"].content_hash
    assert after != before


def test_hash_changes_with_recipients(tmp_path: Path) -> None:
    second = """
[[recipients]]
id = "shop"
name = "Rengasverkkokauppa"
texts.fi = { title = "Kauppa", description = "Verkkokauppa." }
texts.sv = { title = "Butik", description = "Webbutik." }
texts.en = { title = "Shop", description = "Web shop." }
"""
    text = replaced("[[purposes]]", second + "\n[[purposes]]")
    before = load(tmp_path, text).purposes["booking"]
    after = load(tmp_path, replaced('["garage"]', '["garage", "shop"]', text)).purposes["booking"]
    assert after.recipients == {"garage", "shop"}
    assert after.content_hash != before.content_hash


def test_notice_hash_changes_when_a_file_changes(tmp_path: Path) -> None:
    before = load(tmp_path, MINIMAL).current_notice().content_hash
    (tmp_path / "n.sv.md").write_text("# Dataskyddsbeskrivning, ändrad\n", encoding="utf-8")
    after = load(tmp_path, MINIMAL).current_notice().content_hash
    assert after != before
    digests = {
        lang: hashlib.sha256((tmp_path / f"n.{lang}.md").read_bytes()).hexdigest()
        for lang in LANGUAGES
    }
    canonical = json.dumps(digests, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert after == hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def test_notice_files_are_relative_to_the_toml_folder(tmp_path: Path) -> None:
    (tmp_path / "notices").mkdir()
    for lang in LANGUAGES:
        (tmp_path / "notices" / f"n.{lang}.md").write_text(lang, encoding="utf-8")
    text = MINIMAL
    for lang in LANGUAGES:
        text = replaced(f'"n.{lang}.md"', f'"notices/n.{lang}.md"', text)
    cat = load(tmp_path, text)
    assert cat.notice_files["1"]["sv"] == (tmp_path / "notices" / "n.sv.md").resolve()
    assert cat.current_notice().content_hash == notice_hash(
        {lang: lang.encode() for lang in LANGUAGES}
    )


def test_latest_notice_is_last(tmp_path: Path) -> None:
    text = (
        MINIMAL
        + '\n[[notices]]\nversion = "2"\nurl = "/privacy/2"\n'
        + 'files = { fi = "n.fi.md", sv = "n.sv.md", en = "n.en.md" }\n'
    )
    cat = load(tmp_path, text)
    assert [n.version for n in cat.notices] == ["1", "2"]
    assert cat.current_notice().url == "/privacy/2"


def test_texts_are_normalised(tmp_path: Path) -> None:
    text = replaced('title = "Booking"', 'title = "  Booking\\n  now "')
    cat = load(tmp_path, text)
    assert cat.purposes["booking"].texts["en"].title == "Booking now"


def test_contract_purpose_may_share_only_necessary_claims(tmp_path: Path) -> None:
    text = replaced('basis = "consent"', 'basis = "contract"')
    text = replaced('email = "optional"\n', "", text)
    text = replaced("validity_days = 90\n", "", text)
    p = load(tmp_path, text).purposes["booking"]
    assert p.basis is LegalBasis.CONTRACT
    assert p.validity_days is None
    assert p.optional() == frozenset()


def test_current_notice_of_an_empty_catalogue() -> None:
    with pytest.raises(CatalogueError, match=r"\[\[notices\]\]"):
        Catalogue(claims={}, recipients={}, purposes={}, notices=[]).current_notice()


# -- validation errors ---------------------------------------------------------------------


def test_unknown_legal_basis(tmp_path: Path) -> None:
    message = error(tmp_path, replaced('basis = "consent"', 'basis = "consnet"'))
    assert "[[purposes]] 'booking'" in message
    assert "unknown legal basis 'consnet'" in message
    assert "consent, contract, legal_obligation, legitimate_interest" in message


def test_claim_not_declared(tmp_path: Path) -> None:
    message = error(tmp_path, replaced('email = "optional"', 'e_mail = "optional"'))
    assert "[[purposes]] 'booking', [purposes.claims]" in message
    assert "claim 'e_mail' is not declared in [claims]" in message
    assert "declare it there" in message


def test_unknown_need(tmp_path: Path) -> None:
    message = error(tmp_path, replaced('email = "optional"', 'email = "required"'))
    assert "[purposes.claims]" in message
    assert "claim 'email' has need 'required'" in message
    assert '"necessary" or "optional"' in message


def test_need_of_the_wrong_type(tmp_path: Path) -> None:
    message = error(tmp_path, replaced('email = "optional"', "email = true"))
    assert "claim 'email' has need True" in message


def test_recipient_not_declared(tmp_path: Path) -> None:
    message = error(tmp_path, replaced('["garage"]', '["garage", "tire-shop"]'))
    assert "[[purposes]] 'booking'" in message
    assert "recipient 'tire-shop' is not declared" in message
    assert 'add a [[recipients]] entry with id = "tire-shop"' in message


def test_purpose_without_recipients(tmp_path: Path) -> None:
    message = error(tmp_path, replaced('["garage"]', "[]"))
    assert "'recipients' must be a non-empty list of recipient ids" in message


def test_recipient_listed_twice(tmp_path: Path) -> None:
    message = error(tmp_path, replaced('["garage"]', '["garage", "garage"]'))
    assert "recipient 'garage' is listed twice" in message


@pytest.mark.parametrize("lang", LANGUAGES)
def test_missing_purpose_language(tmp_path: Path, lang: str) -> None:
    start = MINIMAL.index(f"[purposes.texts.{lang}]")
    end = MINIMAL.index("description", start)
    end = MINIMAL.index("\n", end) + 1
    message = error(tmp_path, MINIMAL[:start] + MINIMAL[end:])
    assert "[[purposes]] 'booking'" in message
    assert f"missing text for language '{lang}'" in message
    assert f"add a [purposes.texts.{lang}] table with title and description" in message


def test_missing_recipient_language(tmp_path: Path) -> None:
    text = replaced('[recipients.texts.sv]\ntitle = "Korjaamo Virtanen"\n', "")
    text = replaced('description = "Samarbetsverkstad."\n', "", text)
    message = error(tmp_path, text)
    assert "[[recipients]] 'garage'" in message
    assert "missing text for language 'sv'" in message


def test_missing_texts_altogether(tmp_path: Path) -> None:
    start = MINIMAL.index("[purposes.texts.fi]")
    end = MINIMAL.index("[[notices]]")
    message = error(tmp_path, MINIMAL[:start] + MINIMAL[end:])
    assert "[[purposes]] 'booking'" in message
    assert "'texts' is missing" in message


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ('title = "Bokning"\n', "", "'title' is missing"),
        ('title = "Bokning"', 'title = "   "', "'title' must be a non-empty string"),
        (
            'description = "Namn och telefonnummer till verkstaden."\n',
            "",
            "'description' is missing",
        ),
        (
            'description = "Namn och telefonnummer till verkstaden."',
            'description = ""',
            "'description' must be a non-empty string",
        ),
    ],
)
def test_title_and_description_required(tmp_path: Path, old: str, new: str, problem: str) -> None:
    message = error(tmp_path, replaced(old, new))
    assert "[[purposes]] 'booking', [purposes.texts.sv]" in message
    assert problem in message


def test_consent_purpose_without_claims(tmp_path: Path) -> None:
    text = replaced(
        '[purposes.claims]\nname = "necessary"\nphone_number = "necessary"\nemail = "optional"\n',
        "",
    )
    message = error(tmp_path, text)
    assert "[[purposes]] 'booking'" in message
    assert "a consent-based purpose shares no claims" in message
    assert "[purposes.claims]" in message


def test_consent_purpose_with_only_optional_claims_is_fine(tmp_path: Path) -> None:
    text = replaced('name = "necessary"\nphone_number = "necessary"\n', "")
    p = load(tmp_path, text).purposes["booking"]
    assert p.necessary() == frozenset()
    assert p.optional() == {"email"}


def test_duplicate_purpose_id(tmp_path: Path) -> None:
    start = MINIMAL.index("[[purposes]]")
    end = MINIMAL.index("[[notices]]")
    message = error(tmp_path, MINIMAL[:end] + MINIMAL[start:end] + MINIMAL[end:])
    assert "duplicate purpose id 'booking'" in message


def test_duplicate_recipient_id(tmp_path: Path) -> None:
    start = MINIMAL.index("[[recipients]]")
    end = MINIMAL.index("[[purposes]]")
    message = error(tmp_path, MINIMAL[:end] + MINIMAL[start:end] + MINIMAL[end:])
    assert "[[recipients]] 'garage'" in message
    assert "duplicate recipient id 'garage'" in message


def test_duplicate_notice_version(tmp_path: Path) -> None:
    start = MINIMAL.index("[[notices]]")
    message = error(tmp_path, MINIMAL + "\n" + MINIMAL[start:])
    assert "duplicate notice version '1'" in message


def test_duplicate_claim_is_a_toml_error(tmp_path: Path) -> None:
    text = replaced("[claims]\n", '[claims]\nemail = { category = "identity" }\n')
    message = error(tmp_path, text)
    assert "not valid TOML" in message
    assert "duplicate id" in message


@pytest.mark.parametrize("days", ["0", "-5", "1.5", '"90"', "true"])
def test_validity_days_must_be_positive(tmp_path: Path, days: str) -> None:
    message = error(tmp_path, replaced("validity_days = 90", f"validity_days = {days}"))
    assert "[[purposes]] 'booking'" in message
    assert "validity_days must be a positive whole number of days" in message


@pytest.mark.parametrize(
    ("old", "new", "where", "key", "hint"),
    [
        ("[claims]\n", "[claim]\n", "top level", "claim", "claims"),
        (
            'recipients = ["garage"]',
            'recipents = ["garage"]',
            "[[purposes]] 'booking'",
            "recipents",
            "recipients",
        ),
        (
            "validity_days = 90",
            "valid_days = 90",
            "[[purposes]] 'booking'",
            "valid_days",
            "validity_days",
        ),
        (
            'name = { category = "identity" }',
            'name = { categroy = "identity" }',
            "[claims] 'name'",
            "categroy",
            "category",
        ),
        (
            'name = "Korjaamo Virtanen"',
            'nmae = "Korjaamo Virtanen"',
            "[[recipients]] 'garage'",
            "nmae",
            "name",
        ),
        (
            'title = "Booking"',
            'titel = "Booking"',
            "[[purposes]] 'booking', [purposes.texts.en]",
            "titel",
            "title",
        ),
        (
            "[purposes.texts.sv]",
            "[purposes.texts.se]",
            "[[purposes]] 'booking', texts",
            "se",
            None,  # too short to guess; the message lists fi, sv, en
        ),
        ('url = "/privacy/1"', 'uri = "/privacy/1"', "[[notices]] '1'", "uri", "url"),
        (
            'en = "n.en.md"',
            'en = "n.en.md"\nde = "n.de.md"',
            "[[notices]] '1', [notices.files]",
            "de",
            None,
        ),
    ],
)
def test_unknown_keys(
    tmp_path: Path, old: str, new: str, where: str, key: str, hint: str | None
) -> None:
    message = error(tmp_path, replaced(old, new))
    assert where in message
    assert f"unknown key '{key}'" in message
    if hint:
        assert f"did you mean '{hint}'?" in message
    else:
        assert "remove it" in message
        assert "(allowed: " in message


def test_notice_file_missing(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL)
    (tmp_path / "n.sv.md").unlink()
    with pytest.raises(CatalogueError) as info:
        load_catalogue(path)
    message = str(info.value)
    assert str(path) in message
    assert "[[notices]] '1', [notices.files]" in message
    assert "notice file missing for 'sv'" in message
    assert str((tmp_path / "n.sv.md").resolve()) in message


def test_notice_language_missing(tmp_path: Path) -> None:
    message = error(tmp_path, replaced('en = "n.en.md"\n', ""))
    assert "[notices.files]" in message
    assert "'en' is missing" in message


def test_no_notice(tmp_path: Path) -> None:
    message = error(tmp_path, MINIMAL[: MINIMAL.index("[[notices]]")])
    assert "top level" in message
    assert "'notices' is missing" in message


def test_sub_is_not_a_claim(tmp_path: Path) -> None:
    message = error(tmp_path, replaced("[claims]\n", '[claims]\nsub = { category = "id" }\n'))
    assert "[claims] 'sub'" in message
    assert "account id" in message


def test_table_instead_of_array_of_tables(tmp_path: Path) -> None:
    text = replaced("[[recipients]]", "[recipients]")
    message = error(tmp_path, text)
    assert "'recipients' must be an array of tables" in message
    assert "[[recipients]]" in message


def test_unreadable_or_invalid_file(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="cannot read the catalogue"):
        load_catalogue(tmp_path / "nope.toml")
    message = error(tmp_path, "[claims\n")
    assert "not valid TOML" in message
