"""Monthly statistics e-mail to the filiale, received by a real local SMTP server."""

from backoffice.extensions import db
from models.campaign import Campaign, delete_offer, update_offer, validate_campaign
from tests.campaigns_journeys.conftest import smtp  # noqa: F401  (the aiosmtpd fixture)

from .helpers import sent_flash


def test_monthly_mail_goes_to_filiale_users_with_the_figures(app, network, factories, smtp):  # noqa: F811
    from jobs.campaign_stats import send_monthly_statistics

    second = factories.user("filiale", email="digital2@test.example")
    flash, result = sent_flash(network)
    nord = db.session.get(Campaign, result.copy_ids[network.nord.id])
    update_offer(db.session, next(o for o in nord.offers if o.reference == "CLIO-V"), network.cdv_nord,
                 discount_value=1400)
    delete_offer(db.session, next(o for o in nord.offers if o.reference == "208-II"), network.cdv_nord)
    validate_campaign(db.session, nord, network.cdv_nord)
    db.session.commit()

    assert send_monthly_statistics("2026-03") == 2
    assert smtp.recipients() == sorted(["filiale@test.example", second.email])
    message = smtp.to("filiale@test.example")[0]
    assert "mars 2026" in message["Subject"]
    text = message.get_body(("plain",)).get_content()
    assert "Concessions ayant validé : 1 sur 2 (50 %)" in text
    assert "Offres modifiées par rapport au flash : 1" in text
    assert "Offres supprimées par rapport au flash : 1" in text
    assert "CLIO-V : 1\u202f000 € → 1\u202f200,00 €" in text
    assert "Pas encore validé : Concession du Sud" in text
    assert message.get_body(("html",)) is not None
    assert f"/campaigns/{flash.id}/statistics" in text


def test_no_mail_when_the_month_has_no_flash(app, network, smtp):  # noqa: F811
    from jobs.campaign_stats import send_monthly_statistics

    sent_flash(network)
    assert send_monthly_statistics("2026-05") == 0
    assert smtp.messages == []
