"""``python -O`` removes ``assert`` statements, so none may guard input or state in idp/:
a check that disappears turns into a 500 (or worse, into no check) in production."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MODULES = sorted(
    p for p in (ROOT / "idp").rglob("*.py") if "migrations" not in p.relative_to(ROOT).parts
)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_assert_statements(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    lines = [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Assert)]
    assert not lines, f"{path.relative_to(ROOT)}: assert on lines {lines}"


def test_signed_in_page_without_a_session_signs_in_again(client, make_user, monkeypatch):
    from tests.conftest import login

    login(client, make_user().email)
    monkeypatch.setattr("idp.account.views.current_sso", lambda: None)
    resp = client.get("/account/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_checkpoint_that_cannot_be_read_back_is_503(client, monkeypatch):
    monkeypatch.setattr("consent.ledger.latest_checkpoint", lambda session: None)
    resp = client.get("/consent-log/checkpoint")
    assert resp.status_code == 503 and resp.json["error"] == "temporarily_unavailable"
