"""Storefront feeds (§7): each concession's published offers as a JSON file the storefront reads.

The same document is answered by the API (views/storefront.py). Files are rewritten whole (temporary
file then rename), so a storefront never reads half a file, and an offer whose period ended is gone
from the next file. Run daily (and after a validation) through ``write_storefront_feeds``.
"""
from __future__ import annotations

import datetime as dt
import json
import os

from flask import current_app
from sqlalchemy import select

from backoffice.extensions import db
from models import Concession
from models.campaign import storefront_offers_by_concession

API_VERSION = "1"


def offer_document(offer) -> dict:
    """One published offer as the storefront sees it (the ER, internal to the network, is not shown)."""
    return {
        "id": offer.id,
        "reference": offer.reference,
        "label": offer.label,
        "category": offer.category,
        "discount": {"kind": offer.discount_kind, "value": float(offer.discount_value)},
        "conditions": offer.conditions,
        "start_date": offer.start_date.isoformat(),
        "end_date": offer.end_date.isoformat(),
        "campaign": offer.campaign.name,
    }


def storefront_document(concession, offers, day: dt.date) -> dict:
    """The storefront payload of a concession for ``day``."""
    return {
        "version": API_VERSION,
        "concession": {"code": concession.code, "name": concession.name},
        "date": day.isoformat(),
        "offers": [offer_document(o) for o in offers],
    }


def feed_folder() -> str:
    return os.path.join(current_app.config["FEED_FOLDER"], "storefront")


def feed_path(concession_code: str) -> str:
    safe = "".join(ch for ch in concession_code if ch.isalnum() or ch in "-_") or "concession"
    return os.path.join(feed_folder(), f"{safe}.json")


def _write(path: str, document: dict) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(document, fh, ensure_ascii=False, indent=1)
    os.replace(tmp, path)


def write_storefront_feeds(day: str | None = None, concession_ids: list[int] | None = None) -> dict[str, int]:
    """Write the feed file of every concession (or the given ones); returns code → offers published.

    ``day`` is an ISO date (default today); job arguments stay plain so RQ can carry them.
    """
    on = dt.date.fromisoformat(day) if day else dt.date.today()
    stmt = select(Concession).order_by(Concession.code)
    if concession_ids is not None:
        stmt = stmt.where(Concession.id.in_(concession_ids))
    concessions = db.session.execute(stmt).scalars().all()
    published = storefront_offers_by_concession(db.session, on, [c.id for c in concessions])
    counts = {}
    for concession in concessions:
        offers = published.get(concession.id, [])
        _write(feed_path(concession.code), storefront_document(concession, offers, on))
        counts[concession.code] = len(offers)
    return counts


def write_storefront_feed(concession_id: int) -> int:
    """Rewrite one concession's feed (after it validated a campaign); returns the offers published."""
    return sum(write_storefront_feeds(concession_ids=[concession_id]).values())


# Periodic jobs (jobs/schedule.py reads SCHEDULE of the modules in its JOB_MODULES): daily at 00:10.
SCHEDULE = [("jobs.storefront.write_storefront_feeds", "10 0 * * *")]
