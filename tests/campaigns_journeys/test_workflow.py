"""The journeys' states and who may do what at each (§7): filiale, VPP, CDV, vendeur, other concession."""
import datetime as dt

import pytest
from sqlalchemy import func, select

from backoffice.extensions import db
from models.campaign import Campaign, CampaignReview, Offer, OfferHistory
from models.notification import Notification

from .helpers import add_offer, copy_of, create_flash, flash_ready, live_offers


def test_a_flash_covers_the_whole_month_and_starts_as_a_draft(network, login):
    client = login(network.filiale)
    flash_id = create_flash(client, month="2026-02")
    campaign = db.session.get(Campaign, flash_id)
    assert (campaign.start_date, campaign.end_date) == (dt.date(2026, 2, 1), dt.date(2026, 2, 28))
    assert campaign.state == "draft"
    page = client.get(f"/campaigns/{flash_id}/").get_data(as_text=True)
    assert "Ajouter une première offre" in page
    refused = client.form("/campaigns/new", {"name": "Sans mois", "month": "juin"})
    assert refused.status_code == 200 and "Choisissez le mois" in refused.get_data(as_text=True)
    assert db.session.execute(select(Campaign).where(Campaign.name == "Sans mois")).first() is None


def test_offer_errors_are_shown_next_to_the_field_and_nothing_is_saved(network, login):
    client = login(network.filiale)
    flash_id = create_flash(client)
    response = add_offer(client, flash_id, "CLIO V", discount="beaucoup")
    assert response.status_code == 200
    assert 'data-testid="error-discount_value"' in response.get_data(as_text=True)
    response = add_offer(client, flash_id, "CLIO V", start="31/13/2026")
    assert "Date invalide" in response.get_data(as_text=True)
    assert live_offers(flash_id) == []


def test_sending_the_flash_gives_each_target_concession_its_copy_once(network, login):
    client = login(network.filiale)
    flash_id = flash_ready(client, network)
    response = client.form(f"/campaigns/{flash_id}/send", follow_redirects=True)
    body = response.get_data(as_text=True)
    assert "Flash envoyé : 2 offre(s) à 1 concession(s)" in body
    copy = copy_of(flash_id, network.nord)
    assert copy.state == "received"
    assert [(o.reference, o.origin) for o in live_offers(copy.id)] == [("CAPTUR", "filiale"), ("CLIO V", "filiale")]
    notes = db.session.execute(select(Notification)).scalars().all()
    assert [n.user_id for n in notes] == [network.cdv_nord.id]
    assert notes[0].link == f"/campaigns/{copy.id}/"

    again = client.form(f"/campaigns/{flash_id}/send", follow_redirects=True).get_data(as_text=True)
    assert "rien n&#39;a été renvoyé" in again or "rien n'a été renvoyé" in again
    assert db.session.execute(select(func.count()).select_from(Campaign).where(Campaign.parent_id == flash_id)
                              ).scalar_one() == 1
    assert len(live_offers(copy.id)) == 2
    assert db.session.execute(select(func.count()).select_from(Notification)).scalar_one() == 1


def test_the_cdv_lands_on_the_notification_and_reaches_the_flash(network, login):
    flash_id = flash_ready(login(network.filiale), network)
    login(network.filiale).form(f"/campaigns/{flash_id}/send")
    cdv = login(network.cdv_nord)
    home = cdv.get("/").get_data(as_text=True)
    assert "La filiale a mis en ligne le flash « Flash juin »" in home
    note = db.session.execute(select(Notification)).scalar_one()
    response = cdv.form(f"/campaigns/notifications/{note.id}/open")
    copy = copy_of(flash_id, network.nord)
    assert response.location.endswith(f"/campaigns/{copy.id}/")
    assert "La filiale a mis en ligne" not in cdv.get("/").get_data(as_text=True)  # read now
    # Somebody else's notification cannot be opened.
    assert login(network.cdv_sud).form(f"/campaigns/notifications/{note.id}/open").status_code == 404


@pytest.fixture
def sent_copy(network, login):
    flash_id = flash_ready(login(network.filiale), network)
    login(network.filiale).form(f"/campaigns/{flash_id}/send")
    return copy_of(flash_id, network.nord)


