"""Real HTTP clients for the reliability tests: a customer's browser, a relying party, and a
bounded load of customers signing in, consenting, withdrawing and rotating refresh tokens.

Nothing here retries: a request that got no success response is *unacknowledged* (the server
may or may not have done it), and the bookkeeping says so, so that the checks afterwards can
require exactly what was acknowledged.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from tests.conftest import csrf_of, pkce_pair, query_of

TIMEOUT = 10.0  # seconds per request
PASSWORD = "reliability horse battery"


class Unacknowledged(Exception):
    """A request got no success response: it may or may not have taken effect."""


@dataclass(frozen=True)
class Call:
    what: str
    start: float  # time.time(), the server's clock too (same machine)
    end: float
    ok: bool
    detail: str  # the status code or the exception's class


class Journal:
    """Every request the clients made, from every thread."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls: list[Call] = []

    def add(self, call: Call) -> None:
        with self.lock:
            self.calls.append(call)

    def snapshot(self) -> list[Call]:
        with self.lock:
            return list(self.calls)

    def first_success_after(self, moment: float) -> float | None:
        """When the first request sent at or after ``moment`` succeeded."""
        ends = [c.end for c in self.snapshot() if c.ok and c.start >= moment]
        return min(ends) if ends else None

    def failures(self) -> list[Call]:
        return [c for c in self.snapshot() if not c.ok]


@dataclass(frozen=True)
class Rp:
    """A registered client, as its developer knows it."""

    client_id: str
    secret: str
    redirect_uri: str


@dataclass
class Attempt:
    """One consent event asked for over HTTP: the request's time window and its outcome."""

    type: str  # "given" or "withdrawn"
    start: float
    end: float = 0.0
    acked: bool = False


@dataclass
class Chain:
    """A relying party's refresh token chain, rotated under load."""

    refresh_token: str
    rotations: int = 0
    interrupted: str | None = None  # why the last rotation got no success response


@dataclass
class Customer:
    email: str
    attempts: list[Attempt] = field(default_factory=list)
    chain: Chain | None = None
    parked: list[str] = field(default_factory=list)  # refresh tokens left alone under load
    cycles_ok: int = 0
    cycles_failed: int = 0
    errors: list[BaseException] = field(default_factory=list)


class Http:
    """A requests.Session that never follows redirects and journals every request."""

    def __init__(self, base: str, journal: Journal) -> None:
        self.base = base
        self.journal = journal
        self.session = requests.Session()

    def __enter__(self) -> Http:
        return self

    def __exit__(self, *_: object) -> None:
        self.session.close()

    def call(
        self, what: str, method: str, url: str, expect: tuple[int, ...], **kwargs: Any
    ) -> requests.Response:
        start = time.time()
        try:
            with self.session.request(
                method, urljoin(self.base, url), allow_redirects=False, timeout=TIMEOUT, **kwargs
            ) as resp:
                resp.content  # noqa: B018 (read the body inside the with: the socket is freed)
        except requests.RequestException as exc:
            self.journal.add(Call(what, start, time.time(), False, type(exc).__name__))
            raise Unacknowledged(f"{what}: {type(exc).__name__}") from exc
        ok = resp.status_code in expect
        self.journal.add(Call(what, start, time.time(), ok, str(resp.status_code)))
        if not ok:
            raise Unacknowledged(f"{what}: HTTP {resp.status_code}")
        return resp

    # -- the relying party's back channel ------------------------------------------

    def exchange(self, rp: Rp, code: str, verifier: str) -> dict[str, Any]:
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": rp.redirect_uri,
            "code_verifier": verifier,
        }
        resp = self.call("token", "POST", "/token", (200,), data=data, auth=rp_auth(rp))
        body: dict[str, Any] = resp.json()
        return body

    def refresh(
        self, rp: Rp, refresh_token: str, expect: tuple[int, ...] = (200,)
    ) -> requests.Response:
        data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        return self.call("refresh", "POST", "/token", expect, data=data, auth=rp_auth(rp))


def rp_auth(rp: Rp) -> tuple[str, str]:
    return (rp.client_id, rp.secret)


