"""What the disclosure log costs a release: userinfo and the code->token exchange, with and
without it (the ``disclosure_log`` setting, :mod:`idp.ledger.disclosures`).

The whole app runs in this process (``idp.create_app`` on a migrated database, Flask's test
client, no HTTP server): a customer with a name, phone and car consents to the garage's
``garage_booking`` purpose on the real consent screen and signs in once. Then:

* ``token``: the garage redeems an authorization code (client_secret_basic, PKCE) and gets
  an ID token with ``name`` and ``car_registration``: one disclosure row per exchange. Each
  code is fetched from /authorize (the SSO session answers without a form) outside the
  clock; only POST /token is measured.
* ``userinfo``: GET /userinfo with one access token, releasing name, phone and car.

Runs alternate between the log on and off in blocks of ``--block`` requests, so that the
machine's other work falls on both alike. Per request: wall-clock latency (median, p95),
CPU of this process (``time.process_time``: Flask, Authlib, signing and, on SQLite, the
database itself; PostgreSQL's server CPU is not in it) and the SQL statements sent (counted
at the engine, COMMIT included when it is one).

    .venv/bin/python -m bench.disclosures                            # both backends
    .venv/bin/python -m bench.disclosures --backend sqlite --requests 200

Results are printed and written to ``bench/results/disclosures-<date>.json``.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import hashlib
import json
import os
import platform
import re
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, func, select

from bench.ledger.backends import DEFAULT_PG, Backend
from bench.ledger.runs import ms, pct
from idp import create_app
from idp.db import new_session
from idp.migrate import upgrade
from idp.models import Disclosure, User

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "bench horse battery staple"  # noqa: S105  # the bench customer's own
CLAIMS = json.dumps({"id_token": {"name": None, "car_registration": None}})


@dataclasses.dataclass
class Garage:
    client_id: str
    secret: str
    redirect_uri: str


class Counter:
    """Statements the app's engine sends, and whether to count them now."""

    def __init__(self, app: Flask) -> None:
        self.n = 0
        self.on = False
        engine = app.extensions["avain.engine"]
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "commit", self._commit)

    def _statement(self, *_: Any) -> None:
        self.n += self.on

    def _commit(self, *_: Any) -> None:
        self.n += self.on


def _csrf(body: bytes) -> str:
    found = re.search(rb'name="csrf_token" value="([^"]+)"', body)
    if found is None:
        raise RuntimeError("no CSRF token on the page")
    return found.group(1).decode()


def _query(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _app(url: str, instance: Path) -> Flask:
    upgrade(url)
    app = create_app(
        {
            "database_url": url,
            "instance_path": str(instance),
            "secret_key": "bench-secret-key-" + "b" * 32,
            "issuer": "http://localhost",
        }
    )
    return app


def _customer_and_garage(app: Flask) -> tuple[str, Garage]:
    from idp.auth import accounts
    from idp.oauth.clients import ClientSpec, create
    from idp.outbound import policy_from

    with app.app_context(), new_session(app) as s:
        user = accounts.register(s, "aino@example.com", "Aino Virtanen", PASSWORD)
        user.email_verified = True
        user.phone_number, user.car_registration = "+358 40 123 4567", "ABC-123"
        spec = ClientSpec(
            client_id="garage",
            name="Korjaamo Virtanen",
            redirect_uris=["https://garage.example/cb"],
        )
        garage, secret = create(s, spec, policy_from(app.config["AVAIN"]))
        s.commit()
        if secret is None:
            raise RuntimeError("the garage should be a confidential client")
        return user.email, Garage(garage.client_id, secret, garage.redirect_uris[0])


def _authorize(client: FlaskClient, garage: Garage, scope: str) -> tuple[Any, str]:
    verifier, challenge = _pkce()
    params = {
        "response_type": "code",
        "client_id": garage.client_id,
        "redirect_uri": garage.redirect_uri,
        "scope": scope,
        "state": secrets.token_urlsafe(8),
        "nonce": secrets.token_urlsafe(8),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "claims": CLAIMS,
    }
    return client.get("/authorize", query_string=params), verifier


def _sign_in_and_consent(client: FlaskClient, email: str, garage: Garage) -> None:
    """The customer signs in and agrees to the garage's purpose on the consent screen."""
    resp, _ = _authorize(client, garage, "openid profile phone")
    interaction = _query(resp.headers["Location"])["interaction"]
    page = client.get("/login")
    resp = client.post(
        "/login",
        data={
            "email": email,
            "password": PASSWORD,
            "interaction": interaction,
            "csrf_token": _csrf(page.data),
        },
    )
    location = client.get(resp.headers["Location"]).headers["Location"]
    if not location.startswith("/consent"):
        raise RuntimeError(f"expected the consent screen, got {location}")
    page = client.get(location)
    client.post(
        "/consent",
        data={
            "interaction": _query(location)["interaction"],
            "decision": "allow",
            "agree:garage_booking": "on",
            "csrf_token": _csrf(page.data),
        },
    )


def _code(client: FlaskClient, garage: Garage) -> tuple[str, str]:
    resp, verifier = _authorize(client, garage, "openid profile phone")
    code = _query(resp.headers["Location"]).get("code")
    if code is None:
        raise RuntimeError(f"no code: {resp.headers['Location']}")
    return code, verifier


def _exchange(client: FlaskClient, garage: Garage, code: str, verifier: str) -> Any:
    return client.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": garage.redirect_uri,
            "code_verifier": verifier,
        },
        auth=(garage.client_id, garage.secret),
    )


