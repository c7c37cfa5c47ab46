"""Sending emails: French templates with a plain-text part and an HTML part, over flask-mailman.

flask-mailman reads its settings once, in ``init_app``. The connection is built here from the
app config at send time instead, so that ``MAIL_BACKEND`` / ``MAIL_SERVER`` / ``MAIL_PORT``
changed after start-up (tests pointing at a local SMTP server, an instance reconfigured by
environment) are honoured. The embedded default backend is "console": the mail is printed.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, render_template
from flask_babel import force_locale
from flask_mailman import EmailMultiAlternatives

from .extensions import mail


@dataclass(frozen=True)
class RenderedMail:
    """One rendered email, ready to send."""
    to: tuple[str, ...]
    subject: str
    text: str
    html: str | None = None


def render_mail(template: str, to, subject: str, locale: str = "fr", **context) -> RenderedMail:
    """Render ``templates/<template>.txt`` (and ``.html`` if it exists) in ``locale``."""
    recipients = (to,) if isinstance(to, str) else tuple(to)
    with force_locale(locale):
        text = render_template(f"{template}.txt", **context)
        try:
            html = render_template(f"{template}.html", **context)
        except Exception as exc:  # noqa: BLE001 - only a missing HTML part is tolerated
            from jinja2 import TemplateNotFound

            if not isinstance(exc, TemplateNotFound):
                raise
            html = None
        subject = str(subject)
    return RenderedMail(to=recipients, subject=subject, text=text, html=html)


def connection():
    """A mail connection configured from the current app config (read now, not at start-up)."""
    config = current_app.config
    backend = config.get("MAIL_BACKEND") or "console"
    if backend == "smtp":
        return mail.get_connection(
            backend="smtp",
            host=config.get("MAIL_SERVER", "localhost"),
            port=int(config.get("MAIL_PORT", 25)),
            username=config.get("MAIL_USERNAME") or "",
            password=config.get("MAIL_PASSWORD") or "",
            use_tls=bool(config.get("MAIL_USE_TLS")),
            use_ssl=bool(config.get("MAIL_USE_SSL")),
            timeout=config.get("MAIL_TIMEOUT") or 30,
        )
    return mail.get_connection(backend=backend)


def send(messages) -> int:
    """Send rendered mails over one connection; returns how many were sent."""
    messages = [m for m in messages if m.to]
    if not messages:
        return 0
    sender = current_app.config.get("MAIL_DEFAULT_SENDER")
    with connection() as conn:
        emails = []
        for m in messages:
            email = EmailMultiAlternatives(m.subject, m.text, sender, list(m.to), connection=conn)
            if m.html:
                email.attach_alternative(m.html, "text/html")
            emails.append(email)
        return conn.send_messages(emails) or 0
