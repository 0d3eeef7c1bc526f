"""Partner agreements in the catalogue: who may hand a customer over to whom, and their checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from consent.catalogue import CatalogueError, load_catalogue
from consent.model import Agreement
from tests.consent.test_catalogue import DEMO, MINIMAL, replaced, write

SHOP = """
[[recipients]]
id = "shop"
name = "Rengasverkkokauppa"
[recipients.texts.fi]
title = "Rengasverkkokauppa"
description = "Kauppa."
[recipients.texts.sv]
title = "Rengasverkkokauppa"
description = "Butik."
[recipients.texts.en]
title = "Rengasverkkokauppa"
description = "Shop."
"""

AGREEMENT = """
[[agreements]]
id = "fitting"
from = "shop"
to = "garage"
purpose = "booking"
details_types = ["tire_fitting", "tire_storage"]
"""


def with_agreement(agreement: str = AGREEMENT) -> str:
    text = replaced("[[purposes]]", SHOP + "\n[[purposes]]")
    return replaced("[[notices]]", agreement + "\n[[notices]]", text)


def error(tmp_path: Path, agreement: str) -> str:
    with pytest.raises(CatalogueError) as info:
        load_catalogue(write(tmp_path, with_agreement(agreement)))
    message = str(info.value)
    assert "[[agreements]]" in message
    return message


def test_demo_agreement_hands_the_shop_customer_to_the_garage() -> None:
    cat = load_catalogue(DEMO)
    fitting = Agreement(
        id="tire_fitting",
        from_id="tire-shop",
        to_id="garage",
        purpose_id="garage_booking",
        details_types=frozenset({"tire_fitting"}),
    )
    assert cat.agreements == {"tire_fitting": fitting}
    assert cat.agreement_between("tire-shop", "garage") == fitting
    assert cat.agreement_between("garage", "tire-shop") is None
    assert cat.agreement_for("tire-shop", frozenset({"tire_fitting"})) == fitting
    assert cat.agreement_for("garage", frozenset({"tire_fitting"})) is None
    assert cat.agreement_for("tire-shop", frozenset({"tire_fitting", "other"})) is None
    assert cat.agreement_for("tire-shop", frozenset()) is None
    assert cat.details_types() == ["tire_fitting"]


def test_agreements_are_optional_and_parsed(tmp_path: Path) -> None:
    assert load_catalogue(write(tmp_path, MINIMAL)).agreements == {}
    cat = load_catalogue(write(tmp_path, with_agreement()))
    assert cat.agreements["fitting"].details_types == {"tire_fitting", "tire_storage"}
    assert cat.details_types() == ["tire_fitting", "tire_storage"]


def test_agreements_do_not_change_purpose_hashes(tmp_path: Path) -> None:
    without = load_catalogue(write(tmp_path, replaced("[[purposes]]", SHOP + "\n[[purposes]]")))
    with_it = load_catalogue(write(tmp_path, with_agreement()))
    assert without.purposes == with_it.purposes


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ('from = "shop"', 'from = "nobody"', "'from' names 'nobody', which is not a declared"),
        ('to = "garage"', 'to = "nobody"', "'to' names 'nobody', which is not a declared"),
        (
            'from = "shop"\nto = "garage"',
            'from = "garage"\nto = "shop"',
            "purpose 'booking' does not share with 'shop'",
        ),
        ('from = "shop"', 'from = "garage"', "'from' and 'to' are the same client"),
        ('purpose = "booking"', 'purpose = "bookin"', "purpose 'bookin' is not declared"),
        ('from = "shop"\n', "", "'from' is missing"),
        ('purpose = "booking"', "purpose = 3", "'purpose' must be a non-empty string"),
        ('["tire_fitting", "tire_storage"]', "[]", "'details_types' must be a non-empty list"),
        ('["tire_fitting", "tire_storage"]', '[""]', "'details_types' must be a non-empty list"),
        ('["tire_fitting", "tire_storage"]', "[1]", "'details_types' must be a non-empty list"),
        ('["tire_fitting", "tire_storage"]', '"tire_fitting"', "must be a non-empty list"),
        ('details_types = ["tire_fitting", "tire_storage"]\n', "", "'details_types' is missing"),
        ('id = "fitting"\n', 'id = "fitting"\nfrm = "x"\n', "unknown key 'frm'"),
    ],
)
def test_agreement_errors(tmp_path: Path, old: str, new: str, problem: str) -> None:
    assert problem in error(tmp_path, AGREEMENT.replace(old, new, 1))


def test_duplicate_agreement_id(tmp_path: Path) -> None:
    assert "duplicate agreement id 'fitting'" in error(tmp_path, AGREEMENT + AGREEMENT)
