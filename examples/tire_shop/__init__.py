"""Rengasverkkokauppa, the demo tire web shop: products, cart, checkout, order history.

Customers sign in through Avain (:mod:`examples.signin`). After checkout the order is recorded
in the customer's Avain profile, and the order offers to book the fitting at the partner
garage: a handoff through Avain (:mod:`examples.tire_shop.avain_api`).
Run: ``python -m examples.tire_shop``.
"""

from __future__ import annotations

import os
import sqlite3
import time
from typing import Any

from authlib.integrations.base_client import OAuthError
from flask import (
    Flask,
    Response,
    abort,
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
from joserfc.errors import JoseError

from examples import signin, site
from examples.tire_shop import avain_api
from examples.tire_shop.messages import MESSAGES

SCHEMA = (
    signin.SCHEMA
    + """
CREATE TABLE IF NOT EXISTS products (
    id INTEGER PRIMARY KEY, season TEXT NOT NULL, name TEXT NOT NULL, size TEXT NOT NULL,
    price_cents INTEGER NOT NULL, text_fi TEXT NOT NULL, text_en TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS orders (
    id INTEGER PRIMARY KEY, sub TEXT NOT NULL, created_at INTEGER NOT NULL,
    total_cents INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS order_lines (
    order_id INTEGER NOT NULL REFERENCES orders (id), product_id INTEGER NOT NULL,
    name TEXT NOT NULL, quantity INTEGER NOT NULL, price_cents INTEGER NOT NULL
);
-- when the order was recorded in the customer's Avain profile (POST /claims/tire_purchase)
CREATE TABLE IF NOT EXISTS avain_records (
    order_id INTEGER PRIMARY KEY REFERENCES orders (id), recorded_at INTEGER NOT NULL
);
INSERT OR IGNORE INTO products VALUES
 (1, 'winter', 'Revontuli Nasta', '205/55 R16', 12900,
  'Nastarengas pohjoisen jäisille teille.', 'Studded tire for icy northern roads.'),
 (2, 'winter', 'Lumikko Kitka', '205/55 R16', 11900,
  'Kitkarengas lumelle ja loskalle, hiljainen kaupungissa.',
  'Friction tire for snow and slush, quiet in town.'),
 (3, 'winter', 'Pakkanen Pro', '225/45 R17', 15900,
  'Nastarengas tehokkaampiin autoihin.', 'Studded tire for more powerful cars.'),
 (4, 'summer', 'Kesäpolku', '205/55 R16', 9900,
  'Kesärengas, joka pitää märällä tiellä.', 'Summer tire with a firm grip on wet roads.'),
 (5, 'summer', 'Sadekaari Sport', '225/45 R17', 12400,
  'Urheilullinen kesärengas, lyhyt jarrutusmatka.', 'Sporty summer tire, short braking.');
"""
)


def create_app() -> Flask:
    app = Flask(__name__, instance_path=site.instance_path())
    app.config["SESSION_COOKIE_NAME"] = "tire_shop_session"  # Avain and the garage share the host
    site.configure(
        app,
        client_id="tire-shop",
        site_url="http://localhost:5001",
        schema=SCHEMA,
        brand_colour="#1f4e79",
    )
    signin.init_app(app, scope="openid profile email tire_purchase:write")
    # where the partner garage is (its /handoff receives the handoff token)
    app.config["GARAGE_URL"] = os.environ.get("GARAGE_URL", "http://localhost:5002").rstrip("/")
    signin.flows(app)["fitting"] = _fitting_answer
    site.init_db(app)
    t = site.translator(MESSAGES)
    app.jinja_env.globals.update(t=t, euros=euros, order_number=avain_api.order_number)
    app.after_request(site.remember_language)

    @app.get("/")
    def products() -> str:
        rows = db().execute("SELECT * FROM products ORDER BY season DESC, id").fetchall()
        return render_template("products.html", products=rows)

    @app.post("/cart")
    def add_to_cart() -> ResponseReturnValue:
        product = _product(request.form.get("product", type=int))
        quantity = max(1, min(8, request.form.get("quantity", 4, type=int)))
        cart = session.get("cart", {})
        cart[str(product["id"])] = min(8, cart.get(str(product["id"]), 0) + quantity)
        session["cart"] = cart
        flash("added")
        return redirect(url_for("cart"))

    @app.get("/cart")
    def cart() -> str:
        lines, total = _cart_lines()
        return render_template("cart.html", lines=lines, total=total)

    @app.post("/cart/empty")
    def empty_cart() -> ResponseReturnValue:
        session.pop("cart", None)
        return redirect(url_for("cart"))

    @app.post("/checkout")
    def checkout() -> ResponseReturnValue:
        """No real payment in the demo: the order is stored for the signed-in customer."""
        if g.customer is None:
            return redirect(url_for("cart"))
        lines, total = _cart_lines()
        if not lines:
            return redirect(url_for("cart"))
        conn = db()
        order_id = conn.execute(
            "INSERT INTO orders (sub, created_at, total_cents) VALUES (?, ?, ?)",
            (g.customer["sub"], int(time.time()), total),
        ).lastrowid
        conn.executemany(
            "INSERT INTO order_lines VALUES (?, ?, ?, ?, ?)",
            [(order_id, p["id"], _label(p), qty, p["price_cents"]) for p, qty in lines],
        )
        conn.commit()
        session.pop("cart", None)
        flash("ordered")
        _record(order_id)  # the order stands whether or not Avain answers
        return redirect(url_for("orders"))

    @app.post("/orders/<int:order_id>/record")
    def record(order_id: int) -> ResponseReturnValue:
        """Try again to record the order in the customer's Avain profile."""
        _own_order(order_id)
        if _record(order_id):
            flash("recorded")
        return redirect(url_for("orders"))

    @app.post("/orders/<int:order_id>/fitting")
    def fitting(order_id: int) -> ResponseReturnValue:
        """Step A: ask the customer at Avain to hand this order over to the garage."""
        order, lines = _own_order(order_id)
        details = avain_api.fitting_details(
            avain_api.purchase(order, lines), current_app.config["GARAGE_URL"]
        )
        return signin.authorize_flow(
            "fitting",
            {"order_id": order_id},
            scope="openid",
            prompt="consent",
            ui_locales=site.language(),
            authorization_details=avain_api.dumps(details),
        )

    @app.get("/orders")
    def orders() -> str:
        found = []
        if g.customer is not None:
            for order in db().execute(
                "SELECT * FROM orders WHERE sub = ? ORDER BY id DESC", (g.customer["sub"],)
            ):
                lines = (
                    db()
                    .execute("SELECT * FROM order_lines WHERE order_id = ?", (order["id"],))
                    .fetchall()
                )
                recorded = (
                    db()
                    .execute("SELECT 1 FROM avain_records WHERE order_id = ?", (order["id"],))
                    .fetchone()
                )
                found.append((order, lines, recorded is not None))
        return render_template("orders.html", orders=found)

    return app


db = site.db


def euros(cents: int) -> str:
    text = f"{cents / 100:,.2f} €".replace(",", " ")
    return text.replace(".", ",") if site.language() == "fi" else text


def _label(product: sqlite3.Row) -> str:
    return f"{product['name']} {product['size']}"


def _product(product_id: int | None) -> sqlite3.Row:
    row = db().execute("SELECT * FROM products WHERE id = ?", (product_id,)).fetchone()
    if row is None:
        abort(404)
    return row


def _own_order(order_id: int) -> tuple[sqlite3.Row, list[sqlite3.Row]]:
    """The signed-in customer's order and its lines; 404 for anyone else's."""
    if g.customer is None:
        abort(403)
    order = (
        db()
        .execute("SELECT * FROM orders WHERE id = ? AND sub = ?", (order_id, g.customer["sub"]))
        .fetchone()
    )
    if order is None:
        abort(404)
    lines = db().execute("SELECT * FROM order_lines WHERE order_id = ?", (order_id,)).fetchall()
    return order, lines


def _record(order_id: int) -> bool:
    """Record the order at Avain; on failure say so (the orders page offers a retry)."""
    order, lines = _own_order(order_id)
    try:
        avain_api.record_purchase(avain_api.purchase(order, lines))
    except avain_api.RecordFailed as exc:
        current_app.logger.warning("recording order %s at Avain failed: %s", order_id, exc)
        flash("record_failed")
        return False
    db().execute("INSERT OR IGNORE INTO avain_records VALUES (?, ?)", (order_id, int(time.time())))
    db().commit()
    return True


def _fitting_answer(flow: dict[str, Any]) -> ResponseReturnValue:
    """Avain's answer to step A; then step B (the handoff token) and the form to the garage."""
    error = request.args.get("error")
    if error == "access_denied":  # the customer said no: nothing was shared
        flash("fitting_refused")
        return redirect(url_for("orders"))
    if error:
        return _exchange_error(error, request.args.get("error_description", ""))
    try:
        token = signin.avain().authorize_access_token()
    except OAuthError as exc:
        return _exchange_error(exc.error or "invalid_grant", exc.description or "")
    except (JoseError, ValueError) as exc:
        return _exchange_error("invalid_id_token", str(exc))
    if g.customer is None or token["userinfo"]["sub"] != g.customer["sub"]:
        return _exchange_error("other_customer", "")
    try:
        handoff = avain_api.handoff_token(token["access_token"])
    except OAuthError as exc:
        return _exchange_error(exc.error or "invalid_grant", exc.description or "")
    return Response(
        render_template(
            "handoff.html",
            # the garage shows its pages in the language the customer uses here
            action=f"{current_app.config['GARAGE_URL']}/handoff?lang={site.language()}",
            handoff_token=handoff["access_token"],
            order_id=flow.get("order_id"),
        ),
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


def _exchange_error(error: str, description: str) -> ResponseReturnValue:
    current_app.logger.warning("handoff to the garage failed: %s %s", error, description)
    html = render_template("handoff_error.html", error=error, description=description)
    return Response(html, status=403 if error == "other_customer" else 400)


def _cart_lines() -> tuple[list[tuple[sqlite3.Row, int]], int]:
    lines = []
    for product_id, quantity in session.get("cart", {}).items():
        row = db().execute("SELECT * FROM products WHERE id = ?", (product_id,)).fetchone()
        if row is not None:
            lines.append((row, int(quantity)))
    return lines, sum(p["price_cents"] * q for p, q in lines)
