"""A real SMTP server (aiosmtpd) on 127.0.0.1 for the campaign emails, and the app pointed at it."""
from __future__ import annotations

import email
import email.policy
import socket
import threading

import pytest


class Inbox:
    """Messages received by the local SMTP server, as parsed ``email.message.EmailMessage``s."""

    def __init__(self):
        self.messages = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.messages.append((tuple(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def to(self, address):
        """Messages whose envelope includes ``address``."""
        return [m for rcpts, m in self.messages if address in rcpts]

    def recipients(self):
        return sorted(r for rcpts, _ in self.messages for r in rcpts)

    def clear(self):
        self.messages.clear()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp(app):
    """Start aiosmtpd on a free port and send the app's mail there for the duration of the test."""
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    saved = {k: app.config.get(k) for k in ("MAIL_BACKEND", "MAIL_SERVER", "MAIL_PORT", "MAIL_USE_TLS")}
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port,
                      MAIL_USE_TLS=False)
    yield inbox
    app.config.update(saved)
    controller.stop()
