"""Demo campaigns: what the browser journeys start from."""
import datetime as dt

from backoffice.demo import build
from backoffice.extensions import db
from models.campaign import flash_statistics, offer_spans, send_flash, storefront_offers_by_concession
from models.campaign_rules import find_conflicts


def test_demo_has_an_unsent_flash_last_month_statistics_and_a_conflict():
    today = dt.date(2026, 3, 12)
    ctx = build(vehicles=10, with_photos=False, today=today, log=lambda *_: None)
    campaigns = ctx.data["campaigns"]
    flash, last, own = campaigns["flash"], campaigns["last_flash"], campaigns["nord_own"]
    # shared with the VPP for review (pending), still sendable
    assert flash.state == "review" and len(flash.live_offers) == 6
    assert [r.reviewer_email for r in flash.reviews] == ["vpp@demo.example"]
    assert (flash.start_date, flash.end_date) == (dt.date(2026, 3, 1), dt.date(2026, 3, 31))

    stats = flash_statistics(db.session, last.id)
    assert (stats.targeted, stats.validated, stats.modified, stats.deleted, stats.added) == (2, 2, 1, 1, 1)

    conflicts = find_conflicts(offer_spans(db.session))
    own_clio = next(o for o in own.offers if o.reference == "CLIO-V")
    assert {c.winner_campaign_id for c in conflicts[own_clio.id]} == {own.id}
    assert own.start_date <= today <= own.end_date
    nord = ctx.data["concessions"]["NORD"]
    assert [o.reference for o in storefront_offers_by_concession(db.session, today)[nord.id]] == ["CLIO-V", "ENTRETIEN"]

    # The journey then sends it: both concessions get their copy.
    result = send_flash(db.session, flash, None)
    assert len(result.new_concession_ids) == 2 and result.offer_count == 6
