"""Faults under load on a real `idp serve` and PostgreSQL: nothing acknowledged is lost, and the
server recovers by itself.

Each test starts `idp serve` with several workers, runs a bounded load of customers who sign
in, consent, get and refresh tokens and withdraw, injects one fault (a worker killed with
SIGKILL, or every database connection terminated), and then checks that

- every consent event whose request was acknowledged is in the ledger, and
  `idp ledger verify` passes once the server's own sequencers have drained the intake;
- every refresh token issued before the fault, and every one acknowledged during the load,
  works exactly once afterwards (the first use succeeds, the second is refused);
- requests succeed again with nothing restarted, and how long that took (recorded as a
  figure; the only bound asserted is a generous sanity limit).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from tests.reliability.client import (
    Attempt,
    Browser,
    Chain,
    Customer,
    Http,
    Journal,
    Load,
    Unacknowledged,
    event_time,
)
from tests.reliability.conftest import Avain
from tests.reliability.server import cut_database_connections, kill_worker, run_idp

# one worker runs these in turn under pytest-xdist (make test): each starts a 3-worker `idp serve`
pytestmark = [pytest.mark.postgres, pytest.mark.xdist_group("reliability")]

PARKED = 2  # refresh tokens per customer issued before the fault and left alone until after
MAX_CYCLES = 6  # per customer: 3 customers x 6 cycles x ~11 requests stays a few hundred
MAX_LOAD_SECONDS = 60.0
SANITY_LIMIT = 30.0  # seconds; recovery is measured, this only catches "never"
DRAIN_TIMEOUT = 30.0
WINDOW_SLACK = 0.002  # seconds around a request's window when matching its event's time


def _seed_tokens(avain: Avain, journal: Journal, customer: Customer) -> None:
    """Before the load: the customer's chain to rotate and PARKED tokens nobody touches."""
    url = avain.server.url
    with Browser(url, journal) as browser:
        refresh_tokens = []
        for _ in range(PARKED + 1):
            code, verifier = browser.authorize(avain.keep, customer, "openid offline_access")
            refresh_tokens.append(browser.exchange(avain.keep, code, verifier)["refresh_token"])
    customer.chain = Chain(refresh_tokens[0])
    customer.parked = refresh_tokens[1:]


def _use_twice(http: Http, avain: Avain, token: str) -> tuple[int, int]:
    first = http.refresh(avain.keep, token, expect=(200, 400, 401)).status_code
    second = http.refresh(avain.keep, token, expect=(200, 400, 401)).status_code
    return first, second


def _in(events: list[tuple[str, float]], attempt: Attempt) -> bool:
    """Whether one of ``events`` is of the attempt's type and was recorded during its request
    (the server's clock is the test's: the same machine)."""
    start, end = attempt.start - WINDOW_SLACK, attempt.end + WINDOW_SLACK
    return any(kind == attempt.type and start <= at <= end for kind, at in events)


def _drained_verify(avain: Avain) -> str:
    """`idp ledger verify`, once the workers' sequencers have moved every queued event."""
    deadline = time.monotonic() + DRAIN_TIMEOUT
    while True:
        result = run_idp(avain.env, "ledger", "verify")
        assert result.exit_code == 0, f"idp ledger verify failed:\n{result.output}"
        if "wait to be sequenced" not in result.output or time.monotonic() > deadline:
            return result.output
        time.sleep(0.5)


class Fault:
    """One injected fault: when it happened, and what was seen of it."""

    def __init__(self, at: float, **seen: object) -> None:
        self.at = at
        self.seen = seen

    def settle(self) -> None:
        """Wait for what the fault should set in motion by itself (nothing, by default)."""


class WorkerKill(Fault):
    def __init__(self, avain: Avain) -> None:
        self.server = avain.server
        self.before = set(self.server.worker_pids())
        victim, at = kill_worker(self.server)
        super().__init__(at, killed_worker=victim)

    def settle(self) -> None:
        """The master replaces the worker by itself."""
        respawn = self.server.wait_workers(self.before)
        self.seen["respawn_s"] = round(respawn, 3) if respawn is not None else "never"
        assert respawn is not None, "the server did not replace the killed worker"


class DatabaseCut(Fault):
    def __init__(self, avain: Avain) -> None:
        killed, at = cut_database_connections(avain.admin_url, avain.database_url)
        super().__init__(at, backends_terminated=killed)


FAULTS: dict[str, Callable[[Avain], Fault]] = {
    "worker_kill": WorkerKill,
    "database_cut": DatabaseCut,
}


class Figures:
    """What a run measured: recorded at once (JUnit XML, the terminal summary) and printed,
    so that a failing run still shows what it saw."""

    def __init__(self, fault: str, record_property: Callable[[str, object], None]) -> None:
        self.fault = fault
        self.record_property = record_property
        self.values: dict[str, object] = {}

    def add(self, **values: object) -> None:
        for name, value in values.items():
            self.values[name] = value
            self.record_property(f"reliability_{name}", value)

    def show(self) -> None:
        print(f"{self.fault}: " + ", ".join(f"{k}={v}" for k, v in self.values.items()))


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_nothing_acknowledged_is_lost_and_the_server_recovers(
    avain: Avain, fault: str, record_property: Callable[[str, object], None]
) -> None:
    started = time.monotonic()
    figures = Figures(fault, record_property)
    journal = Journal()
    customers = [Customer(email) for email in avain.emails]
    for customer in customers:
        _seed_tokens(avain, journal, customer)
    try:
        load = _load_with_fault(avain, journal, customers, fault, figures)
        _check_recovered(avain, load, customers[0])
        _check_refresh_tokens(avain, journal, customers, figures)
        _check_ledger(avain, journal, customers, figures)
    finally:
        figures.add(requests=len(journal.snapshot()), seconds=round(time.monotonic() - started, 1))
        figures.show()


