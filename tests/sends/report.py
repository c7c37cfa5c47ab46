"""Reading a send report back as (vehicle, list) → (outcome, reasons), sent or not."""
from __future__ import annotations

from sqlalchemy import select

from backoffice.extensions import db
from models.scope import Scope
from models.send import SendMedium, not_sent_listings, sent_listings


def outcomes(run_id: int, medium_id: int) -> dict[tuple[int, int], tuple[str, list[str]]]:
    """Every recorded decision of one medium in one run: sent listings and not-sent rows."""
    sm_ids = db.session.execute(select(SendMedium.id).where(SendMedium.run_id == run_id,
                                                            SendMedium.medium_id == medium_id)).scalars().all()
    out = {}
    for sm_id in sm_ids:
        for listing in sent_listings(db.session, Scope.network(), send_medium_id=sm_id).get(sm_id, []):
            out[(listing.vehicle_id, listing.list_id)] = ("sent", [])
        for o in not_sent_listings(db.session, Scope.network(), send_medium_id=sm_id).get(sm_id, []):
            out[(o.vehicle_id, o.list_id)] = (o.outcome, o.reason_list)
    return out
