"""Calls Avain makes to URIs that clients registered, guarded against request forgery."""

from idp.outbound.addresses import refusal
from idp.outbound.policy import (
    AllowEntry,
    OutboundPolicy,
    Refused,
    Target,
    check_target,
    policy_from,
    resolve,
    system_resolver,
)
from idp.outbound.transport import post, post_form

__all__ = [
    "AllowEntry",
    "OutboundPolicy",
    "Refused",
    "Target",
    "check_target",
    "policy_from",
    "post",
    "post_form",
    "refusal",
    "resolve",
    "system_resolver",
]