@contextmanager
def _log(app: Flask, on: bool) -> Iterator[None]:
    settings = app.config["AVAIN"]
    app.config["AVAIN"] = dataclasses.replace(settings, disclosure_log=on)
    try:
        yield
    finally:
        app.config["AVAIN"] = settings


def _measure(
    app: Flask,
    counter: Counter,
    requests: int,
    block: int,
    prepare: Callable[[], Any],
    request: Callable[[Any], Any],
) -> dict[str, dict[str, Any]]:
    """``requests`` requests each way, alternating blocks of ``block``; ``prepare`` (not
    timed) makes each request's input."""
    runs: dict[bool, dict[str, list[float]]] = {
        on: {"wall": [], "cpu": [], "sql": []} for on in (True, False)
    }
    for i in range(2 * requests // block):
        on = i % 2 == 0
        with _log(app, on):
            for _ in range(block):
                given = prepare()
                counter.n, counter.on = 0, True
                c0, w0 = time.process_time(), time.perf_counter()
                resp = request(given)
                w1, c1 = time.perf_counter(), time.process_time()
                counter.on = False
                if resp.status_code != 200:
                    raise RuntimeError(f"{resp.status_code}: {resp.data[:300]!r}")
                runs[on]["wall"].append(w1 - w0)
                runs[on]["cpu"].append(c1 - c0)
                runs[on]["sql"].append(counter.n)
    return {"with": _summary(runs[True]), "without": _summary(runs[False])}


def _summary(run: dict[str, list[float]]) -> dict[str, Any]:
    return {
        "requests": len(run["wall"]),
        "wall_ms_median": ms(statistics.median(run["wall"])),
        "wall_ms_p95": ms(pct(run["wall"], 0.95)),
        "cpu_ms_mean": ms(statistics.fmean(run["cpu"])),
        "cpu_ms_median": ms(statistics.median(run["cpu"])),
        "sql_per_request": statistics.fmean(run["sql"]),
    }


def bench_backend(backend: Backend, args: argparse.Namespace) -> dict[str, Any]:
    url = backend.new_url("disclosures")
    try:
        app = _app(url, backend.tmp / f"instance-{backend.name}")
        email, garage = _customer_and_garage(app)
        client = app.test_client()
        _sign_in_and_consent(client, email, garage)
        counter = Counter(app)
        for _ in range(args.warmup):  # imports, caches, the first statement of each kind
            code, verifier = _code(client, garage)
            _exchange(client, garage, code, verifier)
        token = _exchange(client, garage, *_code(client, garage)).json
        bearer = {"Authorization": f"Bearer {token['access_token']}"}
        out = {
            "token": _measure(
                app,
                counter,
                args.requests,
                args.block,
                lambda: _code(client, garage),
                lambda given: _exchange(client, garage, *given),
            ),
            "userinfo": _measure(
                app,
                counter,
                args.requests,
                args.block,
                lambda: None,
                lambda _: client.get("/userinfo", headers=bearer),
            ),
        }
        with app.app_context(), new_session(app) as s:
            rows = s.scalar(select(func.count()).select_from(Disclosure))
            sample = s.scalars(select(Disclosure).order_by(Disclosure.id.desc()).limit(1)).one()
            user = s.scalars(select(User)).one()
            values = (user.name, user.phone_number, user.car_registration)
            leaked = [v for v in values if v and v in json.dumps([sample.claims, sample.grounds])]
        expected = args.requests * 2 + args.warmup + 1  # with: token + userinfo; warm-up: token
        out["rows"] = {"written": rows, "expected": expected, "values_in_rows": leaked}
        app.extensions["avain.engine"].dispose()
        return out
    finally:
        backend.drop(url)


def _print(name: str, result: dict[str, Any]) -> None:
    print(f"\n{name}")
    print(f"  {'':10} {'':8} {'median ms':>10} {'p95 ms':>8} {'CPU ms':>8} {'SQL/req':>8}")
    for what in ("token", "userinfo"):
        for side in ("without", "with"):
            r = result[what][side]
            print(
                f"  {what:10} {side:8} {r['wall_ms_median']:>10.3f} {r['wall_ms_p95']:>8.3f} "
                f"{r['cpu_ms_mean']:>8.3f} {r['sql_per_request']:>8.2f}"
            )
    rows = result["rows"]
    print(f"  disclosure rows: {rows['written']} (expected {rows['expected']})")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--requests", type=int, default=1000, help="per side and endpoint")
    parser.add_argument("--block", type=int, default=50, help="requests before switching")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("BENCH_PG_URL")
        or os.environ.get("IDP_TEST_DATABASE_URL")
        or DEFAULT_PG,
    )
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    if args.requests % args.block:
        parser.error("--requests must be a multiple of --block")
    names = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    results: dict[str, Any] = {
        "started": datetime.now(UTC).isoformat(),
        "python": platform.python_version(),
        "load_average": os.getloadavg(),
        "requests_per_side": args.requests,
        "block": args.block,
    }
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            backend = Backend(name, args.pg_url, Path(tmp))
            try:
                results[name] = bench_backend(backend, args)
            finally:
                backend.drop_all()
            _print(name, results[name])
    results["load_average_end"] = os.getloadavg()
    out = (
        args.out or ROOT / "bench" / "results" / f"disclosures-{datetime.now(UTC):%Y%m%d-%H%M}.json"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()
