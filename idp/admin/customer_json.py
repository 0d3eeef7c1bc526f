"""A customer as the admin API gives it: the same facts the console's pages show, as JSON."""

from __future__ import annotations

from typing import Any

from idp.admin.customer_search import Page
from idp.admin.customers import SignIn, session_handle
from idp.admin.timeline import Step, Timeline
from idp.db import aware
from idp.models import User


def summary(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        "email_verified": user.email_verified,
        "name": user.name,
        "phone_number": user.phone_number,
        "sign_in_locked": user.locked_at is not None,
    }


def page(found: Page) -> dict[str, Any]:
    return {
        "kind": str(found.query.kind),
        "customers": [summary(u) for u in found.customers],
        "next": found.next,
    }


def _step(step: Step) -> dict[str, Any]:
    details = step.details
    return {
        "seq": step.seq,
        "at": step.at.isoformat(),
        "type": step.type,
        "actor": step.actor,
        "admin": details.get("admin"),
        "channel": step.channel,
        "claims": step.claims,
        "notice_version": details.get("notice_version"),
        "notice_hash": details.get("notice_hash"),
        "language": details.get("language"),
        "offered": [{"claim": c, "default": d} for c, d in step.offered],
        "reason": details.get("reason"),
        "proven": step.proven,
        "problem": step.problem,
    }


def detail(user: User, sign_in: SignIn, timeline: Timeline) -> dict[str, Any]:
    """Profile, sign-in, and the consent timeline with each event's proof."""
    checkpoint = timeline.checkpoint
    return {
        **summary(user),
        "given_name": user.given_name,
        "family_name": user.family_name,
        "phone_number_verified": user.phone_number_verified,
        "locale": user.locale,
        "created_at": aware(user.created_at).isoformat(),
        "sign_in_locked_at": aware(user.locked_at).isoformat() if user.locked_at else None,
        "has_password": user.password_hash is not None,
        "sessions": [
            {
                "handle": session_handle(s),
                "started": aware(s.auth_time).isoformat(),
                "last_seen": aware(s.last_seen_at).isoformat(),
                "amr": s.amr,
                "user_agent": s.user_agent,
            }
            for s in sign_in.sessions
        ],
        "passkeys": [
            {
                "id": p.id,
                "name": p.name,
                "created": aware(p.created_at).isoformat(),
                "blocked": p.blocked_at is not None,
            }
            for p in sign_in.passkeys
        ],
        "checkpoint": (
            {"size": checkpoint.size, "root": checkpoint.root} if checkpoint is not None else None
        ),
        "consents": [
            {
                "recipient": line.recipient_id,
                "recipient_name": line.recipient_name,
                "purpose": line.purpose_id,
                "purpose_title": line.purpose_title,
                "status": str(line.state.status) if line.state else "none",
                "claims": sorted(line.state.claims) if line.state else [],
                "objected": bool(line.state and line.state.objected),
                "restricted": bool(line.state and line.state.restricted),
                "events": [_step(s) for s in line.steps],
            }
            for line in timeline.lines
        ],
    }
