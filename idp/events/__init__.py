"""The transactional outbox: deliveries queued with the change that caused them and sent
after the commit. Services queue ``Delivery`` rows of a kind named in :mod:`idp.events.kinds`;
:mod:`idp.events.outbox` sends back-channel logouts and runs the app's other senders."""

from idp.events.kinds import BACKCHANNEL_LOGOUT, MAIL

__all__ = ["BACKCHANNEL_LOGOUT", "MAIL"]