def _load_with_fault(
    avain: Avain, journal: Journal, customers: list[Customer], fault: str, figures: Figures
) -> Load:
    """Start the load, inject the fault once it runs, let it go on for a while, stop it."""
    load = Load(
        avain.server.url, journal, avain.churn, avain.keep, customers, MAX_CYCLES, MAX_LOAD_SECONDS
    )
    load.start()
    try:
        assert load.wait_cycles(len(customers), 30.0), "the load never got going"
        before = load.cycles_ok()
        injected = FAULTS[fault](avain)
        done = time.time()
        moment = injected.at
        try:
            injected.settle()
        finally:
            figures.add(**injected.seen)
        load.wait_cycles(before + 2 * len(customers), 20.0)
    finally:
        load.finish()
    first_ok = journal.first_success_after(moment)
    failures = journal.failures()
    figures.add(
        recovery_s=round(first_ok - moment, 3) if first_ok else "never",
        failed_under_load=len(failures),
        failures=",".join(sorted({f"{c.what}:{c.detail}" for c in failures})) or "-",
        failed_sent_after_fault=sum(c.start >= done for c in failures),
        last_failure_s=round(max((c.end for c in failures), default=moment) - moment, 3),
        cycles_ok_after_fault=load.cycles_ok() - before,
        cycles_failed=sum(c.cycles_failed for c in customers),
    )
    assert first_ok is not None, "no request succeeded after the fault"
    # a request the fault cut off is refused as "try again" (503), never as a server fault
    assert not [c for c in failures if c.detail == "500"], figures.values["failures"]
    assert first_ok - moment < SANITY_LIMIT
    assert load.cycles_ok() > before, "no whole flow succeeded under load after the fault"
    return load


def _check_recovered(avain: Avain, load: Load, customer: Customer) -> None:
    """Nothing was restarted: the same master, all its workers, and a whole flow works."""
    assert avain.server.proc.poll() is None, "the server's main process died"
    assert len(avain.server.worker_pids()) == avain.server.workers
    try:
        load.cycle(customer)
    except Unacknowledged as exc:
        pytest.fail(f"a whole flow failed after the load: {exc}")


def _check_refresh_tokens(
    avain: Avain, journal: Journal, customers: list[Customer], figures: Figures
) -> None:
    """Every refresh token issued before the fault (parked) and the last one acknowledged in
    each chain work exactly once: the first use succeeds, the second is refused."""
    with Http(avain.server.url, journal) as rp:
        parked = [_use_twice(rp, avain, token) for c in customers for token in c.parked]
        chains = [c.chain for c in customers if c.chain is not None]
        steady = [_use_twice(rp, avain, ch.refresh_token) for ch in chains if not ch.interrupted]
        # a rotation that got no success response may or may not have consumed its token
        interrupted = [
            (ch.interrupted, rp.refresh(avain.keep, ch.refresh_token, (200, 400, 401)).status_code)
            for ch in chains
            if ch.interrupted
        ]
    figures.add(
        parked_tokens=len(parked),
        chains_steady=len(steady),
        chains_interrupted=";".join(f"{why} then {status}" for why, status in interrupted) or "-",
    )
    assert parked == [(200, 400)] * len(parked), parked
    assert steady == [(200, 400)] * len(steady), steady


def _check_ledger(
    avain: Avain, journal: Journal, customers: list[Customer], figures: Figures
) -> None:
    """`idp ledger verify` passes, and each customer's exported history holds an event of
    the right type inside the time window of every acknowledged consent request."""
    verified = _drained_verify(avain)
    figures.add(ledger=verified.splitlines()[0])
    assert "wait to be sequenced" not in verified, f"the sequencers did not drain:\n{verified}"
    lost, unclaimed = [], 0
    purpose = f"signin:{avain.churn.client_id}"
    for customer in customers:
        with Browser(avain.server.url, journal) as browser:
            browser.sign_in(customer)
            events = [
                (r["eventType"], event_time(r))
                for r in browser.history()
                if r["purposeId"] == purpose
            ]
        lost += [
            f"{customer.email} {a.type} at {a.start:.3f}..{a.end:.3f}"
            for a in customer.attempts
            if a.acked and not _in(events, a)
        ]
        unclaimed += sum(not any(_in([e], a) for a in customer.attempts) for e in events)
    attempts = [a for c in customers for a in c.attempts]
    figures.add(
        consent_events_acked=sum(a.acked for a in attempts),
        consent_events_sent=len(attempts),
        events_without_request=unclaimed,
    )
    assert not lost, f"acknowledged consent events missing from the ledger: {lost}"
