"""What the outbox delivers (``Delivery.kind``): the services that queue deliveries and the
senders that make them share these names."""

from __future__ import annotations

BACKCHANNEL_LOGOUT = "backchannel_logout"  # a logout token POSTed to a client (idp.sso)
MAIL = "mail"  # customer mail, written and sent by idp.auth.mailer
# a Security Event Token pushed to a Shared Signals stream (idp.events.sets): kept in
# ``ssf_events``, not in ``deliveries``, and counted under this kind in the metrics
SECURITY_EVENT = "security_event"

# set in ``Session.info`` by whatever queues Security Event Tokens (:mod:`idp.events.signals`):
# the outbox pushes them after that session's commit
SIGNALS_QUEUED = "avain.signals_queued"
