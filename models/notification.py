"""In-app notifications: one row per user, shown on the home page until read."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, ForeignKey, Index, String, Text, insert
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backoffice.extensions import db

from .clock import utcnow


class Notification(db.Model):
    """A message for one user (e.g. "la filiale a mis en ligne le flash"), with a link to act on it."""
    __table_args__ = (Index("ix_notification_user_unread", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))          # "flash-sent", "review-answered", ...
    text: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    read_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    user = relationship("User")

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


def notify(session, user_ids, kind: str, text: str, link: str | None = None) -> int:
    """Add the same notification for each user id (one INSERT); returns how many were added."""
    now = utcnow()
    rows = [{"user_id": uid, "kind": kind, "text": text, "link": link, "created_at": now}
            for uid in sorted(set(user_ids))]
    if rows:
        session.execute(insert(Notification), rows)
    return len(rows)
