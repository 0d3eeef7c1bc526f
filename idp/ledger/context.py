"""The running app's consent ledger: its catalogue, keys and customers' rate limit.

Views and the protocol's claim release reach the ledger through :func:`consent_context`, so
the services in :mod:`idp.ledger.consents` stay free of Flask globals.
"""

from __future__ import annotations

from flask import current_app

from consent.ledger import RateLimit
from idp import context
from idp.ledger.consents import Context


def consent_context() -> Context:
    """The catalogue, ledger keys and customers' rate limit of the running app."""
    return Context(
        current_app.extensions["avain.catalogue"],
        current_app.extensions["avain.ledger_keys"],
        RateLimit(context.settings().consent_events_per_minute),
        issuer=context.settings().issuer,
    )
