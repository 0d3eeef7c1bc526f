"""Each full verification of a Merkle log leaves a row (:class:`idp.models.VerifyRun`):
the console's overview shows when the consent ledger and the audit log were last checked
and what was found, without rerunning a check that reads the whole log.

Operators run ``idp ledger verify`` on a schedule (cron, a Kubernetes CronJob); the row
says when it last ran, so a schedule that stopped shows as an old date.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.db import utcnow
from idp.models import VerifyRun

CONSENT = "consent"
AUDIT = "audit"

R = TypeVar("R")


def run(
    session: Session,
    log: str,
    by: str,
    check: Callable[[], R],
    outcome: Callable[[R], tuple[int, Sequence[tuple[int, str]]]],
    clock: Callable[[], datetime] = utcnow,
) -> R:
    """Run ``check`` and record it; ``outcome`` reads (entries checked, problems as
    (entry, what)) off its report. The row is added to ``session``; the caller commits."""
    started = clock()
    report = check()
    entries, problems = outcome(report)
    first = min(problems, default=None)
    session.add(
        VerifyRun(
            log=log,
            started_at=started,
            finished_at=clock(),
            ok=not problems,
            entries=entries,
            first_bad=first[0] if first else None,
            problem=first[1][:2000] if first else None,
            by=by[:400],
        )
    )
    return report


def latest(session: Session, log: str) -> VerifyRun | None:
    return session.scalars(
        select(VerifyRun)
        .where(VerifyRun.log == log)
        .order_by(VerifyRun.finished_at.desc(), VerifyRun.id.desc())
        .limit(1)
    ).first()
