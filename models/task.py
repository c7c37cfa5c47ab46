"""A background task the user waits for (a send, a PDF): one row keyed by its job id.

The page polls the row for progress (microblog's pattern); the job updates it.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backoffice.extensions import db

from .clock import utcnow

QUEUED, RUNNING, FINISHED, FAILED = "queued", "running", "finished", "failed"


class BackgroundTask(db.Model):
    id: Mapped[str] = mapped_column(String(120), primary_key=True)  # the deterministic RQ job id
    kind: Mapped[str] = mapped_column(String(40), index=True)        # "send", "send-report-pdf", ...
    description: Mapped[str | None] = mapped_column(String(255))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    concession_id: Mapped[int | None] = mapped_column(ForeignKey("concession.id", ondelete="CASCADE"),
                                                      index=True)
    status: Mapped[str] = mapped_column(String(10), default=QUEUED)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str | None] = mapped_column(Text)
    result_path: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    user = relationship("User")

    @classmethod
    def in_concessions(cls, concession_ids):
        return cls.concession_id.in_(concession_ids)

    @property
    def percent(self) -> int:
        return int(100 * self.progress / self.total) if self.total else (100 if self.status == FINISHED else 0)
