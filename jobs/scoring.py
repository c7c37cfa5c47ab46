"""Nightly score refresh: price freshness and resale ease move with the date (§3)."""
from __future__ import annotations

import datetime as dt
import logging

from backoffice.extensions import db
from models.scoring import refresh_scores

log = logging.getLogger(__name__)

# Periodic jobs as data: (job function path, cron expression). The scheduler reads it.
SCHEDULE = [("jobs.scoring.refresh_all_scores", "30 1 * * *")]


def refresh_all_scores(today: str | None = None) -> int:
    """Recompute the stored score of every vehicle (set-wise); returns how many changed."""
    day = dt.date.fromisoformat(today) if today else dt.date.today()
    count = refresh_scores(db.session, today=day)
    db.session.commit()
    log.info("scores refreshed: %s vehicles changed", count)
    return count


def refresh_vehicle_scores(vehicle_ids: list[int]) -> int:
    """Recompute the score of some vehicles (after an import, for instance)."""
    count = refresh_scores(db.session, vehicle_ids=vehicle_ids)
    db.session.commit()
    return count
