"""A customer's rate limit on consent events: withdrawing is never refused (GDPR Art. 7(3))."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from consent.model import Actor, ConsentEvent


@dataclass(frozen=True)
class RateLimit:
    """At most ``events`` events by the customer themselves (actor ``customer``) within any
    ``window``, counted by the events' times, unless all that is recorded narrows what
    recipients may have (:data:`consent.projection.NARROWING`): a withdrawal is never
    refused."""

    events: int
    window: timedelta = timedelta(minutes=1)


class TooFast(Exception):
    """Recording these events would exceed the customer's :class:`RateLimit`; none was
    recorded. ``retry_after``: seconds until they fit."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many consent events; they fit in {retry_after} s")
        self.retry_after = retry_after


def check_rate(events: list[ConsentEvent], adding: int, limit: RateLimit, now: datetime) -> None:
    """Raise :class:`TooFast` when ``adding`` more of the customer's own events, on top of
    their ``events``, would exceed ``limit`` at ``now``."""
    recent = sorted(
        e.at for e in events if e.actor is Actor.CUSTOMER and now - limit.window < e.at <= now
    )
    over = len(recent) + adding - limit.events
    if over > 0:
        # the ``over`` oldest must leave the window first; more than the limit never fits
        wait = recent[over - 1] + limit.window - now if over <= len(recent) else limit.window
        raise TooFast(max(1, math.ceil(wait.total_seconds())))
