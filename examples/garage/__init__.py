"""Korjaamo Virtanen, the demo partner garage: a booking calendar for tire fittings.

Customers sign in through Avain (:mod:`examples.signin`); after signing in at the tire shop
they are signed in here without a form (Avain's SSO session). The garage also keeps its own
customer register (seeded below), which later links loyal customers to their Avain identity.
Run: ``python -m examples.garage``.
"""

from __future__ import annotations

import sqlite3
import time
from datetime import date, timedelta

from flask import Flask, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from examples import signin, site
from examples.garage import signals
from examples.garage.messages import MESSAGES

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
-- The garage's own register, older than its Avain sign-in (not shown on the site yet).
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
    # -- handed-over data (../shared handoff protocol); helper D's handoff code fills it ----
    + """
CREATE TABLE IF NOT EXISTS handoffs (
    id INTEGER PRIMARY KEY, sub TEXT NOT NULL, order_json TEXT NOT NULL,
    claims_json TEXT NOT NULL, received_at INTEGER NOT NULL, withdrawn_at INTEGER
);
CREATE INDEX IF NOT EXISTS handoffs_sub ON handoffs (sub);
"""
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
    signin.init_app(app, scope="openid profile phone")
    site.init_db(app)
    app.jinja_env.globals.update(t=site.translator(MESSAGES), weekday=_weekday)
    app.after_request(site.remember_language)
    signals.init_app(app, forget=forget_handoffs)  # Shared Signals receiver (signals.py)

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
                    "SELECT * FROM bookings WHERE sub = ? ORDER BY day, slot", (g.customer["sub"],)
                )
                .fetchall()
            )
        return render_template("bookings.html", bookings=mine)

    return app


def now() -> int:
    return int(time.time())


# -- Shared Signals: forgetting handed-over data (the handoff protocol's last section) -------


def forget_handoffs(sub: str) -> int:
    """The customer withdrew consent (or deleted their account): empty the order and the
    claims handed over for ``sub`` and mark when; returns the rows emptied."""
    conn = site.db()
    count = conn.execute(
        "UPDATE handoffs SET order_json = '{}', claims_json = '{}', withdrawn_at = ?"
        " WHERE sub = ? AND withdrawn_at IS NULL",
        (now(), sub),
    ).rowcount
    conn.commit()
    return count


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
