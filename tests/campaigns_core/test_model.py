"""Campaign model: the flash copy per concession, offer history, visibility."""
import datetime as dt

import pytest
from sqlalchemy import func, select

from backoffice.extensions import db
from models.campaign import (Campaign, CampaignError, Offer, OfferHistory, answer_review, campaigns_visible_to,
                             create_offer, delete_offer, offers_visible_to, send_flash, share_for_review,
                             update_offer, validate_campaign)

from .helpers import MONTH, MONTH_END, dealer_campaign, flash_with_offers, sent_flash


def _count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_flash_period_defaults_to_the_whole_month(network):
    flash = flash_with_offers(network)
    assert (flash.start_date, flash.end_date) == (MONTH, MONTH_END)
    assert flash.state == "draft"


def test_sending_gives_each_concession_its_prefilled_copy_and_twice_duplicates_nothing(network):
    flash, result = sent_flash(network)
    assert result.offer_count == 2 and result.concession_ids == sorted([network.nord.id, network.sud.id])
    assert sorted(result.new_concession_ids) == sorted([network.nord.id, network.sud.id])
    copies = db.session.scalars(select(Campaign).where(Campaign.parent_id == flash.id)).all()
    assert {c.concession_id for c in copies} == {network.nord.id, network.sud.id}
    assert all(c.state == "received" for c in copies)
    copy_offers = db.session.scalars(select(Offer).where(Offer.campaign_id.in_([c.id for c in copies]))).all()
    assert len(copy_offers) == 4 and {o.origin for o in copy_offers} == {"filiale"}
    assert _count(OfferHistory, OfferHistory.campaign_id.in_([c.id for c in copies])) == 4

    again = send_flash(db.session, flash, network.filiale)
    db.session.commit()
    assert again.new_concession_ids == [] and again.offers_added == 0
    assert _count(Campaign, Campaign.parent_id == flash.id) == 2
    assert _count(Offer) == 6


def test_resend_after_a_dealer_deleted_an_offer_does_not_bring_it_back(network):
    flash, result = sent_flash(network)
    copy = db.session.get(Campaign, result.copy_ids[network.nord.id])
    delete_offer(db.session, copy.offers[0], network.cdv_nord)
    create_offer(db.session, flash, network.filiale, reference="MEGANE-E", label="Mégane E-Tech",
                 discount_kind="amount", discount_value=2000)
    db.session.commit()
    again = send_flash(db.session, flash, network.filiale)
    db.session.commit()
    assert again.offers_added == 2   # the new offer, once per concession
    db.session.refresh(copy)
    assert len(copy.live_offers) == 2 and len(copy.offers) == 3


def test_send_refuses_an_empty_flash_or_no_target(network):
    flash = flash_with_offers(network, references=())
    with pytest.raises(CampaignError, match="au moins une offre"):
        send_flash(db.session, flash, network.filiale)
    flash = flash_with_offers(network, targets=())
    with pytest.raises(CampaignError, match="concession ou un pôle"):
        send_flash(db.session, flash, network.filiale)


def test_history_records_each_changed_field_with_old_and_new_value(network):
    flash, result = sent_flash(network)
    copy = db.session.get(Campaign, result.copy_ids[network.nord.id])
    offer = next(o for o in copy.offers if o.reference == "CLIO-V")
    changes = update_offer(db.session, offer, network.cdv_nord, discount_value="1 200", label=offer.label)
    db.session.commit()
    assert changes == [("discount_value", "1\u202f000", "1\u202f200")]
    rows = db.session.scalars(select(OfferHistory).where(OfferHistory.offer_id == offer.id)
                              .order_by(OfferHistory.id)).all()
    assert [(r.action, r.side) for r in rows] == [("create", "filiale"), ("update", "dealer")]
    assert rows[1].user_id == network.cdv_nord.id and rows[1].field == "discount_value"


def test_dealer_cannot_change_the_dates_of_a_flash_offer(network):
    flash, result = sent_flash(network)
    copy = db.session.get(Campaign, result.copy_ids[network.nord.id])
    offer = copy.offers[0]
    with pytest.raises(CampaignError, match="dates"):
        update_offer(db.session, offer, network.cdv_nord, start_date=dt.date(2026, 3, 10))
    db.session.rollback()
    assert _count(OfferHistory, OfferHistory.action == "update") == 0


def test_offer_period_must_stay_inside_the_campaign(network):
    campaign = dealer_campaign(network, network.nord, network.cdv_nord, references=())
    with pytest.raises(CampaignError) as err:
        create_offer(db.session, campaign, network.cdv_nord, reference="208", label="208",
                     discount_value=500, start_date=dt.date(2026, 2, 20), end_date=dt.date(2026, 3, 5))
    assert err.value.field == "start_date"
    with pytest.raises(CampaignError) as err:
        create_offer(db.session, campaign, network.cdv_nord, reference="208", label="208",
                     discount_kind="percent", discount_value="120")
    assert err.value.field == "discount_value"