class Browser(Http):
    """A customer's browser: cookies, CSRF tokens from the pages, redirects by hand."""

    def authorize(self, rp: Rp, customer: Customer, scope: str) -> tuple[str, str]:
        """Sign in and consent as needed until the client's callback; (code, verifier)."""
        verifier, challenge = pkce_pair()
        params = {
            "response_type": "code",
            "client_id": rp.client_id,
            "redirect_uri": rp.redirect_uri,
            "scope": scope,
            "state": "s",
            "nonce": "n",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        resp = self.call("authorize", "GET", "/authorize", (302,), params=params)
        for _ in range(8):
            location = resp.headers["Location"]
            path = urlsplit(urljoin(self.base, location)).path
            if location.startswith(rp.redirect_uri):
                query = query_of(location)
                if "code" not in query:
                    raise Unacknowledged(f"authorize: {query.get('error')}")
                return query["code"], verifier
            if path == "/login":
                resp = self.sign_in(customer, location)
            elif path == "/consent":
                page = self.call("consent page", "GET", location, (200,))
                data = {
                    "interaction": query_of(location)["interaction"],
                    "decision": "allow",
                    "scope_offline_access": "on",
                    "csrf_token": csrf_of(page.text),
                }
                resp = self.consent_event(customer, "given", "/consent", data, "/authorize")
            elif path == "/authorize":
                resp = self.call("authorize", "GET", location, (302,))
            else:
                raise AssertionError(f"unexpected step {location}")
        raise AssertionError("too many redirects")

    def sign_in(self, customer: Customer, location: str = "/login") -> requests.Response:
        page = self.call("login page", "GET", location, (200,))
        data = {
            "email": customer.email,
            "password": PASSWORD,
            "interaction": query_of(location).get("interaction", ""),
            "csrf_token": csrf_of(page.text),
        }
        return self.call("sign in", "POST", "/login", (302,), data=data)

    def withdraw(self, rp: Rp, customer: Customer) -> None:
        """Withdraw consent from the account page (one click, as a person would)."""
        page = self.call("account page", "GET", "/account/", (200,))
        data = {
            "recipient": rp.client_id,
            "purpose": f"signin:{rp.client_id}",
            "csrf_token": csrf_of(page.text),
        }
        self.consent_event(
            customer, "withdrawn", "/account/sharing/withdraw", data, "notice=withdrawn"
        )

    def consent_event(
        self, customer: Customer, kind: str, url: str, data: dict[str, str], success: str
    ) -> requests.Response:
        """POST a form that writes one consent event; acknowledged when it redirects onward."""
        attempt = Attempt(kind, time.time())
        customer.attempts.append(attempt)
        try:
            resp = self.call(kind, "POST", url, (302,), data=data)
        finally:
            attempt.end = time.time()
        if success not in resp.headers["Location"]:
            raise Unacknowledged(f"{kind}: redirected to {resp.headers['Location']}")
        attempt.acked = True
        return resp

    def history(self) -> list[dict[str, Any]]:
        """The customer's consent history as the account page exports it."""
        resp = self.call("export", "GET", "/account/sharing/export.json", (200,))
        records: list[dict[str, Any]] = resp.json()["records"]
        return records


def event_time(record: dict[str, Any]) -> float:
    return datetime.fromisoformat(record["eventTime"].replace("Z", "+00:00")).timestamp()


# -- the load -------------------------------------------------------------------------


@dataclass
class Load:
    """One thread per customer; each cycle is a new browser that signs in, consents to
    ``churn`` (a ledger event), gets tokens and refreshes them, withdraws (another event),
    and then the customer's ``keep`` chain is rotated once. Bounded in cycles and time."""

    base: str
    journal: Journal
    churn: Rp
    keep: Rp
    customers: list[Customer]
    max_cycles: int
    max_seconds: float
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        deadline = time.monotonic() + self.max_seconds
        for customer in self.customers:
            thread = threading.Thread(target=self._run, args=(customer, deadline), daemon=True)
            self.threads.append(thread)
            thread.start()

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=TIMEOUT * 3)
        assert not any(t.is_alive() for t in self.threads), "a client thread did not stop"
        for customer in self.customers:
            if customer.errors:
                raise customer.errors[0]

    def cycles_ok(self) -> int:
        return sum(c.cycles_ok for c in self.customers)

    def wait_cycles(self, total: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and any(t.is_alive() for t in self.threads):
            if self.cycles_ok() >= total:
                return True
            time.sleep(0.05)
        return self.cycles_ok() >= total

    def _run(self, customer: Customer, deadline: float) -> None:
        try:
            with Http(self.base, self.journal) as rp_http:
                for _ in range(self.max_cycles):
                    if self.stop.is_set() or time.monotonic() > deadline:
                        return
                    try:
                        self.cycle(customer)
                        customer.cycles_ok += 1
                    except Unacknowledged:
                        customer.cycles_failed += 1
                        self.stop.wait(0.05)
                    rotate(rp_http, self.keep, customer)
        except Exception as exc:  # a bug in the test or an impossible answer: re-raised later
            customer.errors.append(exc)

    def cycle(self, customer: Customer) -> None:
        with Browser(self.base, self.journal) as browser:
            code, verifier = browser.authorize(self.churn, customer, "openid email offline_access")
            tokens = browser.exchange(self.churn, code, verifier)
            browser.refresh(self.churn, tokens["refresh_token"])
            browser.withdraw(self.churn, customer)


def rotate(http: Http, rp: Rp, customer: Customer) -> None:
    """Rotate the customer's chain once; an interrupted chain is left as it is, to be judged."""
    chain = customer.chain
    if chain is None or chain.interrupted:
        return
    try:
        resp = http.refresh(rp, chain.refresh_token)
    except Unacknowledged as exc:
        chain.interrupted = str(exc)
        return
    chain.refresh_token = resp.json()["refresh_token"]
    chain.rotations += 1
