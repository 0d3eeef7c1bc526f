"""Throttle counters whose window has ended are deleted by the workers' periodic job
(:func:`idp.auth.throttle.sweep_ended`); counters still counting are kept."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, insert, select

from idp.auth import throttle
from idp.db import utcnow
from idp.models import ThrottleCounter


def _keys(db) -> set[str]:  # type: ignore[no-untyped-def]
    db.rollback()
    return set(db.scalars(select(ThrottleCounter.key)))


def test_ended_windows_are_purged_and_live_ones_kept(app, db) -> None:
    window = app.config["AVAIN"].login_throttle_window
    now = utcnow()
    rows = [
        {"key": f"ended-{i}", "count": 3, "window_start": now - timedelta(seconds=window + 1)}
        for i in range(throttle.PURGE_BATCH + 5)  # more than one batch
    ]
    rows.append({"key": "cleared", "count": 0, "window_start": throttle.ENDED})
    rows.append({"key": "live", "count": 2, "window_start": now - timedelta(seconds=window - 60)})
    db.execute(insert(ThrottleCounter), rows)
    db.commit()

    assert throttle.sweep_ended(app) == throttle.PURGE_BATCH + 6
    assert _keys(db) == {"live"}
    assert throttle.sweep_ended(app) == 0


def test_a_real_sign_in_leaves_counters_the_sweep_takes_once_they_end(
    app, db, client, make_user
) -> None:
    from tests.conftest import PASSWORD, login

    user = make_user()
    login(client, user.email, PASSWORD)
    assert db.scalar(select(func.count()).select_from(ThrottleCounter)) == 2  # IP, account
    # the account's was cleared by the right password: gone now; the IP's window runs
    assert throttle.sweep_ended(app) == 1
    assert len(_keys(db)) == 1
    window = app.config["AVAIN"].login_throttle_window
    with app.app_context():
        later = utcnow() + timedelta(seconds=window + 1)
        assert throttle.purge_ended(db, window, later) == 1
    db.commit()
    assert _keys(db) == set()