def test_the_cdv_modifies_an_offer_but_the_dates_are_refused_and_unchanged(network, login, sent_copy):
    cdv = login(network.cdv_nord)
    clio = next(o for o in live_offers(sent_copy.id) if o.reference == "CLIO V")
    url = f"/campaigns/{sent_copy.id}/offers/{clio.id}/edit"
    form = {"reference": "CLIO V", "label": "Clio remise concession", "category": "new", "discount_kind": "amount",
            "discount_value": "1800", "network_share": "500", "conditions": "",
            "start_date": "2026-06-10", "end_date": "2026-06-30"}
    response = cdv.form(url, form)
    assert response.status_code == 200
    assert "Les dates d&#39;une offre du flash ne peuvent pas être modifiées" in response.get_data(as_text=True)
    db.session.expire_all()
    offer = db.session.get(Offer, clio.id)
    assert (offer.start_date, offer.discount_value, offer.label) == (dt.date(2026, 6, 1), 1500, "Offre CLIO V")

    form.update(start_date="2026-06-01")
    assert cdv.form(url, form).status_code == 302
    db.session.expire_all()
    offer = db.session.get(Offer, clio.id)
    assert (offer.discount_value, offer.label) == (1800, "Clio remise concession")
    history = cdv.get(f"/campaigns/{sent_copy.id}/offers/{clio.id}/history").get_data(as_text=True)
    assert 'data-side="dealer"' in history and 'data-side="filiale"' in history
    assert "1\u202f500" in history and "1\u202f800" in history  # old → new, French grouping


def test_the_cdv_deletes_and_adds_offers_then_validates(network, login, sent_copy):
    cdv = login(network.cdv_nord)
    captur = next(o for o in live_offers(sent_copy.id) if o.reference == "CAPTUR")
    assert cdv.form(f"/campaigns/{sent_copy.id}/offers/{captur.id}/delete").status_code == 302
    assert add_offer(cdv, sent_copy.id, "ARKANA", discount="10", share="", discount_kind="percent").status_code == 302
    offers = live_offers(sent_copy.id)
    assert [(o.reference, o.origin) for o in offers] == [("ARKANA", "dealer"), ("CLIO V", "filiale")]
    assert db.session.execute(select(OfferHistory.action).where(OfferHistory.offer_id == captur.id,
                                                                OfferHistory.action == "delete")).all()
    body = cdv.form(f"/campaigns/{sent_copy.id}/validate", follow_redirects=True).get_data(as_text=True)
    assert "Campagne validée du 01/06/2026 au 30/06/2026" in body
    db.session.expire_all()
    assert db.session.get(Campaign, sent_copy.id).state == "validated"


def test_dealer_staff_read_the_campaign_but_cannot_change_it(network, login, sent_copy):
    vendeur = login(network.vendeur_nord)
    offer = live_offers(sent_copy.id)[0]
    page = vendeur.get(f"/campaigns/{sent_copy.id}/")
    assert page.status_code == 200 and offer.reference in page.get_data(as_text=True)
    assert 'data-testid="offer-edit"' not in page.get_data(as_text=True)
    assert vendeur.get(f"/campaigns/{sent_copy.id}/offers/{offer.id}/edit").status_code == 403
    assert vendeur.form(f"/campaigns/{sent_copy.id}/offers/{offer.id}/edit",
                        {"label": "X", "discount_value": "1"}).status_code == 403
    assert vendeur.form(f"/campaigns/{sent_copy.id}/offers/{offer.id}/delete").status_code == 403
    assert add_offer(vendeur, sent_copy.id, "ZOE").status_code == 403
    assert vendeur.form(f"/campaigns/{sent_copy.id}/validate").status_code == 403
    assert vendeur.get("/campaigns/new").status_code == 403
    db.session.expire_all()
    assert db.session.get(Campaign, sent_copy.id).state == "received"
    assert len(live_offers(sent_copy.id)) == 2


