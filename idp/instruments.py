"""What Avain counts for its operators, in Prometheus' data model: the counters and the
histogram, the vocabularies of their labels, and one small function per thing counted.

The metric objects are made once per process, when this module is imported. Under
``idp serve`` with metrics on, ``PROMETHEUS_MULTIPROC_DIR`` is set before that
(:mod:`idp.serving`), so each worker keeps its counts in a file of its own that a scrape
adds up (:mod:`idp.metrics`); elsewhere (the development server, tests) they stay in the
process's memory. Label values come from the vocabularies below, the app's own URL map and
the grant types Avain registers, never from what a client sends, so the number of series
stays bounded. ``docs/metrics.md`` lists every metric with its meaning.
"""

from __future__ import annotations

from enum import StrEnum

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics

PREFIX = "avain"

# No ``*_created`` series: the multiprocess mode has none, and a scrape should read the same
# under `idp serve` and without it. (A process-wide switch of the library; Avain is its user.)
disable_created_metrics()  # type: ignore[no-untyped-call]

# In this process's memory: what a scrape shows when there is no multiprocess directory.
REGISTRY = CollectorRegistry(auto_describe=True)


class LoginMethod(StrEnum):
    PASSWORD = "password"  # noqa: S105 (a way to sign in: email and password at /login)
    PASSKEY = "passkey"  # a customer's passkey, alone or after the password
    ADMIN_PASSKEY = "admin_passkey"  # an admin's passkey at the console's sign-in


class LoginOutcome(StrEnum):
    SUCCESS = "success"  # the credential was accepted (a session, or the second step)
    FAILURE = "failure"  # wrong, unknown, blocked, or of a locked account
    THROTTLED = "throttled"  # refused by the attempt limit before any check


class DeliveryOutcome(StrEnum):
    DELIVERED = "delivered"  # the receiver took it
    FAILED = "failed"  # this attempt failed; the delivery is tried again later
    DROPPED = "dropped"  # failed for the last time (attempts used up, or not allowed)


UNMATCHED = "unmatched"  # the endpoint label of a request no route took (404, 405)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER = "other"

# Seconds. Discovery answers in under a millisecond, a password check takes 40 ms of
# Argon2id, a back-channel fan-out can wait on a partner: the buckets span all three.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUESTS = Counter(
    f"{PREFIX}_http_requests",
    "HTTP requests answered, by Flask endpoint, method and status code.",
    ["endpoint", "method", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    f"{PREFIX}_http_request_duration_seconds",
    "Time from receiving a request to having its response, by Flask endpoint.",
    ["endpoint"],
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
TOKENS = Counter(
    f"{PREFIX}_tokens_issued",
    "Successful token responses at /token, by grant type.",
    ["grant_type"],
    registry=REGISTRY,
)
LOGINS = Counter(
    f"{PREFIX}_logins",
    "Sign-in attempts, by method and outcome.",
    ["method", "outcome"],
    registry=REGISTRY,
)
DELIVERIES = Counter(
    f"{PREFIX}_outbox_delivery_attempts",
    "Outbox delivery attempts, by kind and outcome.",
    ["kind", "outcome"],
    registry=REGISTRY,
)

# The labelled children of the request metrics, by their label values: ``labels()`` takes
# a lock and checks its arguments, which on every request would cost more than the count.
_counted: dict[tuple[str, str, int], Counter] = {}
_timed: dict[str, Histogram] = {}


def request_answered(endpoint: str, method: str, status: int, seconds: float) -> None:
    """Count one request and its latency. ``endpoint`` is the URL rule's endpoint name (or
    :data:`UNMATCHED`), never the path, and ``status`` the app's own code."""
    key = (endpoint, method if method in METHODS else OTHER, status)
    counter = _counted.get(key)
    if counter is None:
        counter = _counted[key] = REQUESTS.labels(key[0], key[1], str(status))
    counter.inc()
    histogram = _timed.get(endpoint)
    if histogram is None:
        histogram = _timed[endpoint] = LATENCY.labels(endpoint)
    histogram.observe(seconds)


def token_issued(grant_type: str) -> None:
    """A token response went out; ``grant_type`` is one Avain registered."""
    TOKENS.labels(grant_type).inc()


def login(method: LoginMethod, outcome: LoginOutcome) -> None:
    LOGINS.labels(method.value, outcome.value).inc()


def delivery(kind: str, outcome: DeliveryOutcome) -> None:
    """One attempt of the outbox; ``kind`` is one of :mod:`idp.events.kinds`."""
    DELIVERIES.labels(kind, outcome.value).inc()
