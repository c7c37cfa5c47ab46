"""The send (envoi) and its report (bilan d'envoi), §6.5.

A send is one ``SendRun`` and one ``SendMedium`` per active medium (unique per run and medium: the
database refuses a second one, which with the deterministic job id makes retries idempotent).
Each medium's job records one ``SendOutcome`` per decided vehicle × publication list (outcome and
every reason) and publishes one ``PublishedFeed`` (the file or POST that reached the portal, with
its checksum). The shrink guard holds a medium whose feed would lose more than half of its
listings (or become empty) until an admin confirms.

The rules (progress, shrink guard, report phrases) are plain functions at the bottom of this
module, tested directly.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (Boolean, Date, DateTime, ForeignKey, Index, Integer, SmallInteger, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backoffice.extensions import db

from .clock import utcnow

# Run and medium states.
PENDING, RUNNING, PUBLISHING, DONE, HELD, FAILED, SKIPPED = (
    "pending", "running", "publishing", "done", "held", "failed", "skipped")
FINAL_MEDIUM_STATES = (DONE, HELD, FAILED, SKIPPED)

# Outcomes, as the decision engine names them (models.publication).
SENT = "sent"
OUTCOMES = ("sent", "filtered_media", "filtered_custom", "deselected", "not_selected", "limit_reached")
FILTERED_OUTCOMES = ("filtered_media", "filtered_custom")

SHRINK_LIMIT = 0.5   # a feed losing more than this share of the previous send's listings is held


class SendRun(db.Model):
    """One envoi: nightly (one per day, keyed by date) or on demand."""
    id: Mapped[int] = mapped_column(primary_key=True)
    run_key: Mapped[str] = mapped_column(String(60), unique=True)   # "nightly-2026-11-22", "manual-…"
    kind: Mapped[str] = mapped_column(String(10), default="manual")  # nightly | manual
    status: Mapped[str] = mapped_column(String(12), default=RUNNING, index=True)
    decision_date: Mapped[dt.date] = mapped_column(Date)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    media_total: Mapped[int] = mapped_column(Integer, default=0)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    media: Mapped[list[SendMedium]] = relationship(back_populates="run", cascade="all, delete-orphan",
                                                    order_by="SendMedium.medium_name")
    requested_by = relationship("User")


class SendMedium(db.Model):
    """A medium within a run: its job's state, counts and what was published."""
    __table_args__ = (UniqueConstraint("run_id", "medium_id", name="uq_send_medium_run_medium"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("send_run.id", ondelete="CASCADE"), index=True)
    medium_id: Mapped[int] = mapped_column(Integer, index=True)   # models.publication.Medium.id
    medium_name: Mapped[str] = mapped_column(String(120))
    medium_code: Mapped[str | None] = mapped_column(String(40))
    job_id: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(12), default=PENDING)
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    list_codes: Mapped[str | None] = mapped_column(Text)   # "bm11c1, bm11c2" (customer codes at the medium)
    sent_count: Mapped[int] = mapped_column(Integer, default=0)
    filtered_count: Mapped[int] = mapped_column(Integer, default=0)
    other_count: Mapped[int] = mapped_column(Integer, default=0)   # deselected, not selected, limit
    previous_count: Mapped[int | None] = mapped_column(Integer)     # listings of the last published feed
    message: Mapped[str | None] = mapped_column(Text)               # failure or hold reason
    pending_path: Mapped[str | None] = mapped_column(String(500))   # held feed waiting for confirmation
    pending_checksum: Mapped[str | None] = mapped_column(String(64))
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    run: Mapped[SendRun] = relationship(back_populates="media")
    feed: Mapped[PublishedFeed | None] = relationship(back_populates="send_medium", uselist=False)