def test_another_concessions_campaign_answers_404_everywhere(network, login, sent_copy):
    offer = live_offers(sent_copy.id)[0]
    for who in (network.cdv_sud, network.vendeur_sud):
        client = login(who)
        assert client.get(f"/campaigns/{sent_copy.id}/").status_code == 404
        assert client.get(f"/campaigns/{sent_copy.id}/offers/{offer.id}/history").status_code == 404
        assert client.get(f"/campaigns/{sent_copy.id}/offers/{offer.id}/edit").status_code == 404
        assert client.form(f"/campaigns/{sent_copy.id}/offers/{offer.id}/delete").status_code == 404
        assert client.form(f"/campaigns/{sent_copy.id}/validate").status_code == 404
        assert add_offer(client, sent_copy.id, "ZOE").status_code == 404
        assert "CLIO V" not in client.get("/campaigns/").get_data(as_text=True)
    # The filiale's master flash is not a dealer's page either.
    assert login(network.cdv_nord).get(f"/campaigns/{sent_copy.parent_id}/").status_code == 404
    assert len(live_offers(sent_copy.id)) == 2 and db.session.get(Campaign, sent_copy.id).state == "received"


def test_a_dealer_creates_an_empty_campaign_and_adds_offers_one_by_one(network, login):
    cdv = login(network.cdv_nord)
    response = cdv.form("/campaigns/new", {"name": "Portes ouvertes", "start_date": "2026-06-10",
                                           "end_date": "2026-06-20", "concession_id": str(network.nord.id)})
    assert response.status_code == 302
    campaign = db.session.execute(select(Campaign).where(Campaign.name == "Portes ouvertes")).scalar_one()
    assert (campaign.kind, campaign.concession_id, campaign.offers) == ("dealer", network.nord.id, [])
    assert add_offer(cdv, campaign.id, "CLIO V", start="2026-06-12", end="2026-06-15").status_code == 302
    assert add_offer(cdv, campaign.id, "MEGANE").status_code == 302
    assert [o.reference for o in live_offers(campaign.id)] == ["CLIO V", "MEGANE"]
    listing = cdv.get("/campaigns/").get_data(as_text=True)
    assert "Portes ouvertes" in listing
    # Another concession's id cannot be slipped in.
    response = cdv.form("/campaigns/new", {"name": "Pirate", "start_date": "2026-06-10", "end_date": "2026-06-20",
                                           "concession_id": str(network.sud.id)})
    assert response.status_code == 200
    assert db.session.execute(select(Campaign).where(Campaign.name == "Pirate")).first() is None


def test_the_filiale_shares_with_a_vpp_who_approves_or_comments(network, login):
    filiale = login(network.filiale)
    flash_id = flash_ready(filiale, network)
    vpp = login(network.validator)
    assert vpp.get(f"/campaigns/{flash_id}/").status_code == 404   # not shared yet
    assert vpp.form(f"/campaigns/{flash_id}/review", {"decision": "approve"}).status_code == 404
    filiale.form(f"/campaigns/{flash_id}/share", {"emails": network.validator.email, "message": "Pour avis"})
    page = vpp.get(f"/campaigns/{flash_id}/").get_data(as_text=True)
    assert 'data-testid="review-card"' in page and 'data-testid="flash-send"' not in page
    assert vpp.form(f"/campaigns/{flash_id}/send").status_code == 403
    body = vpp.form(f"/campaigns/{flash_id}/review", {"decision": "comment", "comment": ""},
                    follow_redirects=True).get_data(as_text=True)
    assert "Saisissez un commentaire" in body
    vpp.form(f"/campaigns/{flash_id}/review", {"decision": "comment", "comment": "Remise Clio trop haute"})
    review = db.session.execute(select(CampaignReview)).scalar_one()
    assert (review.status, review.comment) == ("commented", "Remise Clio trop haute")
    seen = filiale.get(f"/campaigns/{flash_id}/").get_data(as_text=True)
    assert "Remise Clio trop haute" in seen and "Commentée" in seen
    assert "a commenté la campagne" in filiale.get("/").get_data(as_text=True)


def test_a_validator_cannot_act_on_a_campaign_not_shared_with_them(network, login, factories):
    filiale = login(network.filiale)
    shared = flash_ready(filiale, network, name="Partagé")
    other = flash_ready(filiale, network, name="Pas partagé")
    filiale.form(f"/campaigns/{shared}/share", {"emails": "autre.vpp@test.example"})
    vpp = login(network.validator)
    for campaign_id in (shared, other):
        assert vpp.get(f"/campaigns/{campaign_id}/").status_code == 404
        assert vpp.form(f"/campaigns/{campaign_id}/review", {"decision": "approve"}).status_code == 404
    assert "Pas partagé" not in vpp.get("/campaigns/").get_data(as_text=True)
    assert db.session.execute(select(CampaignReview.status)).scalars().all() == ["pending"]


