"""Public endpoints of the consent log: newest checkpoint, proofs, and the log's key.

Anyone holding a receipt can check it against these (see docs/consent-receipts.md). The
pages for people: the privacy notice, and the one shown when a customer records consent
events faster than allowed.
"""

from __future__ import annotations

import base64
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _, lazy_gettext

from consent import ledger, receipts
from idp.db import get_session
from idp.errors import IdpError, Invalid, NotFound
from idp.i18n import current_language

bp = Blueprint("ledger", __name__, url_prefix="/consent-log")
pages = Blueprint("privacy", __name__)


@pages.app_errorhandler(ledger.TooFast)
def too_fast(exc: ledger.TooFast) -> ResponseReturnValue:
    """RFC 6585 §4: the customer recorded consent events faster than their limit allows
    (``consent_events_per_minute``), wherever they did; nothing of the request was recorded."""
    html = render_template(
        "errors/error.html",
        status=429,
        error="too_many_requests",
        description=_(
            "You have changed your consent choices many times in a short while. "
            "Nothing was changed this time: wait a minute and try again."
        ),
    )
    resp = Response(html, status=429, mimetype="text/html")
    resp.headers["Retry-After"] = str(exc.retry_after)
    resp.headers["Cache-Control"] = "no-store"
    return resp


@pages.route("/privacy/<version>")
def privacy_notice(version: str) -> ResponseReturnValue:
    """The privacy notice the consent screen links to, in the page's language."""
    catalogue = current_app.extensions["avain.catalogue"]
    files = catalogue.notice_files.get(version[:40])
    if not files:
        raise NotFound(_("There is no privacy notice of that version."))
    lang = current_language()
    path = files.get(lang) or files.get("en") or next(iter(files.values()))
    blocks = _blocks(path.read_text(encoding="utf-8"))
    return render_template("privacy.html", version=version, blocks=blocks)


def _blocks(text: str) -> list[tuple[str, Any]]:
    """The little Markdown the notices use: headings, lists, paragraphs, **bold** dropped."""
    out: list[tuple[str, Any]] = []
    for line in text.replace("**", "").splitlines():
        stripped = line.strip()
        if not stripped:
            out.append(("end", None))
        elif stripped.startswith("#"):
            level = min(len(stripped) - len(stripped.lstrip("#")), 3)
            out.append((f"h{level}", stripped.lstrip("# ").strip()))
        elif stripped.startswith("- "):
            if out and out[-1][0] == "ul":
                out[-1][1].append(stripped[2:])
            else:
                out.append(("ul", [stripped[2:]]))
        elif out and out[-1][0] == "ul":
            out[-1][1][-1] += " " + stripped
        elif out and out[-1][0] == "p":
            out[-1] = ("p", out[-1][1] + " " + stripped)
        else:
            out.append(("p", stripped))
    return [block for block in out if block[0] != "end"]


def _b64(values: list[bytes]) -> list[str]:
    return [base64.b64encode(v).decode() for v in values]


def _int_arg(name: str) -> int:
    raw = request.args.get(name, "")
    if not raw.isdigit() or len(raw) > 12:
        raise Invalid(lazy_gettext("%(name)s must be a positive whole number.", name=name))
    return int(raw)


_UNPREPARED = lazy_gettext("The consent log is not set up yet; try again shortly.")


def _cached(resp: Response) -> Response:
    resp.headers["Cache-Control"] = "public, max-age=10"
    return resp


@bp.route("/checkpoint")
def checkpoint() -> ResponseReturnValue:
    """The newest signed checkpoint, as a C2SP signed note (text/plain). A new log's, of
    size 0, is signed at start-up (:mod:`idp.startup`): this only reads."""
    row = ledger.latest_checkpoint(get_session())
    if row is None:
        raise IdpError(_UNPREPARED, "temporarily_unavailable", 503)
    return _cached(Response(row.note, mimetype="text/plain"))


def _proof(make: Any, db: Any, first: int, second: int) -> list[bytes]:
    """A proof from the stored subtree hashes; one that is missing (a log sequenced by a
    version before them, see ``idp ledger verify``) is the operator's to mend, not a 500."""
    try:
        proof: list[bytes] = make(db, first, second)
    except ValueError:
        current_app.logger.exception("consent log proof (%s, %s) could not be built", first, second)
        raise IdpError(
            lazy_gettext("The proof cannot be built now; the operator has been told."),
            "temporarily_unavailable",
            503,
        ) from None
    return proof


@bp.route("/proof/inclusion")
def inclusion() -> ResponseReturnValue:
    """RFC 9162 §2.1.3: the path from entry ``seq`` (1-based) to the root at ``size``."""
    seq, size = _int_arg("seq"), _int_arg("size")
    db = get_session()
    newest = ledger.latest_checkpoint(db)
    if newest is None or size > newest.size or size < 1 or not 1 <= seq <= size:
        raise NotFound(
            lazy_gettext("No such entry or tree size; the newest checkpoint says what exists.")
        )
    proof = _proof(ledger.inclusion, db, seq, size)
    return _cached(
        jsonify(
            {"seq": seq, "leaf_index": seq - 1, "tree_size": size, "inclusion_path": _b64(proof)}
        )
    )


@bp.route("/proof/consistency")
def consistency() -> ResponseReturnValue:
    """RFC 9162 §2.1.4: the proof that the tree at ``old`` is a prefix of the one at ``new``."""
    old, new = _int_arg("old"), _int_arg("new")
    db = get_session()
    newest = ledger.latest_checkpoint(db)
    if newest is None or not 1 <= old <= new <= newest.size:
        raise NotFound(lazy_gettext("No such tree sizes; the newest checkpoint says what exists."))
    return _cached(
        jsonify(
            {
                "first": old,
                "second": new,
                "consistency_path": _b64(_proof(ledger.consistency, db, old, new)),
            }
        )
    )


@bp.route("/key")
def key() -> ResponseReturnValue:
    """The Ed25519 key that signs checkpoints and consent receipts, as a JWK set; made at
    start-up with the first checkpoint, so this only reads."""
    try:
        jwk = receipts.receipt_public_jwk(get_session())
    except LookupError:
        raise IdpError(_UNPREPARED, "temporarily_unavailable", 503) from None
    resp = jsonify({"keys": [jwk], "origin": current_app.extensions["avain.ledger_keys"].origin})
    resp.headers["Cache-Control"] = "public, max-age=3600"
    return resp
