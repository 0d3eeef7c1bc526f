"""``/metrics``: Prometheus' text format (0.0.4) for operators, never for the public.

Off unless ``metrics_token`` is set: then the route does not exist (a 404 like any unknown
path) and no request is timed. On, a scrape must present that token as a Bearer credential
(RFC 6750 §2.1); without it, or with another, the answer is 401 with ``WWW-Authenticate``
(RFC 6750 §3). A token rather than an allow-list of addresses: behind a load balancer or
reverse proxy every request arrives from the proxy's address, the client address a proxy
forwards is only as true as the proxy in front is the only way in, and in a container
network a scraper's address changes with each deployment. A token holds wherever Prometheus
runs, Prometheus sends it natively (``authorization`` in a scrape config), and an operator
can rotate it. Keeping /metrics off the internet at the proxy is still good practice.

A scrape shows the counters of :mod:`idp.instruments`, added up over every worker
when ``PROMETHEUS_MULTIPROC_DIR`` is set (:mod:`idp.serving`), else this process's; and
gauges read from the database at scrape time, each one statement over a table or an index
that holds only the backlog: the consent intake's queue, the age of its oldest event (how
far the sequencer is behind) and the outbox's pending deliveries per kind. These are the
same for every instance on one database. ``docs/metrics.md`` lists every metric.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
from collections.abc import Iterable, Iterator
from datetime import datetime
from time import perf_counter
from typing import TYPE_CHECKING

from flask import Blueprint, Flask, Response, request
from prometheus_client import CollectorRegistry, generate_latest, multiprocess
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from consent import ledger
from idp import context, instruments
from idp.db import aware, get_session, utcnow
from idp.events import outbox
from idp.events.kinds import BACKCHANNEL_LOGOUT, MAIL, SECURITY_EVENT
from idp.instruments import PREFIX, UNMATCHED, DeliveryOutcome, LoginMethod, LoginOutcome
from idp.oauth.clients import GRANT_TYPES

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)

bp = Blueprint("metrics", __name__)

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"  # prometheus_client reads this name
ANSWERED = "avain.metrics.answered"  # environ: (endpoint, method, status), set after_request


def init_app(app: Flask) -> None:
    """With a token: the route, and every request counted and timed. Call it before other
    ``after_request`` hooks are registered: Flask runs them last to first, so the status
    recorded here is the one that leaves."""
    if not app.config["AVAIN"].metrics_token:
        return
    app.register_blueprint(bp)
    app.after_request(_answered)
    app.wsgi_app = _timed(app.wsgi_app)  # type: ignore[method-assign, assignment]
    _start_at_zero()


def _start_at_zero() -> None:
    """Every series whose labels are known beforehand is shown from the start, at 0: a
    series that appears only with its first event hides that event from ``rate()``."""
    for method in LoginMethod:
        for outcome in LoginOutcome:
            if (method, outcome) != (LoginMethod.PASSKEY, LoginOutcome.THROTTLED):  # no limit
                instruments.LOGINS.labels(method.value, outcome.value)
    for kind in (BACKCHANNEL_LOGOUT, MAIL, SECURITY_EVENT):
        for delivered in DeliveryOutcome:
            instruments.DELIVERIES.labels(kind, delivered.value)
    for grant_type in GRANT_TYPES:
        instruments.TOKENS.labels(grant_type)


def _answered(response: Response) -> Response:
    """What the request was, for :func:`_timed` (Flask empties the request out of the
    environ when it is done): the endpoint of the URL rule it matched, never its path."""
    req = request._get_current_object()  # type: ignore[attr-defined]
    rule = req.url_rule
    req.environ[ANSWERED] = (
        rule.endpoint if rule is not None else UNMATCHED,
        req.method,
        response.status_code,
    )
    return response


def _timed(inner: WSGIApplication) -> WSGIApplication:
    """From the request's arrival to its response (the body included unless it streams),
    around everything the app does, labelled by what :func:`_answered` saw."""

    def timed(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        started = perf_counter()
        try:
            return inner(environ, start_response)
        finally:
            # no response left the app only if an exception escaped it (the server's 500)
            endpoint, method, status = environ.get(ANSWERED) or (
                UNMATCHED,
                environ.get("REQUEST_METHOD", ""),
                500,
            )
            instruments.request_answered(endpoint, method, status, perf_counter() - started)

    return timed


@bp.route("/metrics")
def scrape() -> Response:
    token = context.settings().metrics_token
    presented = _bearer(request.headers.get("Authorization", ""))
    if presented is None or not _same(presented, token):
        return _challenge(invalid=presented is not None)
    resp = Response(exposition(get_session(), utcnow()), content_type=CONTENT_TYPE_PLAIN_0_0_4)
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _bearer(header: str) -> str | None:
    """RFC 6750 §2.1: ``Bearer`` (any case) and the credential; None if there is none."""
    scheme, _, credential = header.partition(" ")
    credential = credential.strip()
    return credential if scheme.lower() == "bearer" and credential else None


def _same(presented: str, token: str) -> bool:
    """Compared in constant time, as digests: neither content nor length shows in timing."""
    return hmac.compare_digest(
        hashlib.sha256(presented.encode()).digest(), hashlib.sha256(token.encode()).digest()
    )


def _challenge(*, invalid: bool) -> Response:
    """RFC 6750 §3: no credential gets the bare challenge, a wrong one ``invalid_token``."""
    error = ', error="invalid_token"' if invalid else ""
    resp = Response(
        "Scraping /metrics needs the Bearer token set in IDP_METRICS_TOKEN.\n",
        status=401,
        mimetype="text/plain",
    )
    resp.headers["WWW-Authenticate"] = f'Bearer realm="avain-metrics"{error}'
    resp.headers["Cache-Control"] = "no-store"
    return resp


# -- the exposition ----------------------------------------------------------------------


class _Families:
    """A collector that yields metric families made beforehand."""

    def __init__(self, families: Iterable[Metric]) -> None:
        self.families = list(families)

    def collect(self) -> Iterator[Metric]:
        return iter(self.families)


def exposition(session: Session, now: datetime) -> bytes:
    """Every metric in the text format: the counts of all workers (or of this process), then
    the backlogs as the database has them now."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get(MULTIPROCESS_DIR):
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(_Families(instruments.REGISTRY.collect()))
    registry.register(_Families(backlog_gauges(session, now)))
    return generate_latest(registry)


