"""The transverse calendar and the conflict warning at save time (§7)."""
import re

import pytest
from sqlalchemy import select

from backoffice.extensions import db
from models.campaign import Campaign

from .helpers import add_offer, flash_ready


@pytest.fixture
def flash_and_dealer_campaign(network, login):
    """Nord has the June flash (CLIO V, CAPTUR, whole month) and its own "Portes ouvertes" with CLIO V."""
    filiale = login(network.filiale)
    flash_id = flash_ready(filiale, network)
    filiale.form(f"/campaigns/{flash_id}/send")
    cdv = login(network.cdv_nord)
    cdv.form("/campaigns/new", {"name": "Portes ouvertes", "start_date": "2026-06-10", "end_date": "2026-06-20",
                                "concession_id": str(network.nord.id)})
    own = db.session.execute(select(Campaign).where(Campaign.name == "Portes ouvertes")).scalar_one()
    return cdv, own


def test_saving_an_offer_that_is_in_another_campaign_warns_and_names_the_winner(flash_and_dealer_campaign):
    cdv, own = flash_and_dealer_campaign
    page = add_offer(cdv, own.id, "clio v", start="2026-06-12", end="2026-06-15", follow_redirects=True)
    body = page.get_data(as_text=True)
    assert "Attention : l&#39;offre CLIO V est aussi dans la campagne « Flash juin – Concession du Nord »" in body
    assert "La campagne « Portes ouvertes » prend le dessus" in body
    assert [o.reference for o in own.offers] == ["CLIO V"]          # saved all the same
    quiet = add_offer(cdv, own.id, "MEGANE", follow_redirects=True).get_data(as_text=True)
    assert "Attention" not in quiet


def test_the_calendar_marks_conflicting_offers_and_names_the_campaign_that_wins(flash_and_dealer_campaign, network,
                                                                                login):
    cdv, own = flash_and_dealer_campaign
    add_offer(cdv, own.id, "CLIO V", start="2026-06-12", end="2026-06-15")
    body = cdv.get("/campaigns/calendar/?month=2026-06").get_data(as_text=True)
    rows = re.findall(r'data-testid="calendar-row" data-reference="([^"]+)" data-conflict="(\w+)"', body)
    assert sorted(rows) == [("CAPTUR", "no"), ("CLIO V", "yes"), ("CLIO V", "yes")]
    winners = re.findall(r'data-testid="conflict-winner"><strong>([^<]+)</strong>', body)
    assert winners == ["Portes ouvertes", "Portes ouvertes"]
    assert f'href="/campaigns/{own.id}/" data-testid="conflict-open"' in body
    # The other concession sees none of it.
    other = login(network.cdv_sud).get("/campaigns/calendar/?month=2026-06").get_data(as_text=True)
    assert "CLIO V" not in other and "Portes ouvertes" not in other


def test_the_calendar_sorts_by_period_or_by_offer(flash_and_dealer_campaign):
    cdv, own = flash_and_dealer_campaign
    add_offer(cdv, own.id, "ARKANA", start="2026-06-18", end="2026-06-20")
    by_period = re.findall(r'data-testid="calendar-row" data-reference="([^"]+)"',
                           cdv.get("/campaigns/calendar/?month=2026-06&sort=period").get_data(as_text=True))
    by_offer = re.findall(r'data-testid="calendar-row" data-reference="([^"]+)"',
                          cdv.get("/campaigns/calendar/?month=2026-06&sort=offer").get_data(as_text=True))
    assert by_period == ["CAPTUR", "CLIO V", "ARKANA"]
    assert by_offer == ["ARKANA", "CAPTUR", "CLIO V"]
    grid = cdv.get("/campaigns/calendar/?month=2026-06&view=grid").get_data(as_text=True)
    assert 'data-testid="calendar-grid"' in grid and "ARKANA" in grid
    assert "Aucune offre programmée" in cdv.get("/campaigns/calendar/?month=2026-09").get_data(as_text=True)
    assert cdv.get("/campaigns/calendar/?month=n'importe-quoi&page=x").status_code == 200


def test_the_campaign_page_lists_conflicts_per_offer(flash_and_dealer_campaign):
    cdv, own = flash_and_dealer_campaign
    add_offer(cdv, own.id, "CLIO V", start="2026-06-12", end="2026-06-15")
    copy_id = db.session.execute(select(Campaign.id).where(Campaign.parent_id.is_not(None))).scalar_one()
    body = cdv.get(f"/campaigns/{copy_id}/").get_data(as_text=True)
    assert body.count('data-testid="offer-conflict"') == 1   # CLIO V only, not CAPTUR
    assert "prend le dessus : « Portes ouvertes »" in body
