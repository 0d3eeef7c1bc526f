"""Korjaamo Virtanen, the demo partner garage: a booking calendar for tire fittings.

Customers sign in through Avain (:mod:`examples.signin`); after signing in at the tire shop
they are signed in here without a form (Avain's SSO session). A customer handed over by the
shop arrives at ``POST /handoff`` (:mod:`examples.garage.handoff`) and finds the booking form
filled in. The garage also keeps its own customer register (seeded below) and links a
returning customer to their Avain identity when they confirm it
(:mod:`examples.garage.register`). Run: ``python -m examples.garage``.
"""

from __future__ import annotations

import sqlite3
import time
from datetime import date, timedelta
from typing import Any

from flask import (
    Flask,
    Response,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue

from examples import signin, site
from examples.garage import handoff, register, signals
from examples.garage.handoff import forget_handoffs
from examples.garage.messages import MESSAGES

__all__ = ["create_app", "forget_handoffs"]

SLOTS = ("08:00", "09:00", "10:00", "11:00", "13:00", "14:00", "15:00")
DAYS_AHEAD = 5  # working days shown in the calendar, starting tomorrow

SCHEMA = (
    signin.SCHEMA
    + """
CREATE TABLE IF NOT EXISTS bookings (
    id INTEGER PRIMARY KEY, sub TEXT NOT NULL, name TEXT, phone TEXT,
    day TEXT NOT NULL, slot TEXT NOT NULL, created_at INTEGER NOT NULL,
    UNIQUE (day, slot)
);
-- What a booking made from a handoff adds: the car and the tires bought at the shop.
CREATE TABLE IF NOT EXISTS booking_extras (
    booking_id INTEGER PRIMARY KEY REFERENCES bookings (id) ON DELETE CASCADE,
    handoff_id INTEGER REFERENCES handoffs (id), car_registration TEXT, tires TEXT
);
-- The garage's own register, older than its Avain sign-in.
CREATE TABLE IF NOT EXISTS customers (
    number TEXT PRIMARY KEY, name TEXT NOT NULL, phone TEXT NOT NULL, email TEXT,
    car_registration TEXT, stored_tires TEXT
);
INSERT OR IGNORE INTO customers VALUES
 ('KV-1001', 'Demo Asiakas', '+358 40 123 4567', 'demo@avain.example', 'ABC-123',
  'Lumikko Kitka 205/55 R16, 4 kpl, hylly B4'),
 ('KV-1002', 'Matti Mäkinen', '+358 50 765 4321', NULL, 'XYZ-789',
  'Kesäpolku 205/55 R16, 4 kpl, hylly A2'),
 ('KV-1003', 'Liisa Korhonen', '+358 44 222 3344', 'liisa.korhonen@example.fi', 'KLM-456',
  NULL);
"""
    + handoff.SCHEMA
    + register.SCHEMA
)


def create_app() -> Flask:
    app = Flask(__name__, instance_path=site.instance_path())
    app.config["SESSION_COOKIE_NAME"] = "garage_session"  # Avain and the shop share the host
    site.configure(
        app,
        client_id="garage",
        site_url="http://localhost:5002",
        schema=SCHEMA,
        brand_colour="#8a3b12",
    )
    signin.init_app(app, scope="openid profile phone email")
    site.init_db(app)
    app.jinja_env.globals.update(t=site.translator(MESSAGES), weekday=_weekday)
    app.after_request(site.remember_language)
    signals.init_app(app, forget=forget_handoffs)  # Shared Signals receiver (signals.py)
    app.before_request(_customer_context)
    app.extensions["avain.wrong_customer"] = _wrong_customer

    @app.post("/handoff")
    def receive_handoff() -> ResponseReturnValue:
        """Step C: a customer handed over by the tire shop. Check and redeem the token, keep
        the order and what /userinfo says, then sign the customer in here and require the
        subject /userinfo named."""
        try:
            handoff_id, sub = handoff.receive(request.form.get("handoff_token", ""))
        except handoff.InvalidHandoff as exc:
            current_app.logger.info("handoff refused: %s", exc)
            html = render_template("handoff_refused.html", reason=exc.reason)
            return Response(html, status=400, headers={"Cache-Control": "no-store"})
        session["handoff"] = handoff_id  # until the customer books with it
        session["handoff_brought"] = handoff_id  # kept, to say so if consent ends
        signin.expect_sub(sub)
        return signin.sign_in(url_for("fitting"))

    signin.csrf.exempt(receive_handoff)

    @app.get("/fitting")
    def fitting() -> ResponseReturnValue:
        """The booking form, filled in with what the shop handed over."""
        received = _session_handoff()
        if g.customer is None or received is None:
            return redirect(url_for("calendar"))
        return render_template("fitting.html", handoff=received, free=_free_slots())

    @app.post("/fitting")
    def book_fitting() -> ResponseReturnValue:
        received = _session_handoff()
        if g.customer is None or received is None or received["withdrawn_at"]:
            return redirect(url_for("calendar"))
        day, _, slot = request.form.get("when", "").partition(" ")
        if (day, slot) not in _free_slots():
            flash("slot_taken")
            return redirect(url_for("fitting"))
        name = request.form.get("name", "").strip()[:200] or g.customer["name"]
        phone = request.form.get("phone", "").strip()[:40] or g.customer["phone"]
        plate = request.form.get("car_registration", "").strip().upper()[:10] or None
        conn = site.db()
        try:
            booking_id = conn.execute(
                "INSERT INTO bookings (sub, name, phone, day, slot, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (g.customer["sub"], name, phone, day, slot, now()),
            ).lastrowid
        except sqlite3.IntegrityError:
            flash("slot_taken")
            return redirect(url_for("fitting"))
        conn.execute(
            "INSERT INTO booking_extras VALUES (?, ?, ?, ?)",
            (booking_id, received["id"], plate, _tires_text(received["order"])),
        )
        conn.commit()
        session.pop("handoff", None)
        flash("booked")
        return redirect(url_for("bookings"))

    @app.post("/link")
    def link() -> ResponseReturnValue:
        """The customer confirmed "Are you our customer KV-1001?"."""
        if g.customer is not None and register.link(
            g.customer["sub"], request.form.get("customer_number", ""), _profile()
        ):
            flash("linked")
        return redirect(_back())

    @app.post("/link/dismiss")
    def dismiss_link() -> ResponseReturnValue:
        session["link_dismissed"] = True
        return redirect(_back())

    @app.get("/")
    def calendar() -> str:
        taken = {(b["day"], b["slot"]): b for b in site.db().execute("SELECT * FROM bookings")}
        return render_template("calendar.html", days=working_days(), slots=SLOTS, taken=taken)

    @app.post("/book")
    def book() -> ResponseReturnValue:
        if g.customer is None:
            return redirect(url_for("calendar"))
        day, slot = request.form.get("day", ""), request.form.get("slot", "")
        if day not in {d.isoformat() for d in working_days()} or slot not in SLOTS:
            flash("slot_unknown")
            return redirect(url_for("calendar"))
        conn = site.db()
        try:
            conn.execute(
                "INSERT INTO bookings (sub, name, phone, day, slot, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (g.customer["sub"], g.customer["name"], g.customer["phone"], day, slot, now()),
            )
            conn.commit()
        except sqlite3.IntegrityError:
            flash("slot_taken")
            return redirect(url_for("calendar"))
        flash("booked")
        return redirect(url_for("bookings"))

    @app.get("/bookings")
    def bookings() -> str:
        mine = []
        if g.customer is not None:
            mine = (
                site.db()
                .execute(
                    "SELECT b.*, e.car_registration, e.tires FROM bookings b"
                    " LEFT JOIN booking_extras e ON e.booking_id = b.id"
                    " WHERE b.sub = ? ORDER BY day, slot",
                    (g.customer["sub"],),
                )
                .fetchall()
            )
        return render_template("bookings.html", bookings=mine)

    return app


def _back() -> str:
    """Where a form's ``next`` asks to go: a path of this site only."""
    path = request.form.get("next") or ""
    return path if path.startswith("/") and not path.startswith("//") else url_for("calendar")


def _profile() -> dict[str, Any]:
    """The signed-in customer's profile from Avain (phone from the session row as well)."""
    profile = signin.profile()
    if g.customer is not None and not profile.get("phone_number"):
        profile["phone_number"] = g.customer["phone"]
    return profile


def _customer_context() -> None:
    """g.linked (the register entry of a linked customer), g.link_offer (an entry to ask
    about), g.withdrawn (the handed-over data was deleted on withdrawal of consent: of the
    signed-in customer, or, when the withdrawal also signed the customer out here, of the
    handoff this browser brought)."""
    g.linked = g.link_offer = None
    g.withdrawn = False
    received = _session_handoff()
    if g.customer is not None:
        g.linked = register.linked(g.customer["sub"])
        if g.linked is None and not session.get("link_dismissed"):
            g.link_offer = register.candidate(g.customer["sub"], _profile())
        received = received or handoff.latest_of(g.customer["sub"])
    else:
        received = received or handoff.find(session.get("handoff_brought"))
    g.withdrawn = bool(received and received["withdrawn_at"])
    # a handoff this browser brought and has not booked with yet
    g.pending_handoff = bool(
        g.customer is not None
        and session.get("handoff")
        and _session_handoff() is not None
        and not g.withdrawn
        and request.endpoint != "fitting"
    )


def _session_handoff() -> dict[str, Any] | None:
    """The handoff this browser brought, if it is the signed-in customer's (or nobody is
    signed in yet)."""
    received = handoff.find(session.get("handoff"))
    if received is None:
        return None
    if g.customer is not None and received["sub"] != g.customer["sub"]:
        return None
    return received


def _wrong_customer() -> ResponseReturnValue:
    """The ID token names another customer than the handoff: refuse, keep nothing."""
    handoff_id = session.pop("handoff", None)
    if handoff_id is not None:
        handoff.discard(handoff_id)
    html = render_template("handoff_refused.html", reason="handoff_other_customer")
    return Response(html, status=403, headers={"Cache-Control": "no-store"})


def _free_slots() -> list[tuple[str, str]]:
    taken = {(b["day"], b["slot"]) for b in site.db().execute("SELECT day, slot FROM bookings")}
    return [
        (d.isoformat(), slot)
        for d in working_days()
        for slot in SLOTS
        if (d.isoformat(), slot) not in taken
    ]


def _tires_text(order: dict[str, Any]) -> str | None:
    items = order.get("items") or []
    text = ", ".join(f"{i.get('quantity')} × {i.get('name')}" for i in items if isinstance(i, dict))
    if not text:
        return None
    return f"{text} ({order['number']})" if order.get("number") else text


def now() -> int:
    return int(time.time())


def working_days(today: date | None = None) -> list[date]:
    """The next DAYS_AHEAD days from Monday to Friday, starting tomorrow."""
    day, days = today or date.today(), []
    while len(days) < DAYS_AHEAD:
        day += timedelta(days=1)
        if day.weekday() < 5:
            days.append(day)
    return days


def _weekday(day: str | date) -> str:
    parsed = date.fromisoformat(day) if isinstance(day, str) else day
    names = {"fi": "ma ti ke to pe la su", "en": "Mon Tue Wed Thu Fri Sat Sun"}[site.language()]
    return f"{names.split()[parsed.weekday()]} {parsed.day}.{parsed.month}."
