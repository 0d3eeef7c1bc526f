"""A complaint's opening races the shop's requests: once the opening has committed, nothing
leaves under the paused purpose, however the shop races it (on PostgreSQL with real
concurrency, repeated to catch a race; on SQLite the single writer serialises them).

While the opening runs, the shop rotates its refresh tokens in loops, redeems a code it got
just before, and signs the customer in again and again (authorize, token, userinfo). After
the opening's commit has returned: every token the shop ever got for the customer before or
during it is dead (the grants were revoked as on a withdrawal), and every userinfo request
sent after it, under whatever token, carries no marketing claim.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from flask import Flask

from tests.admin.complaints_flow import (
    SCOPE,
    fresh_tokens,
    marketing_customer,
    open_by_service,
    shop_client,
)
from tests.admin.console import invite
from tests.conftest import authorize_params, exchange, login, query_of
from tests.oauth.test_revocation_race import Redeemer, Refresher, _assert_nothing_works, rounds

__all__ = ["rounds"]  # the fixture, by name

MAX_SIGN_INS = 300  # a loop that never sees the opening stops here, and the test fails


@dataclass
class SignInLoop:
    """The shop signing the customer in again and again: authorize, token, userinfo."""

    app: Flask
    rp: Any
    secret: str
    email: str
    stop: threading.Event = field(default_factory=threading.Event)
    started: threading.Event = field(default_factory=threading.Event)
    # (when the userinfo request was sent, its status, whether it carried the first name)
    seen: list[tuple[float, int, bool]] = field(default_factory=list)
    issued: list[dict[str, Any]] = field(default_factory=list)

    def run(self) -> None:
        http = self.app.test_client()
        login(http, self.email)
        for _ in range(MAX_SIGN_INS):
            if self.stop.is_set():
                return
            params, verifier = authorize_params(self.rp, scope=SCOPE)
            location = http.get("/authorize", query_string=params).headers["Location"]
            code = query_of(location).get("code")
            assert code, location
            body = exchange(http, self.rp, self.secret, code, verifier).json or {}
            if "access_token" not in body:
                continue  # its grant was revoked between the code and the token: fine
            self.issued.append(body)
            sent = time.monotonic()
            resp = http.get(
                "/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"}
            )
            self.seen.append((sent, resp.status_code, "given_name" in (resp.json or {})))
            self.started.set()


def test_nothing_leaves_under_marketing_once_the_opening_has_committed(
    app, make_user, make_client, rounds
):
    shop = shop_client(make_client)
    admin_id, _ = invite(app, "privacy")
    for _ in range(rounds):
        browser = app.test_client()
        user, rp, secret = marketing_customer(browser, make_user, make_client, shop=shop)
        initial = [fresh_tokens(browser, rp, secret) for _ in range(2)]
        params, verifier = authorize_params(rp, scope=SCOPE)
        code = query_of(browser.get("/authorize", query_string=params).headers["Location"])["code"]

        refreshers = [Refresher(app, rp.client_id, secret, t["refresh_token"]) for t in initial]
        redeemer = Redeemer(app, rp.client_id, secret, rp.redirect_uris[0], code, verifier)
        signing_in = SignInLoop(app, rp, secret, user.email)
        threads = [threading.Thread(target=x.run) for x in (*refreshers, redeemer, signing_in)]
        for thread in threads:
            thread.start()
        for waiter in (*(r.started for r in refreshers), signing_in.started):
            assert waiter.wait(20)
        redeemer.go.set()
        open_by_service(app, admin_id, user.id, "race")  # returns once committed
        committed = time.monotonic()
        while not any(sent > committed for sent, _, _ in signing_in.seen):
            assert signing_in.started.is_set() and len(signing_in.seen) < MAX_SIGN_INS
            time.sleep(0.01)
        signing_in.stop.set()
        for thread in threads:
            thread.join(60)
            assert not thread.is_alive()

        after = [(status, named) for sent, status, named in signing_in.seen if sent > committed]
        assert after and not any(named for _, named in after), after
        assert all(status == 200 for status, _ in after)  # new sign-ins work, without it
        for refresher in refreshers:
            assert refresher.refused is not None and refresher.refused["error"] == "invalid_grant"
        got = list(initial) + [t for r in refreshers for t in r.issued]
        assert redeemer.result is not None
        if redeemer.result["status"] == 200:  # redeemed before the opening committed
            got.append(redeemer.result)
        else:
            assert redeemer.result["error"] == "invalid_grant"
        _assert_nothing_works(app, rp, secret, got)
        # the shop's tokens issued before the commit (its sign-in loop's included) are dead
        before = [
            t
            for t, (sent, _, _) in zip(signing_in.issued, signing_in.seen, strict=True)
            if sent < committed
        ]
        for body in before:
            resp = browser.get(
                "/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"}
            )
            assert resp.status_code == 401 or "given_name" not in (resp.json or {})