def test_dealer_sees_only_own_concession_copies_and_campaigns(network):
    flash, result = sent_flash(network)
    dealer_campaign(network, network.sud, network.cdv_sud, name="Promo Sud")
    visible = set(db.session.scalars(campaigns_visible_to(network.cdv_nord).with_only_columns(Campaign.id)))
    assert visible == {result.copy_ids[network.nord.id]}
    everything = set(db.session.scalars(campaigns_visible_to(network.filiale).with_only_columns(Campaign.id)))
    assert len(everything) == 4
    assert set(db.session.scalars(campaigns_visible_to(network.validator).with_only_columns(Campaign.id))) == set()
    nord_offers = db.session.scalars(offers_visible_to(network.vendeur_nord)).all()
    assert {o.campaign_id for o in nord_offers} == {result.copy_ids[network.nord.id]}


def test_validator_sees_and_answers_only_what_was_shared(network):
    flash = flash_with_offers(network)
    other = flash_with_offers(network)
    share_for_review(db.session, flash, network.filiale, ["VPP@test.example", " "])
    db.session.commit()
    assert flash.state == "review"
    visible = set(db.session.scalars(campaigns_visible_to(network.validator).with_only_columns(Campaign.id)))
    assert visible == {flash.id}
    review = answer_review(db.session, flash, network.validator, approved=False, comment="Remise CLIO trop forte")
    assert review.status == "commented"
    with pytest.raises(CampaignError):
        answer_review(db.session, other, network.validator, approved=True, comment=None)


def test_validation_of_a_copy_records_who_and_when(network):
    flash, result = sent_flash(network)
    copy = db.session.get(Campaign, result.copy_ids[network.nord.id])
    validate_campaign(db.session, copy, network.cdv_nord)
    db.session.commit()
    assert copy.state == "validated" and copy.validated_by_id == network.cdv_nord.id
    with pytest.raises(CampaignError):
        validate_campaign(db.session, flash, network.cdv_nord)


def test_flash_statistics_from_the_database(network):
    flash, result = sent_flash(network)
    nord = db.session.get(Campaign, result.copy_ids[network.nord.id])
    clio = next(o for o in nord.offers if o.reference == "CLIO-V")
    update_offer(db.session, clio, network.cdv_nord, discount_value=1500)
    delete_offer(db.session, next(o for o in nord.offers if o.reference == "208-II"), network.cdv_nord)
    create_offer(db.session, nord, network.cdv_nord, reference="CAPTUR-II", label="Captur", discount_value=700)
    validate_campaign(db.session, nord, network.cdv_nord)
    db.session.commit()
    from models.campaign import flash_statistics, month_statistics

    stats = flash_statistics(db.session, flash.id)
    assert (stats.targeted, stats.validated, stats.modified, stats.deleted, stats.added) == (2, 1, 1, 1, 1)
    assert [f for f, _ in month_statistics(db.session, dt.date(2026, 3, 15))] == [flash]
    assert month_statistics(db.session, dt.date(2026, 4, 15)) == []


def test_check_on_save_finds_the_dealer_campaign_and_names_the_winner(network):
    flash, result = sent_flash(network)
    promo = dealer_campaign(network, network.nord, network.cdv_nord, references=("CLIO-V",),
                            start=dt.date(2026, 3, 10), end=dt.date(2026, 3, 20))
    from models.campaign import check_offer_conflicts

    conflicts = check_offer_conflicts(db.session, promo.offers[0])
    copy_id = result.copy_ids[network.nord.id]
    assert {c.other_campaign_id for c in conflicts} == {flash.id, copy_id}
    assert {c.winner_campaign_id for c in conflicts} == {promo.id}


def test_offer_spans_of_a_period_include_offers_just_outside_that_overlap(network):
    from models.campaign import offer_spans

    sent_flash(network)   # March
    april = dealer_campaign(network, network.nord, network.cdv_nord, references=("CLIO-V",),
                            start=dt.date(2026, 3, 25), end=dt.date(2026, 4, 10), name="Fin mars-avril")
    spans = offer_spans(db.session, period=(dt.date(2026, 4, 1), dt.date(2026, 4, 30)))
    assert {s.campaign_id for s in spans} >= {april.id}
    assert any(s.reference == "CLIO-V" and s.campaign_id != april.id for s in spans)   # the March flash
    assert offer_spans(db.session, period=(dt.date(2026, 6, 1), dt.date(2026, 6, 30))) == []
