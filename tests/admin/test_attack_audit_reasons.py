"""Attack: audit reasons as a way to flood or forge the audit log's lines.

Every reason an admin types goes into the tamper-evident log as one line of at most 500
characters, whether the action asks for one or not: ending a customer's sessions (no
reason asked) took the form's raw value, up to the whole 256 KiB body, newlines included.
"""

from __future__ import annotations

from sqlalchemy import select

from idp.db import new_session
from idp.models import AdminAuditEntry
from tests.admin.console import meta_csrf, session_for

FORGED = "x" * 600 + "\nseq=1 admin=owner@example.com action=erased\r\n" + "y" * 200_000


def _reasons(app, action: str) -> list[str | None]:
    with app.app_context():
        s = new_session(app)
        found = [
            e.reason
            for e in s.scalars(select(AdminAuditEntry).where(AdminAuditEntry.action == action))
        ]
        s.close()
    return found


def test_every_console_reason_is_one_bounded_line(app, client, make_user):
    user = make_user()
    session_for(app, client, "owner")
    csrf = meta_csrf(client, f"/admin/customers/{user.id}")
    base = f"/admin/customers/{user.id}"
    for path in ("/sessions/end-all", "/lock", "/unlock", "/export"):
        resp = client.post(base + path, data={"reason": FORGED, "csrf_token": csrf})
        assert resp.status_code in (200, 302), (path, resp.status_code)
    for action in ("sessions_ended", "sign_in_locked", "sign_in_unlocked", "exported"):
        (reason,) = _reasons(app, action)
        assert reason is not None and len(reason) <= 500, action
        assert "\n" not in reason and "\r" not in reason, action
    # no reason given where none is asked: none recorded, not an empty line
    client.post(base + "/sessions/end-all", data={"csrf_token": csrf})
    assert _reasons(app, "sessions_ended")[-1] is None