def test_the_flash_offers_are_locked_once_sent(network, login, sent_copy):
    filiale = login(network.filiale)
    flash_id = sent_copy.parent_id
    offer = live_offers(flash_id)[0]
    assert filiale.get(f"/campaigns/{flash_id}/offers/{offer.id}/edit").status_code == 403
    assert filiale.form(f"/campaigns/{flash_id}/offers/{offer.id}/delete").status_code == 403
    # The filiale reads the dealers' copies but does not edit them.
    assert filiale.get(f"/campaigns/{sent_copy.id}/").status_code == 200
    assert filiale.form(f"/campaigns/{sent_copy.id}/validate").status_code == 403


def test_adding_a_concession_and_sending_again_reaches_only_the_new_one(network, login, sent_copy):
    filiale = login(network.filiale)
    flash_id = sent_copy.parent_id
    filiale.form(f"/campaigns/{flash_id}/targets", {"concession_ids": [str(network.nord.id), str(network.sud.id)]})
    body = filiale.form(f"/campaigns/{flash_id}/send", follow_redirects=True).get_data(as_text=True)
    assert "Flash envoyé : 2 offre(s) à 1 concession(s)" in body
    notes = db.session.execute(select(Notification.user_id).order_by(Notification.id)).scalars().all()
    assert notes == [network.cdv_nord.id, network.cdv_sud.id]


def test_statistics_and_month_statistics_show_the_dealers_changes(network, login, sent_copy):
    cdv = login(network.cdv_nord)
    captur = next(o for o in live_offers(sent_copy.id) if o.reference == "CAPTUR")
    cdv.form(f"/campaigns/{sent_copy.id}/offers/{captur.id}/delete")
    add_offer(cdv, sent_copy.id, "ARKANA")
    cdv.form(f"/campaigns/{sent_copy.id}/validate")
    filiale = login(network.filiale)
    page = filiale.get(f"/campaigns/{sent_copy.parent_id}/statistics").get_data(as_text=True)
    assert "Concession du Nord" in page
    month = filiale.get("/campaigns/statistics?month=2026-06").get_data(as_text=True)
    assert "Flash juin" in month and "1 (100 %)" in month
    assert cdv.get(f"/campaigns/{sent_copy.parent_id}/statistics").status_code == 404
    # The Excel link of the page downloads a workbook that opens.
    import io
    import re

    from openpyxl import load_workbook

    link = re.search(r'href="([^"]+\.xlsx)"', page).group(1)
    workbook = load_workbook(io.BytesIO(filiale.get(link).data))
    cells = {str(c.value) for sheet in workbook for row in sheet.iter_rows() for c in row}
    assert "CLIO V" in cells
    assert cdv.get("/campaigns/statistics").status_code == 403


def test_the_campaign_screens_are_available_in_english(network, login, sent_copy):
    cdv = login(network.cdv_nord)
    cdv.form("/lang/en")
    page = cdv.get(f"/campaigns/{sent_copy.id}/").get_data(as_text=True)
    assert "Add an offer" in page and "Validate the campaign from" in page
    assert "Offer calendar" in cdv.get("/campaigns/calendar/").get_data(as_text=True)


def test_concurrent_clicks_on_send_never_duplicate_nor_fail(network, login):
    import threading

    flash_id = flash_ready(login(network.filiale), network)
    clients = [login(network.filiale) for _ in range(4)]
    codes = []

    def click(client):
        codes.append(client.form(f"/campaigns/{flash_id}/send").status_code)

    threads = [threading.Thread(target=click, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert codes == [302] * 4
    db.session.expire_all()
    assert db.session.execute(select(func.count()).select_from(Campaign).where(Campaign.parent_id == flash_id)
                              ).scalar_one() == 1
    assert db.session.execute(select(func.count()).select_from(Notification)).scalar_one() == 1
    assert len(live_offers(copy_of(flash_id, network.nord).id)) == 2
