"""Avain as a Shared Signals Framework 1.0 transmitter: the configuration document and the
stream management API a partner uses (:mod:`idp.ssf.views`, over :mod:`idp.ssf.streams`).
What is sent, and how, is in :mod:`idp.events.signals` and :mod:`idp.events.sets`.

Authorisation: a Bearer access token the partner got with the client credentials grant
(RFC 6749 §4.4) at Avain's token endpoint, any scope. It names the client and nothing
else; a client sees and changes only its own stream. A customer's access token is refused
(403): streams are the partner's, not the customer's. Each client has one stream
(creating a second is 409, SSF 1.0 §8.1.1.1).
"""