def backlog_gauges(session: Session, now: datetime) -> list[Metric]:
    """The consent intake and the outbox as they stand; if the database cannot say, only
    ``avain_metrics_database_up`` 0 (the counters above are still worth a scrape)."""
    up = GaugeMetricFamily(
        f"{PREFIX}_metrics_database_up",
        "1 when this scrape read the backlog gauges from the database, 0 when it could not.",
    )
    try:
        intake = ledger.backlog(session)
        pending = outbox.pending(session)
    except SQLAlchemyError as exc:
        session.rollback()
        log.warning("metrics: the backlogs could not be read (%s)", type(exc).__name__)
        up.add_metric([], 0)
        return [up]
    up.add_metric([], 1)
    lag = (now - aware(intake.oldest)).total_seconds() if intake.oldest else 0.0
    deliveries = GaugeMetricFamily(
        f"{PREFIX}_outbox_pending",
        "Deliveries neither made nor given up, by kind.",
        labels=["kind"],
    )
    for kind, count in sorted(pending.items()):
        deliveries.add_metric([kind], count)
    return [
        up,
        GaugeMetricFamily(
            f"{PREFIX}_consent_intake_queued",
            "Consent events accepted and waiting for the sequencer to put them in the log.",
            value=intake.queued,
        ),
        GaugeMetricFamily(
            f"{PREFIX}_consent_sequencer_lag_seconds",
            "Age of the oldest consent event waiting for the sequencer; 0 when none waits.",
            value=max(lag, 0.0),
        ),
        deliveries,
    ]
