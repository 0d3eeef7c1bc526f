"""Outgoing mail: SMTP when configured, otherwise a file in the outbox folder and the log."""

from __future__ import annotations

import logging
import smtplib
import time
from email.message import EmailMessage
from pathlib import Path

from idp.config import Settings

log = logging.getLogger(__name__)


def send_mail(settings: Settings, to: str, subject: str, body: str, html: str) -> None:
    """``body`` (plain text) and ``html`` as multipart/alternative: a client that shows
    HTML shows the themed one, any other the text."""
    msg = EmailMessage()
    msg["From"] = settings.mail_from
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content(body)
    msg.add_alternative(html, subtype="html")
    if settings.smtp_host:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_username:
                smtp.login(settings.smtp_username, settings.smtp_password)
            smtp.send_message(msg)
        log.info("mail %r sent to %s via %s", subject, to, settings.smtp_host)
        return
    outbox = Path(settings.instance_path) / "outbox"
    outbox.mkdir(parents=True, exist_ok=True)
    path = outbox / f"{time.time_ns()}.eml"
    path.write_bytes(bytes(msg))
    if settings.issuer.startswith("https://"):
        # a real deployment without SMTP: the mail may hold a reset link, which is a
        # credential, so it stays in the file and out of the log
        log.warning("mail to %s written to %s (no SMTP configured)", to, path)
    else:
        log.warning(
            "mail to %s written to %s (no SMTP configured):\n%s\n%s", to, path, subject, body
        )