class SendOutcome(db.Model):
    """The decision for one vehicle × medium × publication list in one run, with every reason.

    ``concession_id`` is the vehicle's, copied so that reports and searches are scoped on a column.
    Reasons are kept one per line, phrased for the user ("véhicule sans type de boîte de renseigné").
    """
    __table_args__ = (
        Index("ix_send_outcome_medium_outcome", "send_medium_id", "outcome"),
        Index("ix_send_outcome_run_vehicle", "run_id", "vehicle_id"),
        Index("ix_send_outcome_run_concession", "run_id", "concession_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("send_run.id", ondelete="CASCADE"))
    send_medium_id: Mapped[int] = mapped_column(ForeignKey("send_medium.id", ondelete="CASCADE"))
    vehicle_id: Mapped[int] = mapped_column(Integer)        # no FK: a sold and deleted car keeps its report
    concession_id: Mapped[int] = mapped_column(Integer)
    publication_list_id: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(16))
    reasons: Mapped[str | None] = mapped_column(Text)
    rank: Mapped[int | None] = mapped_column(Integer)
    contact_name: Mapped[str | None] = mapped_column(String(120))
    contact_phone: Mapped[str | None] = mapped_column(String(30))

    @classmethod
    def in_concessions(cls, concession_ids):
        return cls.concession_id.in_(concession_ids)

    @property
    def reason_list(self) -> list[str]:
        return [r for r in (self.reasons or "").split("\n") if r]


class PublishedFeed(db.Model):
    """A feed that reached the portal for one (run, medium): at most one, by the unique key."""
    id: Mapped[int] = mapped_column(primary_key=True)
    send_medium_id: Mapped[int] = mapped_column(ForeignKey("send_medium.id", ondelete="CASCADE"), unique=True)
    medium_id: Mapped[int] = mapped_column(Integer, index=True)
    run_id: Mapped[int] = mapped_column(Integer)
    format: Mapped[str] = mapped_column(String(40))
    delivery: Mapped[str] = mapped_column(String(10))          # folder | http
    target: Mapped[str] = mapped_column(String(500))           # file path or URL
    checksum: Mapped[str] = mapped_column(String(64))          # sha256 of the bytes published
    size_bytes: Mapped[int] = mapped_column(Integer)
    listing_count: Mapped[int] = mapped_column(Integer)
    idempotency_key: Mapped[str] = mapped_column(String(120))
    confirmed: Mapped[bool] = mapped_column(Boolean, default=False)  # published after a shrink-guard hold
    published_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)

    send_medium: Mapped[SendMedium] = relationship(back_populates="feed")


# Rules ---------------------------------------------------------------------------------------------

def shrink_hold_reason(previous_count: int | None, new_count: int) -> str | None:
    """Why a feed must be held before publishing, or None. Plain data in, French sentence out.

    Some portals delete the dealer's whole stock on an empty upload, so an empty feed, or one that
    loses more than half the listings of the previous published feed, waits for a confirmation.
    The first feed of a medium (no previous one) is never held.
    """
    from flask_babel import gettext as _

    if previous_count is None or previous_count == 0:
        return None
    if new_count == 0:
        return _("Le flux serait vide alors que le précédent contenait %(n)d annonces.", n=previous_count)
    lost = previous_count - new_count
    if lost > SHRINK_LIMIT * previous_count:
        return _("Le flux perdrait %(lost)d annonces sur %(n)d (%(pct)d %%), plus de la moitié.",
                 lost=lost, n=previous_count, pct=round(100 * lost / previous_count))
    return None


def run_status(medium_states: list[str]) -> str:
    """A run's state from its media: running until every medium is final; then failed if one
    failed, held if one waits for confirmation, else done."""
    if not medium_states:
        return DONE
    if any(s not in FINAL_MEDIUM_STATES for s in medium_states):
        return RUNNING
    if FAILED in medium_states:
        return FAILED
    if HELD in medium_states:
        return HELD
    return DONE


def progress(medium_states: list[str]) -> tuple[int, int]:
    """(media finished, media total) for the progress bar."""
    return sum(1 for s in medium_states if s in FINAL_MEDIUM_STATES), len(medium_states)


def search_phrase(entry_number: str, medium_name: str, outcome: str, reason_count: int) -> str:
    """"VO 2029 diffusé sur X" / "VO 2029 filtré sur X pour 2 raisons" (guide §3.1)."""
    from flask_babel import gettext as _, ngettext

    if outcome == SENT:
        return _("VO %(ref)s diffusé sur %(medium)s", ref=entry_number, medium=medium_name)
    if outcome in FILTERED_OUTCOMES:
        return ngettext("VO %(ref)s filtré sur %(medium)s pour %(num)d raison",
                        "VO %(ref)s filtré sur %(medium)s pour %(num)d raisons",
                        reason_count, ref=entry_number, medium=medium_name)
    labels = {"deselected": _("désélectionné"), "not_selected": _("non sélectionné"),
              "limit_reached": _("limite atteinte")}
    return _("VO %(ref)s non diffusé sur %(medium)s (%(why)s)", ref=entry_number, medium=medium_name,
             why=labels.get(outcome, outcome))


# Report queries (set-based; scoped through models.scope.Scope) --------------------------------------

def medium_counts(session, run_id: int, scope) -> dict[int, dict[str, int]]:
    """send_medium id → {"sent": n, "filtered": n} within the scope, in one grouped query.

    The network sees the counters kept on SendMedium; a dealer sees only the rows of their own
    concessions' vehicles (never another dealer's figures)."""
    from sqlalchemy import case, func, select

    filtered = case((SendOutcome.outcome.in_(FILTERED_OUTCOMES), 1), else_=0)
    sent = case((SendOutcome.outcome == SENT, 1), else_=0)
    stmt = (select(SendOutcome.send_medium_id, func.sum(sent), func.sum(filtered))
            .where(SendOutcome.run_id == run_id).group_by(SendOutcome.send_medium_id))
    stmt = scope.filter(stmt, SendOutcome)
    return {sm_id: {"sent": int(s or 0), "filtered": int(f or 0)} for sm_id, s, f in session.execute(stmt)}


def search_vehicle(session, run_id: int, reference: str, scope) -> list[dict]:
    """Where one VO reference (entry number) went in a run: one line per medium and list, in scope."""
    from sqlalchemy import select

    from .vehicle import Vehicle

    stmt = (select(SendOutcome.vehicle_id, SendOutcome.outcome, SendOutcome.reasons, SendMedium.medium_name,
                   SendMedium.id.label("send_medium_id"), Vehicle.entry_number)
            .join(SendMedium, SendMedium.id == SendOutcome.send_medium_id)
            .join(Vehicle, Vehicle.id == SendOutcome.vehicle_id)
            .where(SendOutcome.run_id == run_id, Vehicle.entry_number == reference.strip())
            .order_by(SendMedium.medium_name))
    stmt = scope.filter(stmt, SendOutcome)
    out, seen = [], set()
    for r in session.execute(stmt):
        reasons = [x for x in (r.reasons or "").split("\n") if x]
        key = (r.vehicle_id, r.send_medium_id, r.outcome, tuple(reasons))
        if key in seen:   # the same vehicle decided alike through two lists: one line
            continue
        seen.add(key)
        out.append({"vehicle_id": r.vehicle_id, "send_medium_id": r.send_medium_id, "outcome": r.outcome,
                    "reasons": reasons, "medium": r.medium_name,
                    "phrase": search_phrase(r.entry_number, r.medium_name, r.outcome, len(reasons))})
    return out


def elapsed_phrase(then: dt.datetime, now: dt.datetime) -> str:
    """"il y a 7 h 21 min" (as the guide's "Dernier envoi"); minutes only under an hour, days beyond 48 h."""
    from flask_babel import gettext as _

    minutes = max(0, int((now - then).total_seconds() // 60))
    if minutes < 60:
        return _("il y a %(m)d min", m=minutes)
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return _("il y a %(h)d h %(m)d min", h=hours, m=minutes)
    return _("il y a %(d)d jours", d=hours // 24)
